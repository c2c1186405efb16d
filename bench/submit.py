"""Benchmark one final submission of an invitation-mode survey on PostgreSQL as the stored answers grow.

Run ``python bench/submit.py`` (100, 1,000, 5,000 and 20,000 stored answers) or ``--quick`` (100 and 1,000).
It needs PostgreSQL: ``SURVEYKIT_BENCH_POSTGRES_URL`` or else ``SURVEYKIT_TEST_POSTGRES_URL``; each run works in
a schema of its own, dropped afterwards. For each size, answered invitations and their responses are inserted
directly (not timed); then respondents follow their links and answer through the app (Flask's test client), and
only the POST of the last page is timed. With ``SURVEYKIT_MIX_BATCH`` = 10, nine submissions *park* alone and
the tenth parks and *mixes* the batch: both are printed, as the median time and the heap rows written (WAL
records INSERT/UPDATE/DELETE, read with pg_walinspect when it can be installed, else WAL bytes), and as ratios to
the figures at 100 stored answers measured in the same run: flat (about 1.0) is the goal. The issue measured
the old path (response stored, then every row of the survey rewritten): 31 ms at 100, 2,127 ms at 20,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench-submit"
BATCH = 10
ROUNDS = 3  # batches of BATCH submissions per size
INSTRUMENT = """
id: benchsubmit
version: 1
title: Submission benchmark
sections:
  - id: first
    questions:
      - {id: note, type: text, text: A note}
  - id: last
    questions:
      - {id: agree, type: likert, text: A statement, scale: agreement}
      - {id: marker, type: text, text: The marker}
"""
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def pg_url() -> str:
    url = os.environ.get("SURVEYKIT_BENCH_POSTGRES_URL") or os.environ.get("SURVEYKIT_TEST_POSTGRES_URL", "")
    if not url:
        raise SystemExit("bench/submit.py needs PostgreSQL: set SURVEYKIT_BENCH_POSTGRES_URL (or "
                         "SURVEYKIT_TEST_POSTGRES_URL), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return url


def fill(engine: Any, slug: str, stored: int, invite_tokens: list[str]) -> None:
    """Insert *stored* answered invitations and responses, and waiting invitations for *invite_tokens*."""
    from sqlalchemy import insert

    from surveyapp.invitations.storage import hash_token
    from surveyapp.models import Invitation, Response, random_key

    with engine.begin() as conn:
        conn.execute(insert(Invitation), [
            {"key": random_key(), "survey_slug": slug, "email": f"done{i}@hospital.example", "department": "EM",
             "token_hash": hash_token(secrets.token_urlsafe(16)), "answered": True} for i in range(stored)])
        conn.execute(insert(Response), [
            {"key": random_key(), "survey_slug": slug, "instrument_id": "benchsubmit", "instrument_version": 1,
             "instrument_sha256": "0" * 64, "submitted_on": dt.date.today(),
             "answers": {"note": "stored", "agree": "3", "marker": f"old-{i}"}} for i in range(stored)])
        conn.execute(insert(Invitation), [
            {"key": random_key(), "survey_slug": slug, "email": f"new{i}@hospital.example", "department": "EM",
             "token_hash": hash_token(token), "answered": False, "invited_on": dt.date.today()}
            for i, token in enumerate(invite_tokens)])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE invitations")
        conn.exec_driver_sql("VACUUM ANALYZE responses")


def walinspect(engine: Any) -> bool:
    from sqlalchemy import text

    with engine.connect() as conn:
        try:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA public"))
            conn.commit()
            return True
        except Exception:  # noqa: BLE001  (no superuser: WAL bytes instead)
            conn.rollback()
            return False


def lsn(engine: Any) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT pg_current_wal_flush_lsn()::text")))


def written(engine: Any, start: str, rows: bool) -> int:
    """Heap rows written to this schema's tables (WAL records) since *start*, or WAL bytes without pg_walinspect.

    The server may be shared: records of other databases' and schemas' tables are not counted.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        if not rows:
            return int(conn.scalar(text("SELECT pg_current_wal_flush_lsn() - CAST(:s AS pg_lsn)"), {"s": start}))
        nodes = set(conn.scalars(text(
            "SELECT relfilenode::text FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = to_regnamespace(current_schema())::oid")))
        refs = conn.scalars(text(
            "SELECT block_ref FROM public.pg_get_wal_records_info(CAST(:s AS pg_lsn), pg_current_wal_flush_lsn()) "
            "WHERE resource_manager IN ('Heap', 'Heap2') AND record_type ~ '^(INSERT|UPDATE|HOT_UPDATE|DELETE|"
            "MULTI_INSERT)'"), {"s": start}).all()
    found = (re.search(r"rel \d+/\d+/(\d+)", ref or "") for ref in refs)
    return sum(1 for f in found if f and f.group(1) in nodes)


def submit(app: Any, token: str, marker: str) -> Any:
    """Answer through the app up to the last page; return a function that posts it (the timed part)."""
    client = app.test_client()
    assert client.get(f"/i/{token}").status_code == 302
    intro = client.get(f"/s/{SLUG}")
    page = client.post(f"/s/{SLUG}/start", data={"csrf_token": CSRF_RE.search(intro.text).group(1)},
                       follow_redirects=True)
    page = client.post(page.request.path, data={"csrf_token": CSRF_RE.search(page.text).group(1),
                                                 "action": "next", "note": "bench"}, follow_redirects=True)
    path, form = page.request.path, {"csrf_token": CSRF_RE.search(page.text).group(1), "action": "next",
                                     "agree": "4", "marker": marker}

    def last() -> None:
        done = client.post(path, data=form)
        assert done.status_code == 302 and done.headers["Location"].endswith("/thanks"), done.status_code

    return last


def measure(url: str, stored: int) -> dict[str, float]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from surveyapp import create_app
    from surveyapp.db import upgrade

    schema = f"bench_{secrets.token_hex(5)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    try:
        upgrade(scoped)
        with tempfile.TemporaryDirectory() as folder:
            instruments = Path(folder) / "instruments"
            instruments.mkdir()
            (instruments / "benchsubmit.yaml").write_text(INSTRUMENT, encoding="utf-8")
            app = create_app({"TESTING": True, "INSTANCE_PATH": str(Path(folder) / "instance"),
                              "SURVEYKIT_DATABASE_URL": scoped, "SURVEYKIT_SECRET_KEY": "bench",
                              "SURVEYKIT_INSTRUMENTS_DIR": str(instruments), "SURVEYKIT_MIX_BATCH": BATCH})
            made = app.test_cli_runner().invoke(args=["surveys", "create", "benchsubmit", "--id", SLUG,
                                                      "--title", "Bench", "--mode", "invitation"])
            assert made.exit_code == 0, made.output
            engine = app.extensions["surveykit.engine"]
            tokens = [secrets.token_urlsafe(16) for _ in range(BATCH * ROUNDS)]
            fill(engine, SLUG, stored, tokens)
            rows = walinspect(engine)
            park_ms, park_rows, mix_ms, mix_rows = [], [], [], []
            for n, token in enumerate(tokens):
                last = submit(app, token, f"new-{n}")
                start = lsn(engine)
                began = time.perf_counter()
                last()
                elapsed = (time.perf_counter() - began) * 1000
                count = written(engine, start, rows)
                if (n + 1) % BATCH == 0:
                    mix_ms.append(elapsed)
                    mix_rows.append(count)
                else:
                    park_ms.append(elapsed)
                    park_rows.append(count)
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return {"park_ms": statistics.median(park_ms), "park_rows": statistics.median(park_rows),
            "mix_ms": statistics.median(mix_ms), "mix_rows": statistics.median(mix_rows), "rows": float(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 stored answers only")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    url = pg_url()
    sizes = (100, 1_000) if args.quick else (100, 1_000, 5_000, 20_000)
    results = {n: measure(url, n) for n in sizes}
    base = results[sizes[0]]
    unit = "heap rows written" if base["rows"] else "WAL bytes"
    print(f"One final submission, invitation mode, PostgreSQL, batch {BATCH} (median of {ROUNDS * (BATCH - 1)} "
          f"park-alone and {ROUNDS} park+mix submissions per size); ratios to {sizes[0]} stored answers")
    print(f"{'stored':>8} | {'park ms':>8} {'ratio':>6} {unit:>18} | {'park+mix ms':>11} {'ratio':>6} {unit:>18}")
    for n, r in results.items():
        print(f"{n:>8,} | {r['park_ms']:8.1f} {r['park_ms'] / base['park_ms']:6.2f} {r['park_rows']:18.0f} | "
              f"{r['mix_ms']:11.1f} {r['mix_ms'] / base['mix_ms']:6.2f} {r['mix_rows']:18.0f}")


if __name__ == "__main__":
    main()
