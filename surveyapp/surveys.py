"""Opening, listing and closing surveys; keeping the instrument text each survey serves.

Closing mixes the answers still parked, erases the invitees' addresses and the drafts, deletes the parking key
and scrubs the database's history: after that, the invitation tables hold only departments and yes/no.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from instrument import Instrument, InvalidInstrument, parse_instrument

from .db import Handle
from .instrument_list import offered
from .invitations.parking import mix, retire_key
from .models import Delivery, Draft, InstrumentVersion, Invitation, Response, Survey, answers_of
from .published import Published
from .scrub import scrub_history

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
TITLE_CHARS = 300


class SurveyError(ValueError):
    """A survey action that cannot be done; the message says why."""


def find_instrument(session: Session, instruments_dir: Path, instrument_id: str) -> tuple[Instrument, str]:
    """Return the current version of *instrument_id* (folder or saved in the browser) and its text.

    Other files in the folder may be broken; only a broken file named after *instrument_id* is an error here.
    """
    offer = offered(session, instruments_dir)
    found = offer.shelf.find(instrument_id)
    if found is not None:
        return found, offer.text_of(found)
    for bad in offer.shelf.broken:
        if bad.path.stem == instrument_id:
            raise InvalidInstrument(bad.message, bad.errors)
    raise SurveyError(f"no instrument '{instrument_id}' in {instruments_dir} or saved on the instrument pages")


def store_version(session: Session, inst: Instrument, text: str) -> InstrumentVersion:
    """Keep *inst*'s text; refuse a changed text under a version that already has answers."""
    row = session.scalar(select(InstrumentVersion).filter_by(instrument_id=inst.id, version=inst.version))
    if row is None:
        row = InstrumentVersion(instrument_id=inst.id, version=inst.version, sha256=inst.sha256,
                                title=inst.title, source_text=text)
        session.add(row)
        session.flush()
        return row
    if row.sha256 != inst.sha256:
        answered = session.scalar(select(func.count()).select_from(Response).where(
            Response.instrument_id == inst.id, Response.instrument_version == inst.version))
        if answered:
            raise SurveyError(
                f"{inst.source}: instrument '{inst.id}' changed since version {inst.version} was answered "
                f"({answered} responses); give it a new version number so old answers keep theirs")
        row.sha256, row.title, row.source_text = inst.sha256, inst.title, text
    return row


def save_instrument(session: Session, text: str, source: str) -> InstrumentVersion:
    """Check *text* (named *source* in errors) and keep it as a version saved in the browser.

    Raises InvalidInstrument with every error at once.

    Nothing is stored when the text has errors; store_version's refusal (a changed text under an answered
    version) is a SurveyError.
    """
    inst = parse_instrument(text, source)
    row = store_version(session, inst, text)
    row.uploaded = True
    session.flush()
    return row


def create_survey(session: Session, instruments_dir: Path, instrument_id: str, slug: str, title: str,
                  *, mode: str = "open", opens_on: dt.date | None = None, closes_on: dt.date | None = None,
                  reminder_days: int = 7) -> Survey:
    """Open a survey of the current version of *instrument_id* at /s/<slug>."""
    if not SLUG_RE.match(slug):
        raise SurveyError(f"survey id '{slug}': use 2-63 lower-case letters, digits and '-'")
    if session.get(Survey, slug) is not None:
        raise SurveyError(f"survey '{slug}' exists already")
    if mode not in ("open", "invitation"):
        raise SurveyError(f"mode '{mode}': choose open or invitation")
    if opens_on and closes_on and closes_on < opens_on:
        raise SurveyError("the closing date is before the opening date")
    if reminder_days < 0:
        raise SurveyError("reminder days cannot be negative")
    inst, text_read = find_instrument(session, instruments_dir, instrument_id)
    # The title columns hold 300 characters: PostgreSQL refuses more (an error page), SQLite would keep them.
    for what, text in (("title", title), (f"{inst.source}: the instrument's title", inst.title)):
        if len(text) > TITLE_CHARS:
            raise SurveyError(f"{what}: {len(text)} characters; at most {TITLE_CHARS}")
    version = store_version(session, inst, text_read)
    survey = Survey(slug=slug, title=title or inst.title, instrument_version_id=version.id, mode=mode,
                    opens_on=opens_on, closes_on=closes_on, reminder_days=reminder_days, closed=False,
                    created_on=dt.date.today())
    session.add(survey)
    session.flush()
    return survey


_parsed: dict[tuple[int, str], Instrument] = {}
PARSED_KEPT = 64


def instrument_of(survey: Survey | Published, db: Handle | None = None) -> Instrument:
    """Return the parsed instrument version a survey serves, parsed (and its text read) once per process.

    A :class:`Published` survey carries no text: on the first call for its version, *db* reads it.
    """
    v = survey.instrument_version
    key = (v.id, v.sha256)  # a version's text may change until it has answers; its hash changes with it
    found = _parsed.get(key)
    if found is None:
        if isinstance(v, InstrumentVersion):
            text = v.source_text
        elif db is not None:
            text = db.scalar(select(InstrumentVersion.source_text).where(InstrumentVersion.id == v.id)) or ""
        else:
            raise ValueError("instrument_of needs a database session to read a published survey's instrument")
        found = parse_instrument(text, f"{v.instrument_id} v{v.version}")
        if len(_parsed) >= PARSED_KEPT:
            _parsed.pop(next(iter(_parsed)))
        _parsed[key] = found
    return found


def response_count(session: Session, slug: str, include_test: bool = False) -> int:
    """Return how many responses a survey has (test answers only when *include_test*)."""
    return session.scalar(select(func.count()).select_from(Response).where(answers_of(slug, include_test))) or 0


@dataclass
class Closed:
    """What closing did: addresses erased, parked answers mixed, and a warning for the operator ("" if none)."""

    erased: int
    mixed: int
    warning: str = ""


def close_survey(db: Session, survey: Survey) -> Closed:
    """Close a survey: mix every parked answer, erase addresses, drafts and unsent mail, scrub the history."""
    survey.closed = True
    erased = db.execute(update(Invitation).where(Invitation.survey_slug == survey.slug,
                                                 Invitation.email.is_not(None))
                        .values(email=None).execution_options(synchronize_session=False))
    # Unsent, held or in-flight messages go: a closed survey sends nothing (a worker still sending finds its row
    # gone and marks nothing). Sent rows stay for the counts.
    db.execute(delete(Delivery).where(Delivery.survey_slug == survey.slug, Delivery.state != "sent")
               .execution_options(synchronize_session=False))
    db.execute(delete(Draft).where(Draft.survey_slug == survey.slug).execution_options(synchronize_session=False))
    db.commit()
    mixed = mix(db, survey, everything=True)  # raises ParkingError (and keeps the key) when they cannot be opened
    retire_key(survey.slug)
    db.commit()
    return Closed(int(erased.rowcount or 0), mixed, scrub_history(db.get_bind()))  # type: ignore[attr-defined,arg-type]
