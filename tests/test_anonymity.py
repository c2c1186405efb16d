"""After the department scenario, read every table and show that nothing pairs an invitation with its response.

An administrator with the whole database tries every handle there is: shared columns and values, keys, the
default row order, and on PostgreSQL the system columns ``xmin`` (writing transaction) and ``ctid`` (physical
place). None of them pairs the 75 answered invitations with the 75 responses better than chance, and no time
finer than a day is stored with either.
"""

from __future__ import annotations

import datetime as dt
import json
import random

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
from sqlalchemy import DateTime, Time, inspect, select, text
from sqlalchemy.exc import OperationalError

from surveyapp.db import new_session
from surveyapp.models import Invitation, Response

TODAY = dt.date.today()
INVITATION_COLUMNS = {"key", "survey_slug", "email", "department", "token_hash", "reminder_token_hash", "answered",
                      "invited_on"}
RESPONSE_COLUMNS = {"key", "survey_slug", "instrument_id", "instrument_version", "instrument_sha256",
                    "submitted_on", "answers"}
# A chance pairing of 75 by 75 gets about one right; a leak gets most of them.
CHANCE = 8


def matches(pairs: dict[str, str], invitations: list[str], responses: list[str]) -> int:
    """Return how many invitations a list-against-list alignment pairs with their own response."""
    return sum(pairs.get(i) == r for i, r in zip(invitations, responses, strict=False))


@pytest.mark.slow
def test_no_column_key_order_or_time_links_an_invitation_to_its_response(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    assert invite(app, write_roster(tmp_path, roster_csv()), today=TODAY).exit_code == 0
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    with app.app_context(), new_session() as s:
        key_of = {i.email: i.key for i in s.scalars(select(Invitation))}
    chosen = [a for d, (_n, k) in DEPARTMENTS.items() for a in sorted(x for x in links
                                                                        if x.startswith(CODES[d] + "."))[:k]]
    random.Random(3).shuffle(chosen)  # a known answer order, unrelated to the roster's
    pair: dict[str, str] = {}
    answer_order: list[str] = []
    submit_order: list[str] = []
    seen: set[str] = set()
    for address in chosen:
        assert "Thank you" in answer_through(app.test_client(), links[address], address.split(".")[0])
        with app.app_context(), new_session() as s:
            [new] = set(s.scalars(select(Response.key))) - seen
        seen.add(new)
        pair[key_of[address]] = new
        answer_order.append(key_of[address])
        submit_order.append(new)
    result = app.test_cli_runner().invoke(args=["surveys", "remind", "--due", "--today",
                                                (TODAY + dt.timedelta(days=7)).isoformat()])
    assert "reminders: 180 sent" in result.output

    engine = app.extensions["surveykit.engine"]
    inspector = inspect(engine)
    with engine.connect() as conn:
        tables = {t: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{t}"'))]
                  for t in inspector.get_table_names()}
        answered_scan = [r["key"] for r in tables["invitations"] if r["answered"]]
        response_scan = [r["key"] for r in tables["responses"]]
        if engine.dialect.name == "postgresql":
            xmin_inv = conn.execute(text("SELECT DISTINCT xmin::text FROM invitations WHERE answered")).all()
            xmin_resp = conn.execute(text("SELECT DISTINCT xmin::text FROM responses")).all()
            ctid_inv = list(conn.scalars(text("SELECT key FROM invitations WHERE answered ORDER BY ctid")))
            ctid_resp = list(conn.scalars(text("SELECT key FROM responses ORDER BY ctid")))
        else:
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
    assert tables["drafts"] == []
    # No row anywhere holds both an invitation's key and a response's key; responses hold nothing of invitations.
    invitation_values = {v for r in tables["invitations"] for k, v in r.items()
                         if k in ("key", "email", "token_hash", "reminder_token_hash") and v}
    response_keys = set(pair.values())
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

    # Order: neither the default scan order nor the keys follow the order of answering.
    assert response_scan != submit_order and answered_scan != answer_order
    assert matches(pair, answered_scan, response_scan) < CHANCE
    assert matches(pair, sorted(pair), sorted(pair.values())) < CHANCE
    if engine.dialect.name == "postgresql":
        # One shared writing transaction for all answered invitations, one for all responses: nothing to pair.
        assert len(xmin_inv) == 1 and len(xmin_resp) == 1
        assert matches(pair, ctid_inv, ctid_resp) < CHANCE
        assert ctid_resp != submit_order
    else:
        assert response_scan == sorted(response_scan)
    app.extensions["surveykit.engine"].dispose()


def test_the_order_checks_catch_a_leak_when_storage_is_not_reshuffled(database_url, tmp_path, smtp,  # noqa: F811
                                                                       monkeypatch):
    """A control: without :func:`reshuffle_storage`, PostgreSQL's xmin and ctid pair every invitation and response."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no transaction id and stores WITHOUT ROWID tables in key order")
    import surveyapp.respond

    monkeypatch.setattr(surveyapp.respond, "reshuffle_storage", lambda db, slug: None)
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (12, 0)})), today=TODAY)
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    with app.app_context(), new_session() as s:
        key_of = {i.email: i.key for i in s.scalars(select(Invitation))}
    pair: dict[str, str] = {}
    seen: set[str] = set()
    for address in sorted(links)[:10]:
        answer_through(app.test_client(), links[address])
        with app.app_context(), new_session() as s:
            [new] = set(s.scalars(select(Response.key))) - seen
        seen.add(new)
        pair[key_of[address]] = new
    engine = app.extensions["surveykit.engine"]
    with engine.connect() as conn:
        by_xmin_inv = dict(conn.execute(text("SELECT xmin::text, key FROM invitations WHERE answered")).all())
        by_xmin_resp = dict(conn.execute(text("SELECT xmin::text, key FROM responses")).all())
        ctid_inv = list(conn.scalars(text("SELECT key FROM invitations WHERE answered ORDER BY ctid")))
        ctid_resp = list(conn.scalars(text("SELECT key FROM responses ORDER BY ctid")))
    linked = {by_xmin_inv[x]: by_xmin_resp[x] for x in by_xmin_inv.keys() & by_xmin_resp.keys()}
    assert linked == pair  # the leak the real flow closes
    assert matches(pair, ctid_inv, ctid_resp) >= CHANCE
    engine.dispose()
