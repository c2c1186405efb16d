"""Response rates of a survey, by department and overall, with counts below the minimum cell size hidden."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Delivery, Invitation, MailCount, Response, Survey


def _rate(answered: int, invited: int) -> float | None:
    return round(100.0 * answered / invited, 1) if invited else None


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
                             "response_rate": _rate(a, invited.get(dept, 0)) if a is not None else None}
    status: dict[str, Any] = {
        "survey": slug, "title": survey.title, "mode": survey.mode, "state": survey.state(),
        "roster": roster, "invited": total_invited, "answered": total_answered,
        "response_rate": _rate(total_answered, total_invited) if total_answered is not None else None,
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


def _small(n: Any, k: int) -> bool:
    return isinstance(n, int) and n < k


def suppress(status: dict[str, Any], k: int) -> None:
    """Replace counts below *k* by '<k' (and their rates by None) so that no small group can be singled out.

    When only one department's count is hidden, the next smallest is hidden too: otherwise the hidden one is the
    total minus the others.
    """
    label = f"<{k}"
    depts = status["departments"]
    for field_name in ("invited", "answered"):
        hidden = {d for d, row in depts.items() if _small(row[field_name], k)}
        if len(hidden) == 1 and len(depts) > 1 and _small(status[field_name], k) is False:
            others = [d for d, row in depts.items() if d not in hidden and isinstance(row[field_name], int)]
            if others:
                hidden.add(min(others, key=lambda d: (depts[d][field_name], d)))
        for d in hidden:
            depts[d][field_name] = label
            depts[d]["response_rate"] = None
    for field_name in ("invited", "answered"):
        if _small(status[field_name], k):
            status[field_name] = label
            status["response_rate"] = None
