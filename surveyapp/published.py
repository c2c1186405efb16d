"""What a respondent's request needs of a survey, read in one light query: no ORM objects, no instrument text.

Every respondent page reads its survey (its state may change at any moment: closing takes effect at once), so the
read is one row of plain values; the parsed instrument comes from :func:`surveyapp.surveys.instrument_of`'s cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from .db import Handle, Plain, Prepared
from .models import Draft, InstrumentVersion, Survey, survey_state


@dataclass(frozen=True)
class VersionRef:
    """The instrument version a survey serves, without its text."""

    id: int
    instrument_id: str
    version: int
    sha256: str


@dataclass(frozen=True)
class Published:
    """A survey as its respondents' pages see it (the same attribute names as :class:`Survey`)."""

    slug: str
    title: str
    mode: str
    opens_on: dt.date | None
    closes_on: dt.date | None
    closed: bool
    instrument_version: VersionRef
    test_token_hash: str | None = None  # the test link's (surveyapp/testmode.py)

    def state(self, today: dt.date | None = None) -> str:
        """Return 'open', 'not_yet_open' or 'closed' on *today*."""
        return survey_state(self.closed, self.opens_on, self.closes_on, today)


# Built once: building a statement costs more than running it (SQLAlchemy derives its cache key on each build).
# The browser's draft of the survey (drafts.py) is read in the same statement: one round trip, not two.
_PUBLISHED = (
    select(Survey.slug, Survey.title, Survey.mode, Survey.opens_on, Survey.closes_on, Survey.closed,
           InstrumentVersion.id, InstrumentVersion.instrument_id, InstrumentVersion.version, InstrumentVersion.sha256,
           Survey.test_token_hash, Draft.survey_slug, Draft.sealed, Draft.expires_on)
    .join(InstrumentVersion, Survey.instrument_version_id == InstrumentVersion.id)
    .outerjoin(Draft, (Draft.key == bindparam("draft", type_=Draft.key.type)) & (Draft.survey_slug == Survey.slug))
    .where(Survey.slug == bindparam("slug")))
_PREPARED = Prepared(_PUBLISHED)


@dataclass(frozen=True)
class DraftRow:
    """A draft's row as :func:`surveyapp.drafts.current` reads it."""

    survey_slug: str
    sealed: bytes
    expires_on: dt.date


def published_with_draft(db: Handle, slug: str, draft_id: str | None) -> tuple[Published | None, DraftRow | None]:
    """Return survey *slug* as its respondents' pages see it (None when there is no such survey) and the row of
    draft *draft_id* of that survey (None when there is none), read in one statement."""
    connection = db.connection()
    row: Any
    if isinstance(db, Plain):  # a respondent's page: straight to the driver (see Prepared)
        row = _PREPARED.first(connection, {"slug": slug, "draft": draft_id})
    else:
        row = connection.execute(_PUBLISHED, {"slug": slug, "draft": draft_id}).first()
    if row is None:
        return None, None
    survey = Published(row[0], row[1], row[2], row[3], row[4], bool(row[5]),
                       VersionRef(row[6], row[7], row[8], row[9]), row[10])
    return survey, (DraftRow(row[11], row[12], row[13]) if row[11] is not None else None)


def published(db: Handle, slug: str) -> Published | None:
    """Return survey *slug* as its respondents' pages see it, or None when there is no such survey."""
    return published_with_draft(db, slug, None)[0]
