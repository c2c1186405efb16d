"""The respondent's survey read straight on the driver (db.Prepared) gives what SQLAlchemy's own execution gives."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import insert, update

from surveyapp.db import Plain, get_session
from surveyapp.models import Draft, Survey
from surveyapp.published import published_with_draft
from surveyapp.surveys import create_survey

from conftest import INSTRUMENTS


def _both(app: Flask, slug: str, draft_id: str | None) -> tuple[object, object]:
    """Return the read through a Plain connection (the driver's cursor) and through the ORM session (SQLAlchemy)."""
    with app.test_request_context():
        light = Plain(app.extensions["surveykit.engine"])
        try:
            fast = published_with_draft(light, slug, draft_id)
        finally:
            light.close()
        slow = published_with_draft(get_session(), slug, draft_id)
    return fast, slow


def test_the_prepared_read_converts_every_column_as_sqlalchemy_does(app: Flask) -> None:
    with app.app_context():
        db = get_session()
        create_survey(db, INSTRUMENTS, "department-survey", "plain", "Plain read", opens_on=dt.date(2026, 1, 2),
                      closes_on=dt.date(2099, 12, 31))
        db.commit()
        db.execute(insert(Draft).values(key="d1", survey_slug="plain", sealed=b"\x00\xffsealed",
                                        expires_on=dt.date(2099, 1, 1)))
        db.execute(update(Survey).where(Survey.slug == "plain").values(closed=True, test_token_hash="ab" * 32))
        db.commit()
    for draft_id in ("d1", None, "no-such-draft"):
        fast, slow = _both(app, "plain", draft_id)
        assert fast == slow, draft_id
    (survey, row), _ = _both(app, "plain", "d1")
    assert survey is not None and survey.closed is True and survey.opens_on == dt.date(2026, 1, 2)
    assert row is not None and row.sealed == b"\x00\xffsealed" and row.expires_on == dt.date(2099, 1, 1)
    assert _both(app, "no-such-survey", "d1") == ((None, None), (None, None))
