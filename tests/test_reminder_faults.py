"""The one reminder through every way a mail server or a sending process can fail (harden suite).

Each scenario, on SQLite and PostgreSQL: 20 invited, 6 answer through their links, the reminder run meets the
fault, then the operator does what the command tells them (rerun; settle messages in doubt from the server's
log) until nothing waits. Counted per address on the real SMTP server: every non-responder must hold exactly
one reminder (0 lost, 0 duplicates), responders and the refused address none. The figures are printed.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from invite_scenario import SLUG, answer_through, create_survey, invite, mail_app, roster_csv, write_roster
from mail_faults import Outcome, kept_by_address, operate, remind
from servers import stop
from smtp_server import SmtpServer, link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Delivery

from conftest import INSTRUMENTS, ROOT

pytestmark = pytest.mark.harden

TODAY = dt.date.today()
WEEK_LATER = TODAY + dt.timedelta(days=7)
SURVEYKIT = str(Path(sys.executable).parent / "surveykit")
INVITED, ANSWERING = 20, 6
REFUSED = "em.007@hospital.example"

# scenario: (fault kind for the test server, how many messages in a row it fails)
SCENARIOS = {
    "drop before MAIL": ("drop_before_mail", 3),
    "drop during DATA": ("drop_in_data", 3),
    "drop after DATA, reply lost (kept)": ("drop_after_data", 2),
    "crash after DATA (not kept)": ("lose_after_data", 2),
    "4xx temporary failure": ("busy", 5),
    "5xx for one recipient": ("", 0),
    "server down": ("", 0),
    "sending process killed (SIGKILL)": ("", 0),
    # The control: the same crash, and nobody looks at the message in doubt. The count must see it missing.
    "control: crash after DATA, never settled": ("lose_after_data", 1),
}


def remind_process(database_url: str, server: SmtpServer, rate: float) -> subprocess.Popen[str]:
    """Start `surveykit surveys remind --due` in its own process, as cron would."""
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
           "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS),
           **{k: str(v) for k, v in server.config().items()}, "SURVEYKIT_MAIL_RATE": str(rate)}
    return subprocess.Popen([SURVEYKIT, "surveys", "remind", "--due", "--today", WEEK_LATER.isoformat()],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_non_responder_gets_exactly_one_reminder(database_url, tmp_path, smtp, scenario):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (INVITED, 0)})), today=TODAY)
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    responders = sorted(a for a in links if a != REFUSED)[:ANSWERING]
    for address in responders:
        assert "Thank you" in answer_through(app.test_client(), links[address])
    smtp.handler.clear()
    expected = set(links) - set(responders)

    kind, times = SCENARIOS[scenario]
    killed_holding = ""
    if kind:
        smtp.handler.fail(kind, times)
        first = remind(app, SLUG, WEEK_LATER)
        assert first.exit_code == 1, first.output  # the run stops and says to run it again
    elif scenario.startswith("5xx"):
        smtp.handler.reject = {REFUSED}
        expected.discard(REFUSED)
    elif scenario == "server down":
        smtp.stop()
        first = remind(app, SLUG, WEEK_LATER)
        assert first.exit_code == 1 and "could not reach the mail server" in first.output, first.output
        smtp.start()
    else:
        proc = remind_process(database_url, smtp, rate=20.0)
        try:
            deadline = time.monotonic() + 60
            while len(smtp.handler.messages) < 4 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)
            while not _states(app)["sending"] and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.005)  # kill it while it holds a claim: the case a killed run must not lose
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
        finally:
            stop(proc)
        with app.app_context(), new_session() as s:
            held = Counter(s.scalars(select(Delivery.state).where(Delivery.kind == "reminder")))
        killed_holding = f", killed holding {held['sending']} sending / {held['handing']} handing"
    waiting_after_fault = _states(app)
    control = scenario.startswith("control")
    figures = operate(app, SLUG, smtp, WEEK_LATER, settle=not control)
    outcome = Outcome(expected, kept_by_address(smtp))
    states = _states(app)
    print(f"reminder faults [{database_url.split(':', 1)[0]}] {scenario}: {len(expected)} non-responders, "
          f"{sum(outcome.received.values())} reminders kept by the server, duplicates {outcome.duplicates}, "
          f"lost {outcome.lost}, to responders/refused {outcome.unwanted}; after the fault {dict(waiting_after_fault)}"
          f"{killed_holding}; operator: {figures}; end {dict(states)}")
    if control:
        assert (outcome.duplicates, outcome.lost, states["uncertain"]) == (0, 1, 1)
        app.extensions["surveykit.engine"].dispose()
        return
    assert (outcome.duplicates, outcome.lost, outcome.unwanted) == (0, 0, 0)
    assert states["pending"] == states["uncertain"] == states["sending"] == states["handing"] == 0
    if scenario.startswith("5xx"):
        assert states["refused"] == 1
    app.extensions["surveykit.engine"].dispose()


def _states(app) -> Counter[str]:  # type: ignore[no-untyped-def]
    with app.app_context(), new_session() as s:
        return Counter(s.scalars(select(Delivery.state).where(Delivery.kind == "reminder")))
