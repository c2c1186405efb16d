"""The investigators' pages: log-in wall, create/close, roster upload, e-mail wording, sending, suppressed rates."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from invite_scenario import answer_through, mail_app, roster_csv, xlsx_bytes
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select

from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.models import Invitation, MailTemplate, Survey

from conftest import csrf_from

PASSWORD = "investigator passphrase"


@pytest.fixture
def mapp(database_url, tmp_path, smtp):  # noqa: F811
    application = mail_app(database_url, tmp_path, smtp)
    with application.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead")
        s.commit()
    yield application
    application.extensions["surveykit.engine"].dispose()


@pytest.fixture
def admin(mapp: Flask) -> FlaskClient:
    client = mapp.test_client()
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": "lead@example.org",
                                                "password": PASSWORD})
    assert response.status_code == 302
    return client


def create(admin: FlaskClient, slug: str = "dept", mode: str = "invitation") -> None:
    page = admin.get("/admin/new")
    assert page.status_code == 200
    response = admin.post("/admin/new", data={"csrf_token": csrf_from(page.text), "instrument": "department-survey",
                                              "slug": slug, "title": "Department survey", "mode": mode,
                                              "reminder_days": "7"})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == f"/admin/s/{slug}"


def upload(admin: FlaskClient, slug: str, data: bytes, name: str) -> object:
    page = admin.get(f"/admin/s/{slug}")
    return admin.post(f"/admin/s/{slug}/roster", data={"csrf_token": csrf_from(page.text),
                                                       "roster": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def invitees(app: Flask) -> int:
    with app.app_context(), new_session() as s:
        return s.scalar(select(func.count()).select_from(Invitation)) or 0


def post_button(admin: FlaskClient, slug: str, action: str, **extra: str) -> str:
    page = admin.get(f"/admin/s/{slug}")
    return admin.post(f"/admin/s/{slug}/{action}", data={"csrf_token": csrf_from(page.text), **extra},
                      follow_redirects=True).text


@pytest.mark.parametrize("path", ["/admin/", "/admin/new", "/admin/s/x", "/admin/s/x/mail/invitation"])
def test_pages_need_a_login(mapp, path):
    response = mapp.test_client().get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_post_without_login_or_csrf_changes_nothing(mapp, admin):
    create(admin)
    stranger = mapp.test_client()
    assert stranger.post("/admin/s/dept/close").status_code in (302, 400)
    assert admin.post("/admin/s/dept/close").status_code == 400  # logged in, but no CSRF token
    with mapp.app_context(), new_session() as s:
        survey = s.get(Survey, "dept")
        assert survey is not None and not survey.closed


def test_create_upload_send_and_rates(mapp, admin, smtp):  # noqa: F811
    create(admin)
    page = upload(admin, "dept", roster_csv({"Emergency Medicine": (12, 0), "Anesthesia": (3, 0),
                                             "Hospitalists": (8, 0)}).encode(), "roster.csv")
    assert page.status_code == 302
    survey_page = admin.get("/admin/s/dept").text
    assert "23 invitees added" in survey_page and "Send 23 invitations" in survey_page
    assert len(smtp.handler.messages) == 0  # uploading sends nothing
    done = post_button(admin, "dept", "invite")
    assert "23 invitations sent" in done
    assert len(smtp.handler.messages) == 23
    assert "Send 0 invitations" in done
    # Six emergency physicians answer. The survey's team sees exact counts (the suppressed rates, for a viewer's
    # shared results, are checked in test_survey_lifecycle.py against this same table).
    links = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    for address in sorted(a for a in links if a.startswith("em."))[:6]:
        answer_through(mapp.test_client(), links[address], "em")
    rates = admin.get("/admin/s/dept").text
    row = rates.split("Emergency Medicine", 1)[1].split("</tr>", 1)[0]
    assert ">12<" in row and ">6<" in row and "50.0 %" in row
    anesthesia = rates.split("Anesthesia", 1)[1].split("</tr>", 1)[0]
    assert ">3<" in anesthesia and ">0<" in anesthesia and "&lt;5" not in anesthesia
    hospitalists = rates.split("Hospitalists", 1)[1].split("</tr>", 1)[0]
    assert ">8<" in hospitalists and ">x<" not in hospitalists
    totals = rates.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    assert ">23<" in totals and ">6<" in totals and "26.1 %" in totals
    # Nothing per person: no address appears anywhere on the page.
    assert "@hospital.example" not in rates
    listing = admin.get("/admin/").text
    assert "Department survey" in listing and ">23<" in listing


def test_roster_with_errors_imports_nothing_and_lists_lines(mapp, admin):
    create(admin)
    bad = xlsx_bytes([["email", "department"], ["ok@hospital.example", "EM"], ["broken@", "EM"],
                      ["ok@hospital.example", "EM"], ["other@hospital.example", None]])
    response = upload(admin, "dept", bad, "roster.xlsx")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "roster.xlsx:3, column A (&#39;email&#39;): malformed e-mail address &#39;broken@&#39;" in text
    assert "roster.xlsx:4, column A (&#39;email&#39;): duplicate of line 2" in text
    assert "roster.xlsx:5, column B (&#39;department&#39;): missing department" in text
    assert "nothing was imported" in text
    assert invitees(mapp) == 0


def test_send_with_smtp_down_keeps_everything_waiting(mapp, admin, smtp):  # noqa: F811
    create(admin)
    upload(admin, "dept", roster_csv({"EM": (7, 0)}).encode(), "r.csv")
    smtp.stop()
    text = post_button(admin, "dept", "invite")
    assert "0 invitations sent" in text and "could not reach the mail server" in text
    assert "Send 7 invitations" in text
    smtp.start()
    text = post_button(admin, "dept", "invite")
    assert "7 invitations sent" in text
    assert len(smtp.handler.messages) == 7


def test_mail_wording_is_edited_sandboxed_and_used(mapp, admin, smtp):  # noqa: F811
    create(admin)
    page = admin.get("/admin/s/dept/mail/invitation")
    assert "{{ link }}" in page.text
    token = csrf_from(page.text)
    # Without the link, invitees could not answer: refused.
    response = admin.post("/admin/s/dept/mail/invitation", data={
        "csrf_token": token, "action": "save", "subject": "Hi", "text_body": "No link here"})
    assert response.status_code == 422 and "must contain {{ link }}" in response.text
    # Investigators' templates run in Jinja's sandbox: no way to Python internals.
    response = admin.post("/admin/s/dept/mail/invitation", data={
        "csrf_token": token, "action": "save", "subject": "Hi",
        "text_body": "{{ link }} {{ ''.__class__.__mro__[1].__subclasses__() }}"})
    assert response.status_code == 422 and "cannot be filled in" in response.text
    response = admin.post("/admin/s/dept/mail/invitation", data={
        "csrf_token": token, "action": "save", "subject": "Dear {{ department }} team: {{ survey_title }}",
        "text_body": "Please answer: {{ link }}\n",
        "html_body": "<p><a href=\"{{ link }}\">{{ survey_title }}</a></p>"})
    assert response.status_code == 302
    with mapp.app_context(), new_session() as s:
        assert s.get(MailTemplate, ("dept", "invitation")) is not None
    upload(admin, "dept", b"email,department\na@hospital.example,EM <b>&</b>\n", "r.csv")
    post_button(admin, "dept", "invite")
    [msg] = smtp.handler.messages
    assert msg["Subject"] == "Dear EM <b>&</b> team: Department survey"
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "https://survey.example/i/" in html
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Please answer: https://survey.example/i/")
    # Reset brings the default back.
    page = admin.get("/admin/s/dept/mail/invitation")
    admin.post("/admin/s/dept/mail/invitation", data={"csrf_token": csrf_from(page.text), "action": "reset",
                                                      "subject": "x", "text_body": "x"})
    with mapp.app_context(), new_session() as s:
        assert s.get(MailTemplate, ("dept", "invitation")) is None


def test_template_syntax_error_names_part_and_line(mapp, admin):
    create(admin)
    page = admin.get("/admin/s/dept/mail/reminder")
    response = admin.post("/admin/s/dept/mail/reminder", data={
        "csrf_token": csrf_from(page.text), "action": "save", "subject": "Reminder",
        "text_body": "line one\n{{ link }}\n{% if %}\n"})
    assert response.status_code == 422
    assert "plain text line 3" in response.text


def test_close_erases_addresses_and_reopen(mapp, admin, smtp):  # noqa: F811
    create(admin)
    upload(admin, "dept", roster_csv({"EM": (6, 0)}).encode(), "r.csv")
    post_button(admin, "dept", "invite")
    text = post_button(admin, "dept", "close", confirm="yes")  # as the confirm page's button sends it
    assert "6 invitee addresses erased" in text
    with mapp.app_context(), new_session() as s:
        assert s.scalars(select(Invitation.email)).all() == [None] * 6
    link = link_in(smtp.handler.messages[0])
    closed = mapp.test_client().get("/" + link.split("/", 3)[3])
    assert closed.status_code == 410 and "closed" in closed.text
    text = post_button(admin, "dept", "open")
    assert "Survey open" in text


def test_downloads_area_links_when_the_blueprint_exists(mapp, admin):
    create(admin)
    page = admin.get("/admin/s/dept").text
    if "downloads" in mapp.blueprints:
        assert "/dept" in page.split("Download", 1)[1] and "Excel" in page
    else:
        assert "Downloads are not available" in page


def test_nav_shows_for_investigators_only(mapp, admin):
    assert "Log out" in admin.get("/admin/").text
    assert "Log out" not in mapp.test_client().get("/").text


def test_a_confidential_study_wave_refuses_anonymous_wording_on_the_page(mapp, admin):
    create(admin, "conf-w1")
    runner = mapp.test_cli_runner()
    for args in (["studies", "create", "conf", "--linkage", "confidential"],
                 ["studies", "add-wave", "conf", "conf-w1", "--label", "baseline"]):
        assert runner.invoke(args=args).exit_code == 0
    page = admin.get("/admin/s/conf-w1/mail/invitation")
    assert page.status_code == 200 and "confidential" in page.text and "anonymous" not in page.text
    response = admin.post("/admin/s/conf-w1/mail/invitation", data={
        "csrf_token": csrf_from(page.text), "action": "save", "subject": "Hi",
        "text_body": "Your answers are anonymous: {{ link }}\n"})
    assert response.status_code == 422 and "never &#34;anonymous&#34;" in response.text
    response = admin.post("/admin/s/conf-w1/mail/invitation", data={
        "csrf_token": csrf_from(page.text), "action": "save", "subject": "Hi",
        "text_body": "Your answers are confidential: {{ link }}\n"})
    assert response.status_code == 302
