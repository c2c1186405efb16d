"""Response rates of a survey, by department and overall, with counts below the minimum cell size hidden."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.suppress import TOTAL, Suppression, table_hidden
from exports.tabular.percent import percent

from ..models import Delivery, Invitation, MailCount, Response, Survey


def survey_status(db: Session, survey: Survey, min_cell: int, exact: bool = False) -> dict[str, Any]:
    """Return invited, answered, rate (per department and overall) and mail counts, hiding counts below *min_cell*.

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
    invited = {d: n for d, n in invited_rows}
    answered = {d: n for d, n in answered_rows}
    states = Counter({(k, s): n for k, s, n in db.execute(
        select(Delivery.kind, Delivery.state, func.count()).where(Delivery.survey_slug == slug)
        .group_by(Delivery.kind, Delivery.state)).all()})
    counts = db.get(MailCount, slug)
    roster = db.scalar(select(func.count()).select_from(Invitation).where(Invitation.survey_slug == slug)) or 0
    total_invited = sum(invited.values())
    if survey.mode == "invitation":
        total_answered: int | None = sum(answered.values())
    else:
        total_answered = db.scalar(select(func.count()).select_from(Response)
                                   .where(Response.survey_slug == slug)) or 0
    departments: dict[str, dict[str, Any]] = {}
    for dept in sorted(set(invited) | set(answered)):
        a = answered.get(dept, 0) if survey.mode == "invitation" else None
        departments[dept] = {"invited": invited.get(dept, 0), "answered": a,
                             "response_rate": percent(a, invited.get(dept, 0)) if a is not None else None}
    status: dict[str, Any] = {
        "survey": slug, "title": survey.title, "mode": survey.mode, "state": survey.state(),
        "roster": roster, "invited": total_invited, "answered": total_answered,
        "response_rate": percent(total_answered, total_invited) if total_answered is not None else None,
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

    In invitation mode the page shows, per department and overall, invited and answered: a table of answered
    and not answered with its totals (not answered is invited minus answered, so it counts as shown). In open
    mode only invited is known per department; the answers are counted overall.
    """
    rule = Suppression(k)
    depts = status["departments"]
    invitation = status["mode"] == "invitation"
    table: dict[Hashable, dict[Hashable, int]]
    if invitation:
        table = {d: {"answered": row["answered"], "not answered": row["invited"] - row["answered"]}
                 for d, row in depts.items()}
    else:
        table = {d: {"invited": row["invited"]} for d, row in depts.items()}
    hidden = table_hidden(table, rule)
    where = {"invited": TOTAL, "answered": "answered" if invitation else None}
    for d, row in depts.items():
        for name, column in where.items():
            if column is not None and (d, column) in hidden:
                row[name] = rule.mark_for(row[name])
                row["response_rate"] = None
    total_column = "answered" if invitation else "invited"
    if (TOTAL, TOTAL) in hidden:
        status["invited"] = rule.mark_for(status["invited"])
        status["response_rate"] = None
    answered_hidden = (TOTAL, total_column) in hidden if invitation else rule.hides(status["answered"])
    if answered_hidden:
        status["answered"] = rule.mark_for(status["answered"])
        status["response_rate"] = None
