"""Investigators' accounts: log in, log out, `login_required`, `current_user()`, and `surveykit users`.

Respondents never log in; only investigators have accounts. :mod:`.models` holds the account table and the
account rules (argon2id hashes; a lock after repeated failed log-ins), :mod:`.forms` the log-in form,
:mod:`.routes` the pages, `login_required` and `current_user()` (a login expires after SURVEYKIT_SESSION_HOURS
without activity), :mod:`.commands` the `surveykit users` group.
"""
