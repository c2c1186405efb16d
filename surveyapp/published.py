"""What a respondent's request needs of a survey, read in one light query: no ORM objects, no instrument text.

Every respondent page reads its survey (its state may change at any moment: closing takes effect at once), so the
read is one row of plain values; the parsed instrument comes from :func:`surveyapp.surveys.instrument_of`'s cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .models import InstrumentVersion, Survey, survey_state


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
_PUBLISHED = (
    select(Survey.slug, Survey.title, Survey.mode, Survey.opens_on, Survey.closes_on, Survey.closed,
           InstrumentVersion.id, InstrumentVersion.instrument_id, InstrumentVersion.version, InstrumentVersion.sha256,
           Survey.test_token_hash)
    .join(InstrumentVersion, Survey.instrument_version_id == InstrumentVersion.id)
    .where(Survey.slug == bindparam("slug")))


def published(db: Session, slug: str) -> Published | None:
    """Return survey *slug* as its respondents' pages see it, or None when there is no such survey."""
    row = db.connection().execute(_PUBLISHED, {"slug": slug}).first()
    if row is None:
        return None
    return Published(row[0], row[1], row[2], row[3], row[4], bool(row[5]), VersionRef(row[6], row[7], row[8], row[9]),
                     row[10])
