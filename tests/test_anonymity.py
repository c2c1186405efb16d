"""After the department scenario, read every table and show that nothing pairs an invitation with its response.

An administrator with the whole database tries every handle there is: shared columns and values, keys, the
default row order, and on PostgreSQL the system column ``xmin`` (writing transaction). Responses arrive only in
shuffled batches of at least ``SURVEYKIT_MIX_BATCH`` (the rest at close), so no transaction writes a single
response, and no time finer than a day is stored. (Linkage through the database's history, WAL and dead tuples
included, is measured by tests/test_adversary.py.)
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter

import pytest
from invite_scenario import (
    CODES,
    DEPARTMENTS,
    answer_through,
    create_survey,
    invite,
    mail_app,
    roster_csv,
    write_roster,
)
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import DateTime, Time, func, inspect, select, text
from sqlalchemy.exc import OperationalError

from surveyapp.db import new_session
from surveyapp.models import Invitation, ParkedAnswer, Response

TODAY = dt.date.today()
INVITATION_COLUMNS = {"key", "survey_slug", "email", "department", "token_hash", "reminder_token_hash", "answered",
                      "invited_on"}
# "test": false on every real answer (true only on the team's own answers through the test link): says nothing
# about who answered.
RESPONSE_COLUMNS = {"key", "survey_slug", "instrument_id", "instrument_version", "instrument_sha256",
                    "submitted_on", "answers", "test"}
BATCH = 10


def counts(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with app.app_context(), new_session() as s:
        return (s.scalar(select(func.count()).select_from(Response)) or 0,
                s.scalar(select(func.count()).select_from(ParkedAnswer)) or 0)


@pytest.mark.slow
def test_no_column_key_order_or_time_links_an_invitation_to_its_response(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    assert invite(app, write_roster(tmp_path, roster_csv()), today=TODAY).exit_code == 0
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    chosen = [a for d, (_n, k) in DEPARTMENTS.items() for a in sorted(x for x in links
                                                                        if x.startswith(CODES[d] + "."))[:k]]
    random.Random(3).shuffle(chosen)  # a known answer order, unrelated to the roster's
    for n, address in enumerate(chosen, 1):
        assert "Thank you" in answer_through(app.test_client(), links[address], address.split(".")[0])
        # Stored only in whole batches; the rest wait, sealed.
        assert counts(app) == (n // BATCH * BATCH, n % BATCH)
    result = app.test_cli_runner().invoke(args=["surveys", "remind", "--due", "--today",
                                                (TODAY + dt.timedelta(days=7)).isoformat()])
    assert "reminders: 180 sent" in result.output
    with app.app_context(), new_session() as s:
        invitation_values = {v for i in s.scalars(select(Invitation))
                             for v in (i.key, i.email, i.token_hash, i.reminder_token_hash) if v}
        if database_url.startswith("postgresql"):
            batches = Counter(s.scalars(text("SELECT xmin::text FROM responses")))
            # 7 batches of 10 while open (5 wait): no transaction wrote fewer than a batch.
            assert sorted(batches.values()) == [BATCH] * 7
    closed = app.test_cli_runner().invoke(args=["surveys", "close", "dept-2023"])
    assert closed.exit_code == 0 and "(75 responses)" in closed.output, closed.output
    assert counts(app) == (75, 0)

    engine = app.extensions["surveykit.engine"]
    inspector = inspect(engine)
    with engine.connect() as conn:
        tables = {t: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{t}"'))]
                  for t in inspector.get_table_names()}
        response_scan = [r["key"] for r in tables["responses"]]
        if engine.dialect.name == "sqlite":
            # WITHOUT ROWID: there is no hidden insertion counter to read.
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT rowid FROM responses"))
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT rowid FROM invitations"))

    # Columns: the invitation holds answered yes/no only; the response holds no token, address or invitation.
    assert {c["name"] for c in inspector.get_columns("invitations")} == INVITATION_COLUMNS
    assert {c["name"] for c in inspector.get_columns("responses")} == RESPONSE_COLUMNS
    for table in ("invitations", "responses", "mail_deliveries", "mail_counts", "drafts"):
        for column in inspector.get_columns(table):
            if (table, column["name"]) == ("mail_deliveries", "lease_until"):
                continue  # only while a worker holds a message; checked empty below
            assert not isinstance(column["type"], DateTime | Time), (table, column["name"])
    assert all(r["lease_until"] is None for r in tables["mail_deliveries"])
    for r in tables["responses"]:
        assert type(r["submitted_on"]) is dt.date or (isinstance(r["submitted_on"], str)
                                                       and len(r["submitted_on"]) == 10)
    answered_rows = [r for r in tables["invitations"] if r["answered"]]
    assert len(answered_rows) == 75 and all(r["invited_on"] is None for r in answered_rows)
    assert tables["drafts"] == [] and tables["parked_answers"] == []
    # No row anywhere holds both an invitation's value and a response's key; responses hold nothing of invitations.
    response_keys = set(response_scan)
    for name, rows in tables.items():
        for r in rows:
            cells = {json.dumps(v, default=str) if isinstance(v, dict | list) else str(v) for v in r.values()}
            blob = " ".join(cells)
            holds_invitation = any(v in blob for v in invitation_values)
            holds_response = any(k in blob for k in response_keys)
            assert not (holds_invitation and holds_response), (name, r)
    # The answered invitations keep no delivery rows (so "reminded, then answered" is not kept either).
    answered_keys = {r["key"] for r in answered_rows}
    assert not [d for d in tables["mail_deliveries"] if d["invitation_key"] in answered_keys]
    # Storage order is key order on SQLite (WITHOUT ROWID), never arrival order.
    assert response_scan == sorted(response_scan) or engine.dialect.name == "postgresql"
    app.extensions["surveykit.engine"].dispose()


def test_the_batch_check_catches_mixing_one_by_one(database_url, tmp_path, smtp):  # noqa: F811
    """A control: with batches of 1 (mixing off), PostgreSQL's xmin shows one transaction per response."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no transaction id")
    app = mail_app(database_url, tmp_path, smtp, SURVEYKIT_MIX_BATCH=1)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (12, 0)})), today=TODAY)
    links = sorted(link_in(m) for m in smtp.handler.messages)
    for link in links[:10]:
        answer_through(app.test_client(), link)
    engine = app.extensions["surveykit.engine"]
    with engine.connect() as conn:
        batches = Counter(conn.scalars(text("SELECT xmin::text FROM responses")))
    assert sorted(batches.values()) == [1] * 10  # what the real flow's check above would refuse
    engine.dispose()
