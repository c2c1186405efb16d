"""Response rates of a survey, by department and overall, with counts below the minimum cell size hidden."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.suppress import SECONDARY_MARK, TOTAL, Suppression, table_hidden
from exports.tabular.percent import percent

from ..models import Delivery, Invitation, MailCount, ParkedAnswer, Response, Survey, answers_of
from ..surveys import instrument_of
from .counted import NO_DEPARTMENT, answered_without_invitation, recorded


def survey_status(db: Session, survey: Survey, min_cell: int, exact: bool = False) -> dict[str, Any]:
    """Return invited, answered, rate (per department and overall) and mail counts, hiding counts below *min_cell*.

    Invited counts the invitations sent here and those recorded as sent by another channel; answered counts
    every stored response once, imported ones and those parked for mixing too (the rule is in :mod:`.counted`).
    ``exact`` shows every count as it is (for the survey's owner at the command line only).
    """
    slug = survey.slug
    invited_rows = db.execute(
        select(Invitation.department, func.count()).where(
            Invitation.survey_slug == slug, (Invitation.answered.is_(True)) | (Invitation.invited_on.is_not(None)))
        .group_by(Invitation.department)).all()
    answered_rows = db.execute(
        select(Invitation.department, func.count()).where(Invitation.survey_slug == slug,
                                                          Invitation.answered.is_(True))
        .group_by(Invitation.department)).all()
    invited: Counter[str] = Counter({d: n for d, n in invited_rows})
    answered: Counter[str] = Counter({d: n for d, n in answered_rows})
    other_channel = recorded(db, slug)
    for d, n in other_channel.counts.items():
        invited[d or NO_DEPARTMENT] += n
    states = Counter({(k, s): n for k, s, n in db.execute(
        select(Delivery.kind, Delivery.state, func.count()).where(Delivery.survey_slug == slug)
        .group_by(Delivery.kind, Delivery.state)).all()})
    counts = db.get(MailCount, slug)
    roster = db.scalar(select(func.count()).select_from(Invitation).where(Invitation.survey_slug == slug)) or 0
    total_invited = sum(invited.values())
    total_answered = db.scalar(select(func.count()).select_from(Response).where(answers_of(slug))) or 0
    # Finished answers still parked (waiting for their batch to be mixed) are answers too.
    total_answered += db.scalar(select(func.count()).select_from(ParkedAnswer)
                                .where(ParkedAnswer.survey_slug == slug)) or 0
    # Per department, answers are known in invitation mode (the roster, plus imports by their answer) and in
    # open mode once counts are recorded (every answer by its answer); otherwise only the total is.
    by_department = survey.mode == "invitation" or bool(other_channel.counts)
    if by_department:
        answered += answered_without_invitation(db, survey, instrument_of(survey), invited)
        rest = total_answered - sum(answered.values())
        if rest > 0:  # stored without an invitation and not imported: no department to put them in
            answered[NO_DEPARTMENT] += rest
    departments: dict[str, dict[str, Any]] = {}
    if any(d != NO_DEPARTMENT for d in invited):  # rates per department need someone invited per department
        for dept in sorted(set(invited) | set(answered), key=lambda d: (d == NO_DEPARTMENT, d)):
            a = answered.get(dept, 0) if by_department else None
            n = invited.get(dept, 0)
            departments[dept] = {"invited": n, "answered": a,
                                 "response_rate": percent(a, n) if a is not None and n else None}
    status: dict[str, Any] = {
        "survey": slug, "title": survey.title, "mode": survey.mode, "state": survey.state(),
        "roster": roster, "invited": total_invited, "answered": total_answered,
        # An open survey nobody was invited to (here or by another channel) has no invited count: not 0, not "<k".
        "invited_tracked": survey.mode == "invitation" or total_invited > 0,
        "invited_elsewhere": other_channel.total,
        "response_rate": percent(total_answered, total_invited) if total_invited else None,
        "reminders_sent": counts.reminders_sent if counts else 0,
        "invitations_waiting": states[("invitation", "pending")],
        "reminders_waiting": states[("reminder", "pending")],
        "uncertain": states[("invitation", "uncertain")] + states[("reminder", "uncertain")],
        "refused": states[("invitation", "refused")] + states[("reminder", "refused")],
        "min_cell": min_cell, "exact": exact, "departments": departments,
    }
    if not exact:
        suppress(status, min_cell)
    return status


def suppress(status: dict[str, Any], k: int) -> None:
    """Hide counts below *k*, and others where needed, by the one rule every workbook uses (exports.suppress).

    Where answers are known per department (invitation mode, or counts recorded by department), the page
    shows, per department and overall, invited and answered: a table of answered and not answered with its
    totals (not answered is invited minus answered, so it counts as shown). Otherwise only invited is known per
    department; the answers are counted overall.
    """
    rule = Suppression(k)
    depts = status["departments"]
    by_department = bool(depts) and all(row["answered"] is not None for row in depts.values())
    if not depts:
        by_department = status["mode"] == "invitation"
    table: dict[Hashable, dict[Hashable, int]]
    if by_department:
        # An answer put in a department nobody was counted in (not known) makes not answered negative there;
        # 0 keeps the table a table, and its invited count is then a margin of its own line only.
        table = {d: {"answered": row["answered"], "not answered": max(0, row["invited"] - row["answered"])}
                 for d, row in depts.items()}
    else:
        table = {d: {"invited": row["invited"]} for d, row in depts.items()}
    hidden = table_hidden(table, rule)
    where = {"invited": TOTAL, "answered": "answered" if by_department else None}
    for d, row in depts.items():
        for name, column in where.items():
            if column is not None and (d, column) in hidden:
                row[name] = rule.mark_for(row[name])
                row["response_rate"] = None
    total_column = "answered" if by_department else "invited"
    if (TOTAL, TOTAL) in hidden:
        status["invited"] = rule.mark_for(status["invited"])
        status["response_rate"] = None
        if status.get("invited_elsewhere"):
            status["invited_elsewhere"] = SECONDARY_MARK  # with the roster's count it would give the total
    answered_hidden = (TOTAL, total_column) in hidden if by_department else rule.hides(status["answered"])
    if answered_hidden:
        status["answered"] = rule.mark_for(status["answered"])
        status["response_rate"] = None
