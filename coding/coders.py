"""Coders' display names: what sheets, tables and pages show instead of e-mail addresses.

A coder is stored by address (the account's e-mail). Outputs show the account's name where one is set
(`surveykit users`), else the part of the address before "@": no new field or migration is needed, and a
shared workbook carries no address. Two coders who would read the same keep their full addresses, so two
people are never merged on a sheet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def display_names(coders: Iterable[str], names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return coder -> display name: the name in *names*, else the address's part before '@'."""
    given = names or {}
    wanted = {c: (given.get(c) or c.partition("@")[0] or c) for c in dict.fromkeys(coders) if c}
    seen: dict[str, int] = {}
    for name in wanted.values():
        seen[name] = seen.get(name, 0) + 1
    return {c: (n if seen[n] == 1 else c) for c, n in wanted.items()}
