"""Rosters, single-use invitations, the one reminder, and response rates that keep respondents anonymous.

One module per concern: :mod:`.roster` reads and imports rosters, :mod:`.wording` holds the e-mails' templates,
:mod:`.sending` claims, sends and marks messages (and the one reminder), :mod:`.storage` finds invitations by
token, marks them answered and reshuffles storage so nothing pairs an invitation with its response,
:mod:`.counted` records those invited by another channel and totals imported answers by department,
:mod:`.rates` reports response rates with small cells hidden, and :mod:`.links` is the ``/i/<token>`` blueprint.
The tables live in :mod:`surveyapp.models` (which says what is stored and why); closing a survey, which erases
the addresses, is :func:`surveyapp.surveys.close_survey`.
"""
