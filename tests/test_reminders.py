"""The one reminder: exactly the unanswered get it, once, whatever happens (reruns, parallel workers, kills, SMTP down).

The department scenario of the paper runs end to end against a real SMTP server on loopback, on SQLite and
PostgreSQL: 255 invited in five departments, 75 answer, 180 reminders, 29.4%.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from invite_scenario import (
    DEPARTMENTS,
    SLUG,
    answer_through,
    create_survey,
    invite,
    mail_app,
    roster_csv,
    run_scenario,
    write_roster,
)
from mail_faults import kept_by_address, operate, settle_by_log
from servers import stop
from smtp_server import SmtpServer, body, link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Delivery, Invitation

from conftest import INSTRUMENTS, ROOT
from respondent import Respondent

TODAY = dt.date.today()
WEEK_LATER = TODAY + dt.timedelta(days=7)
SURVEYKIT = str(Path(sys.executable).parent / "surveykit")


def remind(app: Flask, *args: str, today: dt.date = WEEK_LATER) -> Any:
    return app.test_cli_runner().invoke(args=["surveys", "remind", *args, "--today", today.isoformat()])


def status(app: Flask, *extra: str) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["surveys", "status", SLUG, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def worker(database_url: str, server: SmtpServer, today: dt.date, rate: float = 0.0,
           slug: str = "") -> subprocess.Popen[str]:
    """Start `surveykit surveys remind` in its own process, as cron would."""
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
           "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS),
           **{k: str(v) for k, v in server.config().items()}, "SURVEYKIT_MAIL_RATE": str(rate)}
    args = [SURVEYKIT, "surveys", "remind", *([slug] if slug else ["--due"]), "--today", today.isoformat()]
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_parallel(database_url: str, server: SmtpServer, rate: float = 0.0) -> list[str]:
    procs = [worker(database_url, server, WEEK_LATER, rate) for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            stop(p)
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    return outputs


def deliveries(app: Flask, kind: str = "reminder") -> Counter[str]:
    with app.app_context(), new_session() as s:
        return Counter(s.scalars(select(Delivery.state).where(Delivery.kind == kind)))


@pytest.mark.slow
def test_department_survey_255_invited_75_answer_180_reminders(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    run_scenario(app, smtp, tmp_path, TODAY)
    answered_addresses = set()
    with app.app_context(), new_session() as s:
        answered_addresses = {i.email for i in s.scalars(select(Invitation).where(Invitation.answered))}
    assert len(answered_addresses) == 75
    smtp.handler.clear()

    # Six days later nothing is due yet.
    assert "no reminders due" in remind(app, "--due", today=TODAY + dt.timedelta(days=6)).output
    assert smtp.handler.messages == []
    # Past seven days: exactly the 180 who have not answered get one reminder each.
    result = remind(app, "--due")
    assert result.exit_code == 0, result.output
    assert "reminders: 180 sent" in result.output
    reminded = smtp.handler.to()
    assert len(reminded) == 180 and len(set(reminded)) == 180
    assert not set(reminded) & answered_addresses
    assert all("only reminder" in " ".join(body(m).split()) for m in smtp.handler.messages)  # as read: lines wrap
    # Again, and twice in parallel (two processes, as two cron jobs would): nothing more.
    assert "no reminders due" in remind(app, "--due").output
    outputs = run_parallel(database_url, smtp)
    assert all("no reminders due" in out for out in outputs), outputs
    assert len(smtp.handler.messages) == 180

    data = status(app)
    assert (data["invited"], data["answered"], data["response_rate"], data["reminders_sent"]) == (255, 75, 29.4, 180)
    assert data["departments"] == {d: {"invited": n, "answered": a, "response_rate": round(100 * a / n, 1)}
                                   for d, (n, a) in DEPARTMENTS.items()}
    text = app.test_cli_runner().invoke(args=["surveys", "status", SLUG]).output
    assert "invited 255, answered 75 (29.4%), reminders sent 180" in text
    app.extensions["surveykit.engine"].dispose()


def test_two_workers_at_once_send_each_reminder_once(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (60, 0), "ICU": (40, 0)})), today=TODAY)
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    for address in sorted(links)[:10]:
        answer_through(app.test_client(), links[address])
    smtp.handler.clear()
    # Paced at 150 a second, each worker would need most of a second alone: they overlap for real.
    outputs = run_parallel(database_url, smtp, rate=150.0)
    reminded = smtp.handler.to()
    assert len(reminded) == 90 and len(set(reminded)) == 90, outputs
    sent_by = [int(out.split("reminders: ")[1].split(" sent")[0]) if "reminders: " in out else 0 for out in outputs]
    assert sum(sent_by) == 90
    assert status(app)["reminders_sent"] == 90
    assert deliveries(app) == Counter({"sent": 90})
    app.extensions["surveykit.engine"].dispose()


def test_worker_killed_mid_batch_is_released_at_once_and_nobody_gets_two(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (40, 0)})), today=TODAY)
    smtp.handler.clear()
    proc = worker(database_url, smtp, WEEK_LATER, rate=20.0)
    try:
        deadline = time.monotonic() + 60
        while len(smtp.handler.messages) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        stop(proc)
    before = len(smtp.handler.messages)
    assert 8 <= before < 40
    held = deliveries(app)
    assert held["sending"] + held["handing"] <= 1  # the killed worker held one claim, unless killed between two
    # The rerun releases the dead worker's claim at once (no 10-minute lease), and sends it and the rest.
    result = remind(app, "--due")
    assert result.exit_code == 0, result.output
    # Killed between writing a message's end and recording the answer, the claim is held in doubt: the
    # operator settles it by the server's log.
    settle_by_log(app, SLUG, smtp)
    operate(app, SLUG, smtp, WEEK_LATER)
    received = kept_by_address(smtp)
    assert len(received) == 40 and set(received.values()) == {1}, received
    assert deliveries(app) == Counter({"sent": 40})
    assert status(app)["reminders_sent"] == 40
    app.extensions["surveykit.engine"].dispose()


def test_a_dead_workers_claim_is_released_by_the_next_run(database_url, tmp_path, smtp):  # noqa: F811
    from surveyapp.invitations.claims import LEASE, claim_gone, recover_stale, worker_id
    from surveyapp.models import utcnow

    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (3, 0)})), today=TODAY)
    dead = subprocess.run([sys.executable, "-c", "from surveyapp.invitations.claims import worker_id; "
                           "print(worker_id())"], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    alive = worker_id()
    assert claim_gone(dead) and not claim_gone(alive)
    lease = utcnow() + LEASE  # far from over: only the worker's death can release these
    with app.app_context(), new_session() as s:
        keys = sorted(s.scalars(select(Invitation.key)))
        for key, state, claim in zip(keys, ["sending", "handing", "sending"], [dead, dead, alive], strict=True):
            s.add(Delivery(invitation_key=key, kind="reminder", survey_slug=SLUG, state=state, claim=f"{claim}:0",
                           lease_until=lease, attempts=1, last_error="<m1@x>" if state == "handing" else None))
        s.commit()
        released = recover_stale(s)
        assert (released.pending, released.uncertain) == (1, 1)
        states = dict(s.execute(select(Delivery.invitation_key, Delivery.state)).all())
    # Dead before the end was written: sent again. Dead after: held for the log. Alive: untouched.
    assert [states[k] for k in keys] == ["pending", "uncertain", "sending"]
    app.extensions["surveykit.engine"].dispose()


def test_smtp_down_nothing_counted_then_sent_once(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (12, 0)})), today=TODAY)
    smtp.handler.clear()
    smtp.stop()
    result = remind(app, "--due")
    assert result.exit_code == 1
    assert "could not reach the mail server 127.0.0.1:" in result.output
    assert "Run the same command again later" in result.output
    assert status(app)["reminders_sent"] == 0
    assert deliveries(app) == Counter({"pending": 12})
    smtp.start()
    assert "reminders: 12 sent" in remind(app, "--due").output
    assert "no reminders due" in remind(app, "--due").output
    assert sorted(smtp.handler.to()) == sorted(set(smtp.handler.to())) and len(smtp.handler.messages) == 12
    assert status(app)["reminders_sent"] == 12
    app.extensions["surveykit.engine"].dispose()


def test_server_busy_refusals_are_retried_later(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (9, 0)})), today=TODAY)
    smtp.handler.clear()
    smtp.handler.mode = "busy"
    result = remind(app, "--due")
    assert result.exit_code == 1 and "451" in result.output
    assert smtp.handler.messages == [] and deliveries(app) == Counter({"pending": 9})
    smtp.handler.mode = "accept"
    assert "reminders: 9 sent" in remind(app, "--due").output
    assert len(smtp.handler.messages) == 9 and status(app)["reminders_sent"] == 9
    app.extensions["surveykit.engine"].dispose()


def test_a_lost_answer_stops_the_run_and_is_held_for_the_servers_log(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (5, 0)})), today=TODAY)
    smtp.handler.clear()
    smtp.handler.drop = {"em.002@hospital.example"}  # read to its end, not kept, no answer: a crash
    smtp.handler.reject = {"em.003@hospital.example"}
    result = remind(app, "--due")
    # The run stops at the message in doubt; the rest wait, untouched (claims go in random key order).
    assert result.exit_code == 1 and "1 uncertain" in result.output, result.output
    assert "Run the same command again later" in result.output
    states = deliveries(app)
    assert states["uncertain"] == 1 and states["sent"] + states["refused"] + states["pending"] == 4
    smtp.handler.drop = set()
    again = remind(app, "--due")
    assert again.exit_code == 0, again.output
    # Held, never sent again by itself; listed with its Message-ID for the operator.
    listed = app.test_cli_runner().invoke(args=["surveys", "uncertain", SLUG]).output
    assert "em.002@hospital.example" in listed and "<" in listed
    assert "no reminders due" in remind(app, "--due").output
    assert sorted(smtp.handler.to()) == ["em.000@hospital.example", "em.001@hospital.example",
                                         "em.004@hospital.example"]
    assert deliveries(app) == Counter({"sent": 3, "uncertain": 1, "refused": 1})
    wrong = app.test_cli_runner().invoke(args=["surveys", "uncertain", SLUG, "--sent", "<nope@x>"])
    assert wrong.exit_code == 1 and "no message in doubt with Message-ID or address <nope@x>" in wrong.output
    # Not in the server's log: the operator sends it again, once.
    assert settle_by_log(app, SLUG, smtp) == (0, 1)
    assert "reminders: 1 sent" in remind(app, "--due").output
    assert kept_by_address(smtp) == Counter({f"em.00{i}@hospital.example": 1 for i in (0, 1, 2, 4)})
    data = status(app, "--exact")
    assert (data["reminders_sent"], data["uncertain"], data["refused"]) == (4, 0, 1)
    app.extensions["surveykit.engine"].dispose()


@pytest.mark.parametrize("fault", ["drop_in_data", "drop_after_data", "drop_before_mail"])
def test_a_dropped_connection_loses_no_reminder_and_gives_none_twice(database_url, tmp_path, smtp,  # noqa: F811
                                                                      fault):
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (8, 0)})), today=TODAY)
    smtp.handler.clear()
    smtp.handler.fail(fault, 3)  # the server fails three messages in a row, then recovers
    first = remind(app, "--due")
    assert first.exit_code == 1 and "reminders: 0 sent" in first.output, first.output
    # The run stopped at once: one message at most is in doubt, the other seven (or eight) wait.
    states = deliveries(app)
    assert states["pending"] >= 7 and states["uncertain"] <= 1 and states["sent"] == 0
    operate(app, SLUG, smtp, WEEK_LATER)
    received = kept_by_address(smtp)
    assert len(received) == 8 and set(received.values()) == {1}, received
    assert status(app)["reminders_sent"] == 8
    app.extensions["surveykit.engine"].dispose()


def test_reminder_link_works_and_the_invitation_link_too(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, "email,department\na@hospital.example,EM\nb@hospital.example,EM\n"),
           today=TODAY)
    invitation_links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    smtp.handler.clear()
    remind(app, "--due")
    reminder_links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    assert reminder_links["a@hospital.example"] != invitation_links["a@hospital.example"]
    assert "Thank you" in answer_through(app.test_client(), reminder_links["a@hospital.example"])
    assert "Thank you" in answer_through(app.test_client(), invitation_links["b@hospital.example"])
    used = app.test_client().get("/" + invitation_links["a@hospital.example"].split("/", 3)[3])
    assert used.status_code == 410
    assert status(app, "--exact")["answered"] == 2
    app.extensions["surveykit.engine"].dispose()


def test_open_mode_reminds_the_whole_roster(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app, SLUG, "open")
    invite(app, write_roster(tmp_path, roster_csv({"EM": (6, 0)})), today=TODAY)
    r = Respondent(app.test_client(), SLUG)
    r.start()
    r.answer({"department": "em"})
    assert "Thank you" in r.answer({"aware": "no"}).text
    smtp.handler.clear()
    assert "reminders: 6 sent" in remind(app, "--due").output
    assert all("If you have already answered" in " ".join(body(m).split()) and "thank you" in body(m)
               for m in smtp.handler.messages)
    assert "no reminders due" in remind(app, "--due").output
    data = status(app)
    assert (data["invited"], data["answered"], data["reminders_sent"]) == (6, "<5", 6)
    assert data["departments"]["EM"]["answered"] is None
    app.extensions["surveykit.engine"].dispose()


def test_reminder_days_zero_is_due_at_once(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app, SLUG, "invitation", "--reminder-days", "0")
    invite(app, write_roster(tmp_path, roster_csv({"EM": (3, 0)})), today=TODAY)
    smtp.handler.clear()
    assert "reminders: 3 sent" in remind(app, "--due", today=TODAY).output
    app.extensions["surveykit.engine"].dispose()


def test_remind_now_without_due_and_bad_calls(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    no_args = remind(app)
    assert no_args.exit_code == 2 and "name a survey, or use --due" in no_args.output
    before = remind(app, SLUG)
    assert before.exit_code == 1 and "has no invitees yet, so there is no one to remind" in before.output
    smtp.stop()
    invite(app, write_roster(tmp_path, roster_csv({"EM": (4, 0)})), today=TODAY)
    unsent = remind(app, SLUG)
    assert unsent.exit_code == 1 and "no invitation of survey 'dept-2023' has been sent yet" in unsent.output
    assert "no reminders due" in remind(app, "--due").output
    smtp.start()
    invite(app, None, today=TODAY)
    smtp.handler.clear()
    # Named survey, no --due: remind now, whatever the days; still only once.
    assert "reminders: 4 sent" in remind(app, SLUG, today=TODAY).output
    assert "no reminders due" in remind(app, SLUG, today=TODAY).output
    assert remind(app, "nope").output.strip().endswith("no survey 'nope' (see 'surveykit surveys list')")
    app.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    closed = remind(app, SLUG)
    assert closed.exit_code == 1 and "is closed: no reminders" in closed.output
    assert len(smtp.handler.messages) == 4
    app.extensions["surveykit.engine"].dispose()


def test_status_suppresses_small_counts_unless_exact(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    invite(app, write_roster(tmp_path, roster_csv({"EM": (20, 0), "ICU": (3, 0), "Anesthesia": (9, 0)})),
           today=TODAY)
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    for address in [a for a in sorted(links) if a.startswith("em.")][:7]:
        answer_through(app.test_client(), links[address])
    shown = status(app)
    # The rule of every workbook (exports.suppress): ICU's line (3 invited) is hidden whole. With 7 answered
    # overall, EM's 7 would show that ICU's hidden count is 0, so EM's is hidden too ('x'), and with ICU's 3
    # invited hidden, the next smallest invited count (Anesthesia's 9) hides so that 32 - 20 - 9 gives nothing.
    assert shown["departments"]["EM"] == {"invited": 20, "answered": "x", "response_rate": None}
    assert shown["departments"]["ICU"] == {"invited": "<5", "answered": "x", "response_rate": None}
    assert shown["departments"]["Anesthesia"] == {"invited": "x", "answered": 0, "response_rate": None}
    assert (shown["invited"], shown["answered"], shown["response_rate"]) == (32, 7, 21.9)
    exact = status(app, "--exact")
    assert exact["departments"]["ICU"] == {"invited": 3, "answered": 0, "response_rate": 0.0}
    assert exact["exact"] is True and shown["exact"] is False
    app.extensions["surveykit.engine"].dispose()


def test_a_time_budget_leaves_the_rest_waiting_untouched(database_url, tmp_path, smtp):  # noqa: F811
    from surveyapp.invitations.roster import import_roster, read_roster
    from surveyapp.invitations.sending import pending_count, send_invitations
    from surveyapp.mail import SmtpSettings
    from surveyapp.models import Survey

    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    roster = "email,department\n" + "".join(f"p{i}@hospital.example,Emergency Medicine\n" for i in range(6))
    with app.app_context(), new_session() as db:
        survey = db.get(Survey, SLUG)
        import_roster(db, survey, read_roster(roster.encode(), "roster.csv"), "roster.csv")
        db.commit()
        settings = SmtpSettings.from_config(app.config)
        # As the investigators' page does: a request stops claiming when its time is up.
        first = send_invitations(db, survey, settings, "http://127.0.0.1:5000", TODAY, budget_seconds=0)
        assert first.out_of_time and first.sent == 0 and smtp.handler.to() == []
        assert pending_count(db, SLUG, "invitation") == 6
        rest = send_invitations(db, survey, settings, "http://127.0.0.1:5000", TODAY, budget_seconds=60)
        assert not rest.out_of_time and rest.sent == 6
        assert pending_count(db, SLUG, "invitation") == 0
    app.extensions["surveykit.engine"].dispose()
    assert sorted(smtp.handler.to()) == sorted(f"p{i}@hospital.example" for i in range(6))
