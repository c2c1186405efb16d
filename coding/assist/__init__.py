"""Coding assistance: similar answers, code suggestions, candidate themes, keyword in context.

Plain data in, plain data out; this package never imports Flask. Nothing here applies a code: suggestions
are offered to a reviewer, who accepts or rejects them (the web layer logs the decision).
"""
