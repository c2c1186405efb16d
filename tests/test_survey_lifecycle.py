"""A survey from start to finish on its page: the test link and its answers, the reminder sent now, closing through
a confirm page, exact rates for the team.

SQLite and PostgreSQL; the reminders go through the real loopback SMTP server (tests/smtp_server.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from invite_scenario import answer_through, invite, mail_app, roster_csv, write_roster
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select
from survey_setup import marker_instruments, store

from surveyapp.auth.members import SurveyMember
from surveyapp.auth.models import User, create_user
from surveyapp.db import new_session
from surveyapp.invitations.rates import survey_status
from surveyapp.models import Delivery, Draft, Invitation, MailCount, ParkedAnswer, Response, Survey

from conftest import csrf_from, make_test_app
from respondent import Respondent

PASSWORD = "investigator passphrase"
REAL, TEST = "the real respondent's marker", "the tester's marker"
BANNER = "Test mode — this answer will be marked as a test"


def log_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login")
    done = client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": email,
                                            "password": PASSWORD})
    assert done.status_code == 302, done.text
    return client


def post(client: FlaskClient, path: str, **data: str) -> str:
    """Post a button of the survey's page (its CSRF token) and follow the redirect; return the page."""
    page = client.get(path.split("/test-")[0].split("/remind-now")[0].split("/close")[0])
    return client.post(path, data={"csrf_token": csrf_from(page.text), **data}, follow_redirects=True).text


def count(app: Flask, *where, model=Response) -> int:
    with app.app_context(), new_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def link_on_page(page: str) -> str:
    found = re.search(r'<a id="test-link" href="([^"]+)"', page)
    assert found, page
    return found.group(1).replace("&amp;", "&")


# ------------------------------------------------------------------------------------------------- test mode


@pytest.fixture
def tapp(database_url, tmp_path):
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(marker_instruments(tmp_path, "marker")),
                        SURVEYKIT_SMTP_HOST="")
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead", role="investigator")
        s.commit()
    yield app
    app.extensions["surveykit.engine"].dispose()


def new_survey(client: FlaskClient, slug: str, mode: str, opens: dt.date | None = None) -> str:
    page = client.get("/admin/new")
    done = client.post("/admin/new", data={"csrf_token": csrf_from(page.text), "instrument": "marker", "slug": slug,
                                           "title": "Marker survey", "mode": mode, "reminder_days": "7",
                                           "opens": opens.isoformat() if opens else ""})
    assert done.status_code == 302, done.text
    return client.get(f"/admin/s/{slug}").text


def mail_counts(s) -> tuple[int, int] | None:
    row = s.get(MailCount, "live")
    return None if row is None else (row.invitations_sent, row.reminders_sent)


def answer_as_tester(client: FlaskClient, link: str, slug: str, marker: str) -> str:
    followed = client.get(link)
    assert followed.status_code == 302 and followed.headers["Location"] == f"/s/{slug}"
    r = Respondent(client, slug)
    page = r.start()
    assert BANNER in page.text
    r.answer({"note": "testing the wording"})
    done = r.answer({"marker": marker})
    assert done.request.path == f"/s/{slug}/thanks" and BANNER in done.text
    return done.text


def test_test_link_answers_before_opening_are_marked_apart_and_left_out_unless_asked(tapp, tmp_path):
    lead = log_in(tapp, "lead@example.org")
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    page = new_survey(lead, "pilot", "invitation", opens=tomorrow)
    link = link_on_page(page)
    assert link.startswith("/s/pilot/test/")
    # Control: without the link, the survey is not open yet (and by invitation only).
    stranger = tapp.test_client()
    assert stranger.get("/s/pilot").status_code == 410
    # A colleague given the link answers the real pages, under the banner, before the survey opens.
    colleague = tapp.test_client()
    answer_as_tester(colleague, link, "pilot", TEST)
    assert count(tapp, Response.test.is_(True)) == 1 and count(tapp, model=ParkedAnswer) == 0
    # A real answer (as an import or the mixer would store it) next to it.
    store(tapp, "pilot", [{"note": "real", "marker": REAL}])
    with tapp.app_context(), new_session() as s:
        stored = {r.answers["marker"]: r.test for r in s.scalars(select(Response))}
        status = survey_status(s, s.get(Survey, "pilot"), 5, exact=True)
    assert stored == {TEST: True, REAL: False}
    assert status["answered"] == 1  # the test answer is not counted in the rates
    page = lead.get("/admin/s/pilot").text
    assert '<p id="test-answers">1 test answer ' in page and 'id="delete-test-answers">Delete 1 test answer<' in page

    # Exports, CLI and downloads: left out, and in with the option.
    runner = tapp.test_cli_runner()
    for extra, want in (((), {REAL}), (("--include-test",), {REAL, TEST})):
        out = tmp_path / f"pilot{len(extra)}.csv"
        result = runner.invoke(args=["export", "pilot", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert {row["marker"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))} == want
    result = runner.invoke(args=["export", "pilot", "--out", str(tmp_path / "p.sav")])
    assert "wrote 1 responses" in result.output
    result = runner.invoke(args=["export", "pilot", "--out", str(tmp_path / "p.dta"), "--include-test"])
    assert "wrote 2 responses" in result.output
    shared = runner.invoke(args=["export", "pilot", "--out", str(tmp_path / "s.xlsx"), "--shared", "--include-test"])
    assert shared.exit_code != 0 and "never holds test answers" in shared.output
    for query, want in (("", {REAL}), ("?test=include", {REAL, TEST})):
        got = lead.get(f"/admin/surveys/pilot/export.csv{query}")
        data = got.data
        got.close()
        assert got.status_code == 200
        assert {row["marker"] for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))} == want
    from openpyxl import load_workbook

    for query, rows in (("", 1), ("?test=include", 2)):
        got = lead.get(f"/admin/surveys/pilot/export.xlsx{query}")
        data = got.data
        got.close()
        raw = load_workbook(io.BytesIO(data), read_only=True)["Raw data"]
        markers = [c for row in raw.iter_rows(values_only=True) for c in row if c in (REAL, TEST)]
        assert len(markers) == rows, markers
    assert lead.get("/admin/surveys/pilot/export.csv?test=yes").status_code == 400
    # Results page and a share link: one response, the real one.
    assert "<p>1 response.</p>" in lead.get("/admin/s/pilot/results").text
    made = post(lead, "/admin/s/pilot/results/links")
    token = re.search(r"/results/([A-Za-z0-9_-]{43})", made).group(1)
    assert "<p>1 response.</p>" in tapp.test_client().get(f"/results/{token}").text
    # A coding project made from the survey: the real answer's unit only.
    made = runner.invoke(args=["coding", "create", "pilot-open", "--survey", "pilot", "--question", "marker"])
    assert made.exit_code == 0, made.output
    with tapp.app_context(), new_session() as s:
        from coding.store import Unit
        assert [u.text for u in s.scalars(select(Unit))] == [REAL]

    # Deleted in one click; the database's history keeps no readable copy (SQLite: the files themselves).
    url = tapp.config["SURVEYKIT_DATABASE_URL"]
    files = [Path(url.split("///", 1)[1])] if url.startswith("sqlite") else []
    files += [Path(f"{f}-wal") for f in files]

    def on_disk() -> bool:
        return any(TEST.encode() in f.read_bytes() for f in files if f.exists())

    assert not files or on_disk()  # control: before deletion the test answer is in the files
    done = post(lead, "/admin/s/pilot/test-answers/delete")
    assert "1 test answer deleted." in done and '<p id="test-answers">0 test answers ' in done
    assert count(tapp, Response.test.is_(True)) == 0 and count(tapp, Response.test.is_(False)) == 1
    assert not on_disk()


def test_test_link_never_touches_an_invitation_and_a_new_link_stops_the_old(tapp):
    lead = log_in(tapp, "lead@example.org")
    page = new_survey(lead, "live", "invitation")
    first = link_on_page(page)
    roster = (io.BytesIO(b"email,department\na@x.org,EM\n"), "r.csv")
    upload = lead.post("/admin/s/live/roster", data={"csrf_token": csrf_from(page), "roster": roster},
                       content_type="multipart/form-data")
    assert upload.status_code == 302
    with tapp.app_context(), new_session() as s:
        before = [(i.answered, i.invited_on) for i in s.scalars(select(Invitation))]
        mails = mail_counts(s), s.execute(select(Delivery.kind, Delivery.state)).all()
    tester = tapp.test_client()
    answer_as_tester(tester, first, "live", TEST)
    with tapp.app_context(), new_session() as s:
        assert [(i.answered, i.invited_on) for i in s.scalars(select(Invitation))] == before
        assert (mail_counts(s), s.execute(select(Delivery.kind, Delivery.state)).all()) == mails
    assert count(tapp, Response.test.is_(True)) == 1 and count(tapp, model=ParkedAnswer) == 0
    # The tester can answer again (a second test), until the link is replaced: then the old link and the
    # tester's session stop working at once, and the new link works.
    assert BANNER in tester.get("/s/live").text
    page = post(lead, "/admin/s/live/test-link", action="new")
    second = link_on_page(page)
    assert second != first
    assert tapp.test_client().get(first).status_code == 404
    assert tester.get("/s/live").status_code == 403  # back to the invitation gate, no banner
    answer_as_tester(tapp.test_client(), second, "live", TEST)
    assert count(tapp, Response.test.is_(True)) == 2
    page = post(lead, "/admin/s/live/test-link", action="withdraw")
    assert 'id="test-link"' not in page and tapp.test_client().get(second).status_code == 404


def test_the_banner_is_in_the_respondents_language(database_url, tmp_path):
    app = make_test_app(database_url, tmp_path, SURVEYKIT_SMTP_HOST="")
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead", role="investigator")
        s.commit()
    try:
        lead = log_in(app, "lead@example.org")
        page = lead.get("/admin/new")
        lead.post("/admin/new", data={"csrf_token": csrf_from(page.text), "instrument": "department-survey",
                                      "slug": "bilingual", "title": "Bilingual", "mode": "open",
                                      "reminder_days": "7"})
        link = link_on_page(lead.get("/admin/s/bilingual").text)
        tester = app.test_client()
        tester.get(link)
        spanish = tester.get("/s/bilingual?lang=es").text
        assert "Modo de prueba: esta respuesta quedará marcada como prueba" in spanish and BANNER not in spanish
        assert BANNER in app.test_client().get(link, follow_redirects=True).text
        assert "Modo de prueba" not in app.test_client().get("/s/bilingual?lang=es").text  # control: no link
    finally:
        app.extensions["surveykit.engine"].dispose()


# ------------------------------------------------------------------------------------------------- reminders


@pytest.fixture
def mapp(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead", role="admin")
        create_user(s, "inv@example.org", PASSWORD, "Inv", role="investigator")
        create_user(s, "viewer@example.org", PASSWORD, "Viewer", role="viewer")
        s.commit()
    yield app
    app.extensions["surveykit.engine"].dispose()


def test_remind_now_sends_once_to_exactly_those_not_reminded(mapp, tmp_path, smtp):  # noqa: F811
    runner = mapp.test_cli_runner()
    made = runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept", "--title", "Dept",
                               "--mode", "invitation", "--reminder-days", "7"])
    assert made.exit_code == 0, made.output
    today = dt.date.today()
    early, late = today - dt.timedelta(days=10), today - dt.timedelta(days=2)
    assert invite(mapp, write_roster(tmp_path, roster_csv({"EM": (4, 0)}), "a.csv"), "dept", early).exit_code == 0
    assert invite(mapp, write_roster(tmp_path, roster_csv({"ICU": (5, 0)}), "b.csv"), "dept", late).exit_code == 0
    invitations = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    assert len(invitations) == 9
    answer_through(mapp.test_client(), invitations["icu.000@hospital.example"])  # answered: never reminded
    lead = log_in(mapp, "lead@example.org")
    page = lead.get("/admin/s/dept").text
    assert f"4 invited on {early} → due {early + dt.timedelta(days=7)}" in page
    assert f"4 invited on {late} → due {late + dt.timedelta(days=7)}" in page
    assert "Sent now, it would reach 8 invitees." in page
    # The due-only button sends the early batch's reminders only.
    smtp.handler.messages.clear()
    post(lead, "/admin/s/dept/remind")
    assert sorted(smtp.handler.to()) == [f"em.{i:03d}@hospital.example" for i in range(4)]
    # The confirm page names the date the rest would otherwise get it and how many get it now.
    confirm = lead.get("/admin/s/dept/remind-now").text
    assert "<strong>4</strong> invitees get the reminder now" in confirm
    assert f"<td>{late}</td><td>{late + dt.timedelta(days=7)}</td><td class=\"num\">4</td>" in confirm
    # A post without the confirm field sends nothing.
    smtp.handler.messages.clear()
    post(lead, "/admin/s/dept/remind-now")
    assert smtp.handler.messages == []
    done = post(lead, "/admin/s/dept/remind-now", confirm="yes")
    assert "4 reminders sent." in done
    assert sorted(smtp.handler.to()) == [f"icu.{i:03d}@hospital.example" for i in range(1, 5)]
    # Never twice: nobody is left, and pressing again sends nothing.
    smtp.handler.messages.clear()
    assert "Nobody would get it" in lead.get("/admin/s/dept/remind-now").text
    post(lead, "/admin/s/dept/remind-now", confirm="yes")
    post(lead, "/admin/s/dept/remind")
    assert smtp.handler.messages == []
    assert count(mapp, Delivery.kind == "reminder", model=Delivery) == 8


# ------------------------------------------------------------------------------------------------------ close


def test_close_goes_through_a_confirm_page_with_the_counts(mapp, tmp_path, smtp):  # noqa: F811
    runner = mapp.test_cli_runner()
    assert runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept", "--mode",
                               "invitation"]).exit_code == 0
    assert invite(mapp, write_roster(tmp_path, roster_csv({"EM": (6, 0)})), "dept").exit_code == 0
    links = [link_in(m) for m in smtp.handler.messages]
    answer_through(mapp.test_client(), links[0])
    # Two invitees have started and not finished: two drafts in progress.
    for link in links[1:3]:
        client = mapp.test_client()
        client.get("/" + link.split("/", 3)[3])
        Respondent(client, "dept").start()
    lead = log_in(mapp, "lead@example.org")
    page = lead.get("/admin/s/dept").text
    assert 'href="/admin/s/dept/close" id="close-survey"' in page
    confirm = lead.get("/admin/s/dept/close").text
    assert "<strong>6</strong> invitee addresses" in confirm
    # Two sheets in progress, and the finished mark the answered invitee's sheet leaves for a day (drafts.py).
    assert "<strong>3</strong> drafts: answer sheets in progress" in confirm
    assert "<strong>1</strong> answer " in confirm and "<strong>5</strong> invitation links not used yet stop working" \
        in confirm
    # The GET changed nothing; neither does a post without the confirm field.
    assert "Nothing was closed" in post(lead, "/admin/s/dept/close")
    with mapp.app_context(), new_session() as s:
        assert not s.get(Survey, "dept").closed
        assert s.scalar(select(func.count()).select_from(Invitation).where(Invitation.email.is_not(None))) == 6
        assert s.scalar(select(func.count()).select_from(Draft)) == 3
    done = post(lead, "/admin/s/dept/close", confirm="yes")
    assert "6 invitee addresses erased" in done
    with mapp.app_context(), new_session() as s:
        assert s.get(Survey, "dept").closed
        assert s.scalars(select(Invitation.email)).all() == [None] * 6
        assert s.scalar(select(func.count()).select_from(Draft)) == 0
        assert s.scalar(select(func.count()).select_from(Response)) == 1  # the answer stays
    assert mapp.test_client().get("/" + links[4].split("/", 3)[3]).status_code == 410


# ------------------------------------------------------------------------------------------------------ rates


def test_investigators_see_exact_counts_a_viewer_the_suppressed_ones(mapp, tmp_path, smtp):  # noqa: F811
    runner = mapp.test_cli_runner()
    assert runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept", "--mode",
                               "invitation"]).exit_code == 0
    assert runner.invoke(args=["surveys", "create", "department-survey", "--id", "open-one", "--mode",
                               "open"]).exit_code == 0
    roster = roster_csv({"Emergency Medicine": (12, 0), "Anesthesia": (3, 0), "Hospitalists": (8, 0)})
    assert invite(mapp, write_roster(tmp_path, roster), "dept").exit_code == 0
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    for address in sorted(a for a in links if a.startswith("em."))[:6]:
        answer_through(mapp.test_client(), links[address], "em")
    with mapp.app_context(), new_session() as s:
        for email, role in (("inv@example.org", "owner"), ("viewer@example.org", "member")):
            uid = s.scalar(select(User.id).where(User.email == email))
            for slug in ("dept", "open-one"):
                s.add(SurveyMember(user_id=uid, survey_slug=slug, role=role))
        s.commit()
    for who in ("lead@example.org", "inv@example.org"):
        client = log_in(mapp, who)
        page = client.get("/admin/s/dept").text
        anesthesia = page.split("Anesthesia", 1)[1].split("</tr>", 1)[0]
        assert ">3<" in anesthesia and ">0<" in anesthesia and "&lt;5" not in anesthesia, who
        row = page.split("Emergency Medicine", 1)[1].split("</tr>", 1)[0]
        assert ">12<" in row and ">6<" in row and "50.0 %" in row
        assert "Exact counts, for the survey's team" in page
        listing = client.get("/admin/").text
        dept_row = listing.split("/admin/s/dept\"", 1)[1].split("</tr>", 1)[0]
        assert ">23<" in dept_row and ">6<" in dept_row and "26.1 %" in dept_row
        # An open survey nobody was invited to: invited is not tracked (never "<5" or 0).
        open_row = listing.split("/admin/s/open-one\"", 1)[1].split("</tr>", 1)[0]
        assert ">—<" in open_row and "&lt;5" not in open_row
        open_page = client.get("/admin/s/open-one").text
        assert ">not tracked<" in open_page and "&lt;5" not in open_page
    viewer = log_in(mapp, "viewer@example.org")
    assert viewer.get("/admin/s/dept").status_code == 404
    shown = viewer.get("/admin/s/dept/results").text
    anesthesia = shown.split("Anesthesia", 1)[1].split("</tr>", 1)[0]
    assert "&lt;5" in anesthesia and ">3<" not in anesthesia
    row = shown.split("Emergency Medicine", 1)[1].split("</tr>", 1)[0]
    assert ">6<" not in row


def test_remind_now_with_a_broker_queues_the_sending_for_the_worker(database_url, tmp_path, smtp):  # noqa: F811
    from test_scale_out import BROKER, _redis_answers

    from surveyapp import jobs, shutdown
    from surveyapp.models import Job

    if not _redis_answers():
        pytest.skip(f"needs the Redis broker at {BROKER} (set SURVEYKIT_TEST_BROKER_URL)")
    app = mail_app(database_url, tmp_path, smtp, SURVEYKIT_BROKER_URL=BROKER)
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead", role="admin")
        s.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept", "--mode", "invitation",
                               "--reminder-days", "7"]).exit_code == 0
    assert invite(app, write_roster(tmp_path, roster_csv({"EM": (3, 0)})), "dept").exit_code == 0
    smtp.handler.clear()
    try:
        lead = log_in(app, "lead@example.org")
        done = post(lead, "/admin/s/dept/remind-now", confirm="yes")
        assert "Sending the reminders in the background" in done
        assert smtp.handler.messages == []  # the web request sent nothing: the worker does
        with app.app_context(), new_session() as s:
            job = s.scalars(select(Job).where(Job.name == "invitations.send")).one()
            pending = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "reminder",
                                                                               Delivery.state == "pending"))
        assert (job.state, job.ref, pending) == ("queued", "dept:reminder", 3)
        assert jobs.run(app, job.id)  # what `surveykit worker` does with the job's id
        assert sorted(smtp.handler.to()) == [f"em.{i:03d}@hospital.example" for i in range(3)]
    finally:
        import redis

        with redis.Redis.from_url(BROKER) as broker:  # the job's message, which no worker here takes
            broker.delete(jobs.queue_name(app.config["DATABASE_URL"]))
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()
