"""Reading roster files (CSV or XLSX: email, department) and adding their invitees to a survey, all or none."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Delivery, Invitation, MailCount, Survey, random_key

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class RosterError(ValueError):
    """A roster that cannot be imported; ``errors`` lists every bad line as 'file:line: what'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class RosterEntry:
    line: int
    email: str
    department: str


def _csv_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError([f"{source}: not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"]) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise RosterError([f"{source}: not an Excel workbook ({type(exc).__name__})"]) from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def read_roster(data: bytes, source: str) -> list[RosterEntry]:
    """Parse a roster (CSV or XLSX with columns `email`, `department`); raise RosterError listing every bad line."""
    is_xlsx = source.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"
    rows = _xlsx_rows(data, source) if is_xlsx else _csv_rows(data, source)
    errors: list[str] = []
    entries: list[RosterEntry] = []
    header: dict[str, int] | None = None
    first_seen: dict[str, int] = {}
    for line, row in rows:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if header is None:
            header = {c.lower(): i for i, c in enumerate(cells) if c}
            missing = [c for c in ("email", "department") if c not in header]
            if missing:
                raise RosterError([f"{source}:{line}: the first row must name the columns 'email' and 'department' "
                                   f"(missing: {', '.join(missing)}; found: {', '.join(cells)})"])
            continue
        email = cells[header["email"]] if header["email"] < len(cells) else ""
        department = cells[header["department"]] if header["department"] < len(cells) else ""
        problems = []
        if not email:
            problems.append("missing e-mail address")
        elif not EMAIL_RE.match(email) or len(email) > 320:
            problems.append(f"malformed e-mail address '{email}'")
        if not department:
            problems.append("missing department")
        elif len(department) > 120:
            problems.append("department longer than 120 characters")
        folded = email.lower()
        if email and folded in first_seen:
            problems.append(f"duplicate of line {first_seen[folded]} ({email})")
        elif email:
            first_seen[folded] = line
        if problems:
            errors.append(f"{source}:{line}: {'; '.join(problems)}")
        else:
            entries.append(RosterEntry(line, folded, department))
    if header is None:
        raise RosterError([f"{source}: the roster is empty (expected a header row: email,department)"])
    if errors:
        raise RosterError(errors)
    if not entries:
        raise RosterError([f"{source}: the roster has a header but no invitees"])
    return entries


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
