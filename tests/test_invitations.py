"""Rosters and invitation links: bad rosters, single-use links that leave the address bar, and every bad input."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from invite_scenario import create_survey, invite, mail_app, roster_csv, write_roster, xlsx_bytes
from smtp_server import body, link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select

from surveyapp.db import new_session
from surveyapp.invitations.roster import RosterError, read_roster
from surveyapp.models import Draft, Invitation, ParkedAnswer, Response

from respondent import Respondent

SLUG = "dept-2023"


@pytest.fixture
def mapp(database_url, tmp_path, smtp):  # noqa: F811
    application = mail_app(database_url, tmp_path, smtp)
    create_survey(application)
    yield application
    application.extensions["surveykit.engine"].dispose()


def count(app, model) -> int:
    with app.app_context(), new_session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


# ------------------------------------------------------------------------------------------------------ rosters


def test_roster_errors_are_listed_by_line_and_nothing_is_imported(mapp, tmp_path, smtp):  # noqa: F811
    roster = write_roster(tmp_path, "email,department\n"
                                    "a@hospital.example,EM\n"
                                    "not an address,EM\n"
                                    "b@hospital.example,\n"
                                    "A@Hospital.example,ICU\n"
                                    "c@hospital,ICU\n"
                                    "d@hospital.example,ICU\n")
    result = invite(mapp, roster)
    assert result.exit_code == 1
    out = result.output
    assert "nothing imported" in out
    assert f"{roster.name}:3, column A ('email'): malformed e-mail address 'not an address'" in out
    assert f"{roster.name}:4, column B ('department'): missing department" in out
    assert f"{roster.name}:5, column A ('email'): duplicate of line 2 (A@Hospital.example)" in out
    assert f"{roster.name}:6, column A ('email'): malformed e-mail address 'c@hospital'" in out
    assert ":2:" not in out and ":7:" not in out
    assert count(mapp, Invitation) == 0
    assert smtp.handler.messages == []


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the roster is empty"),
    (b"mail,dept\na@b.org,EM\n", "must name the columns 'email' and 'department' (missing: email, department"),
    (b"email,department\n", "has a header but no invitees"),
    ("email,department\nä@b.org,EM\n".encode("latin-1"), "not UTF-8"),
])
def test_roster_file_problems(data, message):
    with pytest.raises(RosterError) as exc:
        read_roster(data, "r.csv")
    assert message in str(exc.value)


def test_roster_semicolons_bom_and_extra_columns():
    data = "\ufeffName;Email;Department\nDr A;a@hospital.example;EM\nDr B;b@hospital.example;ICU\n".encode()
    entries = read_roster(data, "r.csv")
    assert [(e.line, e.email, e.department) for e in entries] == [(2, "a@hospital.example", "EM"),
                                                                    (3, "b@hospital.example", "ICU")]


def test_roster_xlsx_errors_name_rows(tmp_path):
    data = xlsx_bytes([["email", "department"], ["a@hospital.example", "EM"], [None, "EM"], ["x@y", None]])
    with pytest.raises(RosterError) as exc:
        read_roster(data, "staff.xlsx")
    assert exc.value.errors == ["staff.xlsx:3, column A ('email'): missing e-mail address",
                                "staff.xlsx:4, column A ('email'): malformed e-mail address 'x@y'",
                                "staff.xlsx:4, column B ('department'): missing department"]
    assert len(read_roster(xlsx_bytes([["Email", "Department"], ["a@h.org", "EM"]]), "s.xlsx")) == 1
    with pytest.raises(RosterError, match="not a readable .xlsx workbook"):
        read_roster(b"PK\x03\x04garbage", "s.xlsx")


def test_reimporting_an_invitee_is_refused(mapp, tmp_path):
    assert invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n")).exit_code == 0
    result = invite(mapp, write_roster(tmp_path, "email,department\nb@hospital.example,EM\nA@hospital.example,EM\n",
                                       "more.csv"))
    assert result.exit_code == 1 and "more.csv:3: a@hospital.example is already invited" in result.output
    assert count(mapp, Invitation) == 1


# ------------------------------------------------------------------------------------------------------- links


def test_each_invitee_gets_one_single_use_link_stored_only_as_hash(mapp, tmp_path, smtp):  # noqa: F811
    result = invite(mapp, write_roster(tmp_path, roster_csv({"EM": (10, 0), "ICU": (5, 0)})))
    assert result.exit_code == 0, result.output
    assert "15 invitees added" in result.output and "invitations: 15 sent" in result.output
    assert len(smtp.handler.messages) == 15
    assert sorted(smtp.handler.to()) == sorted(f"{d.lower()}.{i:03d}@hospital.example"
                                               for d, n in (("EM", 10), ("ICU", 5)) for i in range(n))
    links = [link_in(m) for m in smtp.handler.messages]
    assert len(set(links)) == 15 and all(link.startswith("https://survey.example/i/") for link in links)
    tokens = [link.rsplit("/", 1)[1] for link in links]
    assert all(len(t) >= 22 for t in tokens)  # 16 random bytes, URL-safe
    with mapp.app_context(), new_session() as s:
        stored = {inv.token_hash for inv in s.scalars(select(Invitation))}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    msg = smtp.handler.messages[0]
    assert msg["From"] == "research@hospital.example" and "POST department survey" in msg["Subject"]
    assert "anonymous" in body(msg) and links[0] in body(msg, "html")
    # Sending again sends nothing: every invitation went out once.
    again = invite(mapp, None)
    assert "no invitations waiting" in again.output and len(smtp.handler.messages) == 15


def test_link_leaves_the_address_bar_and_works_once(mapp, tmp_path, smtp):  # noqa: F811
    invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    link = link_in(smtp.handler.messages[0])
    token = link.rsplit("/", 1)[1]
    client = mapp.test_client()
    first = client.get(path_of(link))
    assert first.status_code == 302 and first.headers["Location"] == f"/s/{SLUG}"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    intro = client.get(f"/s/{SLUG}")
    assert intro.status_code == 200 and token not in intro.text
    assert intro.headers["Referrer-Policy"] == "no-referrer"
    r = Respondent(client, SLUG)
    r.start()
    r.answer({"department": "em"})
    thanks = r.answer({"aware": "no"})
    assert "Thank you" in thanks.text
    # Parked until a batch of answers is ready (or the survey closes).
    # The draft is gone; what stays is its finished mark (sealed, one padded size, expiring tomorrow) that tells
    # a double click from this browser apart from another device holding the same link (drafts.py).
    assert count(mapp, ParkedAnswer) == 1 and count(mapp, Response) == 0 and count(mapp, Draft) == 1
    # The link again, in this browser or another: a polite "already answered".
    for c in (client, mapp.test_client()):
        again = c.get(path_of(link))
        assert again.status_code == 410 and "already been used" in again.text
    with client.session_transaction() as sess:
        assert f"invite:{SLUG}" not in sess


def test_survey_address_without_an_invitation_asks_for_the_link(mapp):
    page = mapp.test_client().get(f"/s/{SLUG}")
    assert page.status_code == 403 and "link in your invitation e-mail" in page.text
    start = mapp.test_client().post(f"/s/{SLUG}/start")
    assert start.status_code in (400, 403)
    assert count(mapp, Draft) == 0


def test_forged_token_is_refused(mapp, tmp_path, smtp):  # noqa: F811
    invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    for token in ("A" * 22, "x", "A" * 200):
        page = mapp.test_client().get(f"/i/{token}")
        assert page.status_code == 404 and "This link does not work" in page.text


def test_link_of_a_closed_survey(mapp, tmp_path, smtp):  # noqa: F811
    invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    link = link_in(smtp.handler.messages[0])
    result = mapp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    assert "1 invitee addresses erased" in result.output
    page = mapp.test_client().get(path_of(link))
    assert page.status_code == 410 and "closed" in page.text


def test_survey_closed_while_answering_keeps_the_invitation_unused(mapp, tmp_path, smtp):  # noqa: F811
    invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    client = mapp.test_client()
    client.get(path_of(link_in(smtp.handler.messages[0])))
    r = Respondent(client, SLUG)
    r.start()
    r.answer({"department": "em"})
    mapp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    page = r.answer({"aware": "no"})
    assert page.status_code == 410
    assert count(mapp, Response) == 0
    with mapp.app_context(), new_session() as s:
        assert s.scalars(select(Invitation.answered)).all() == [False]


def test_two_browsers_one_invitation_store_one_response(mapp, tmp_path, smtp):  # noqa: F811
    invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    link = link_in(smtp.handler.messages[0])
    browsers = [mapp.test_client(), mapp.test_client()]
    respondents = []
    for c in browsers:
        assert c.get(path_of(link)).status_code == 302
        r = Respondent(c, SLUG)
        r.start()
        r.answer({"department": "em"})
        respondents.append(r)
    assert "Thank you" in respondents[0].answer({"aware": "no"}).text
    second = respondents[1].answer({"aware": "yes"})
    assert "already been used" in second.text
    assert count(mapp, ParkedAnswer) == 1
    assert mapp.test_cli_runner().invoke(args=["surveys", "close", SLUG]).exit_code == 0  # stores what is parked
    assert count(mapp, Response) == 1
    with mapp.app_context(), new_session() as s:
        assert s.scalars(select(Invitation.answered)).all() == [True]
        assert s.scalars(select(Response.answers)).all()[0]["aware"] == "no"


def test_links_come_from_the_base_url_not_the_host_header(mapp, tmp_path, smtp):  # noqa: F811
    from surveyapp.auth.models import create_user

    with mapp.app_context(), new_session() as s:
        create_user(s, "lead@example.org", "investigator passphrase")
        s.commit()
    from conftest import csrf_from

    client = mapp.test_client()
    headers = {"Host": "evil.example"}
    page = client.get("/auth/login", headers=headers)
    client.post("/auth/login", headers=headers, data={"csrf_token": csrf_from(page.text),
                                                      "email": "lead@example.org",
                                                      "password": "investigator passphrase"})
    page = client.get(f"/admin/s/{SLUG}", headers=headers)
    import io

    client.post(f"/admin/s/{SLUG}/roster", headers=headers, content_type="multipart/form-data",
                data={"csrf_token": csrf_from(page.text),
                      "roster": (io.BytesIO(b"email,department\na@hospital.example,EM\n"), "r.csv")})
    page = client.get(f"/admin/s/{SLUG}", headers=headers)
    client.post(f"/admin/s/{SLUG}/invite", headers=headers, data={"csrf_token": csrf_from(page.text)})
    [msg] = smtp.handler.messages
    assert link_in(msg).startswith("https://survey.example/i/")
    assert "evil.example" not in msg.as_string()


def test_inviting_to_a_closed_or_unknown_survey(mapp, tmp_path):
    assert invite(mapp, None, slug="nope").output.strip().endswith("no survey 'nope' (see 'surveykit surveys list')")
    mapp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    result = invite(mapp, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"))
    assert result.exit_code == 1 and "is closed: it takes no new invitees" in result.output
    assert count(mapp, Invitation) == 0


def test_invitations_not_yet_open(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    later = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    create_survey(app, "later", "invitation", "--opens", later)
    result = invite(app, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"), slug="later")
    assert result.exit_code == 1 and "is not yet open: invitations go out only while it is open" in result.output
    assert smtp.handler.messages == []
    # The roster stays imported and the invitation waits for the opening day.
    result = invite(app, None, slug="later", today=dt.date.today() + dt.timedelta(days=3))
    assert "invitations: 1 sent" in result.output
    app.extensions["surveykit.engine"].dispose()


def test_open_mode_invitations_carry_the_public_link(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app, "public", "open")
    invite(app, write_roster(tmp_path, "email,department\na@hospital.example,EM\n"), slug="public")
    assert link_in(smtp.handler.messages[0]) == "https://survey.example/s/public"
    # Open mode needs no binding: the public address works for anyone.
    assert app.test_client().get("/s/public").status_code == 200
    app.extensions["surveykit.engine"].dispose()
