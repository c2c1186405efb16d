"""No route answers 5xx for any request, and nothing invalid is stored (hypothesis, derandomized).

The harden run sends 10,000 requests per database over every respondent and investigator route and prints the
figures; the normal suite sends 200. The control registers a deliberately broken route (a query parameter
passed to SQL unchecked, as the fixed bugs did) and shows the same fuzzer finds its 500s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import cheap_argon2
from request_fuzz import Fuzzer, invalid_rows, report
from sqlalchemy import select
from web_site import Payloads, Site, build_site, instruments_folder

from surveyapp import shutdown
from surveyapp.db import get_session
from surveyapp.models import Survey

from conftest import make_test_app


def _site(database_url: str, tmp_path: Path, broken: bool = False) -> Site:
    payloads = Payloads()
    folder = instruments_folder(tmp_path / "instruments", payloads)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder),
                        SURVEYKIT_SMTP_PORT=9)  # the discard port: sending fails at once, as with no server
    if broken:
        @app.get("/broken/<name>")
        def broken_route(name: str) -> str:
            offset = int(name)  # unchecked, as the fixed bugs were: ValueError, OverflowError, out of range
            return str(get_session().scalars(select(Survey.slug).offset(offset)).all())
    return build_site(app, tmp_path, payloads)


@pytest.fixture
def fuzz_site(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with cheap_argon2(monkeypatch):
        site = _site(database_url, tmp_path)
        yield site
        shutdown(site.app)
        site.app.extensions["surveykit.engine"].dispose()


def _run(site: Site, examples: int, label: str) -> tuple[Fuzzer, list[str]]:
    started = dt.datetime.now()
    fuzzer = Fuzzer(site)
    tally = fuzzer.run(examples)
    invalid = invalid_rows(site.app)
    print("\n" + report(label, tally, invalid, started))
    return fuzzer, invalid


def _assert_clean(fuzzer: Fuzzer, invalid: list[str]) -> None:
    assert fuzzer.tally.server_errors == 0, "\n".join(fuzzer.tally.failures[:20])
    assert not invalid, "\n".join(invalid[:20])


def test_fuzzed_requests_never_answer_5xx_nor_store_invalid_rows(fuzz_site: Site) -> None:
    fuzzer, invalid = _run(fuzz_site, 200, fuzz_site.app.config["DATABASE_URL"].split(":")[0])
    _assert_clean(fuzzer, invalid)


@pytest.mark.harden
def test_harden_ten_thousand_fuzzed_requests_per_database(fuzz_site: Site) -> None:
    label = fuzz_site.app.config["DATABASE_URL"].split(":")[0]
    fuzzer, invalid = _run(fuzz_site, 10_000, label)
    assert fuzzer.tally.requests >= 10_000
    never = {f"{m} {r.rule}" for r in fuzzer.rules for m in r.methods - {"HEAD", "OPTIONS"}} - set(fuzzer.tally.routes)
    assert not never, f"routes the fuzzer never reached: {sorted(never)}"
    _assert_clean(fuzzer, invalid)


def test_control_the_fuzzer_finds_a_broken_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cheap_argon2(monkeypatch):
        site = _site(f"sqlite:///{tmp_path / 'broken.sqlite3'}", tmp_path, broken=True)
        try:
            fuzzer, _ = _run(site, 300, "control: a broken route added")
        finally:
            shutdown(site.app)
            site.app.extensions["surveykit.engine"].dispose()
    assert fuzzer.tally.server_errors > 0
    assert all("/broken/" in failure for failure in fuzzer.tally.failures), fuzzer.tally.failures[:5]

