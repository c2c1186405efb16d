"""Reading roster files (CSV or XLSX: email, department, and for a study an optional arm) and adding their
invitees to a survey, all or none."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.tabular.errors import TableError
from exports.tabular.reading import open_table

from ..models import Delivery, Invitation, MailCount, Survey, random_key

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class RosterError(ValueError):
    """A roster that cannot be imported; ``errors`` lists every bad cell as 'file:line, column X: what'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class RosterEntry:
    line: int
    email: str
    department: str
    arm: str = ""  # a study's roster may give each participant's arm; a survey's roster ignores it


def read_roster(data: bytes, source: str) -> list[RosterEntry]:
    """Parse a roster (CSV or XLSX with columns `email`, `department`); raise RosterError listing every bad line."""
    errors: list[str] = []
    entries: list[RosterEntry] = []
    header: dict[str, int] | None = None
    first_seen: dict[str, int] = {}
    try:
        table = open_table(data, source)
        for line, cells in table.text_rows():
            if header is None:
                header = table.header(cells, line, ("email", "department"))
                continue
            problems = _problems(cells, header, first_seen, line)
            errors += [str(table.error(what, line, header[name], name)) for name, what in problems]
            if not problems:
                arm = cells[header["arm"]].strip() if "arm" in header and header["arm"] < len(cells) else ""
                entries.append(RosterEntry(line, cells[header["email"]].lower(), cells[header["department"]], arm))
    except TableError as exc:
        raise RosterError([str(exc)]) from None
    if header is None:
        raise RosterError([f"{source}: the roster is empty (expected a header row: email,department)"])
    if errors:
        raise RosterError(errors)
    if not entries:
        raise RosterError([f"{source}: the roster has a header but no invitees"])
    return entries


def _problems(cells: list[str], header: dict[str, int], first_seen: dict[str, int],
              line: int) -> list[tuple[str, str]]:
    """Return (column, what) for each problem of one roster row; remember a new address's line in *first_seen*."""
    email = cells[header["email"]] if header["email"] < len(cells) else ""
    department = cells[header["department"]] if header["department"] < len(cells) else ""
    problems = []
    if not email:
        problems.append(("email", "missing e-mail address"))
    elif not EMAIL_RE.match(email) or len(email) > 320:
        problems.append(("email", f"malformed e-mail address '{email}'"))
    elif first_seen.setdefault(email.lower(), line) != line:
        problems.append(("email", f"duplicate of line {first_seen[email.lower()]} ({email})"))
    if not department:
        problems.append(("department", "missing department"))
    elif len(department) > 120:
        problems.append(("department", "department longer than 120 characters"))
    if "arm" in header and header["arm"] < len(cells) and len(cells[header["arm"]]) > 64:
        problems.append(("arm", "arm longer than 64 characters"))
    return problems


def import_roster(db: Session, survey: Survey, entries: list[RosterEntry], source: str) -> int:
    """Add the invitees of *entries* to *survey*, all or none; return how many were added (not committed)."""
    if survey.state() == "closed":
        raise RosterError([f"survey '{survey.slug}' is closed: it takes no new invitees"])
    known = set(db.scalars(select(Invitation.email).where(Invitation.survey_slug == survey.slug)))
    clashes = [f"{source}:{e.line}: {e.email} is already invited to this survey" for e in entries if e.email in known]
    if clashes:
        raise RosterError(clashes)
    invitations = [Invitation(key=random_key(), survey_slug=survey.slug, email=e.email, department=e.department,
                              answered=False) for e in entries]
    db.add_all(invitations)
    db.flush()  # the deliveries refer to the invitations (no ORM relationship orders the inserts)
    db.add_all(Delivery(invitation_key=inv.key, kind="invitation", survey_slug=survey.slug, state="pending",
                        attempts=0) for inv in invitations)
    if db.get(MailCount, survey.slug) is None:
        db.add(MailCount(survey_slug=survey.slug, invitations_sent=0, reminders_sent=0))
    db.flush()
    return len(entries)
