"""Accounts: log in, log out, roles and teams, set-password links, and `surveykit users`.

Respondents never log in. :mod:`.models` holds the account table and its rules (a role, disabled or not;
argon2id hashes; a throttled log-in), :mod:`.access` decides who may do what on every page, :mod:`.members`
holds survey teams, :mod:`.links` and :mod:`.link_routes` the set-password and set-up links, :mod:`.forms` the
forms, :mod:`.routes` the log-in pages, `login_required` and `current_user()` (a login expires after
SURVEYKIT_SESSION_HOURS without activity), :mod:`.commands` the `surveykit users` group.
"""
