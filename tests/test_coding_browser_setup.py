"""Setting a coding project up in the browser: /coding/new, Add new answers, Import, the theme workbook, jobs.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). Answers are stored as responses of the shipped
department survey; units are checked against those stored answers, never against figures written here.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from openpyxl import load_workbook
from sqlalchemy import func, select
from test_coding_cli import add_responses
from test_coding_web import PASSWORD, login

from coding import applying
from coding import projects as P
from coding import rounds as Rd
from coding.codebook import stored as C
from coding.store import Code, Project, ProjectMember, Review, Round, RoundUnit, Unit
from surveyapp import coding_files, db, shutdown
from surveyapp.auth.members import SurveyMember
from surveyapp.auth.models import create_user
from surveyapp.coding_sources import create_from_surveys
from surveyapp.models import Job, Response

from conftest import csrf_from, make_test_app

LEAD, OUTSIDER, CODER_A, CODER_B = "lead@example.org", "out@example.org", "a@example.org", "b@example.org"
SLUG, EMPTY = "dept", "quiet"
ANSWERS = [
    {"department": "surgery", "benefits_text": "Someone listened after the bad night",
     "barriers_text": "No time in the rota", "barriers": ["other"], "barriers.other": "Fear of being seen"},
    {"department": "medicine", "benefits_text": "I slept better", "barriers_text": "Stigma"},
    {"department": "surgery", "benefits_text": "  ", "barriers_text": "Shifts"},  # blank: no unit
    {"department": "icu", "barriers.other": "The parking"},
]


@pytest.fixture
def site(app: Flask) -> Flask:
    return populate(app)


def populate(app: Flask) -> Flask:
    """Open the surveys, store their answers and make the accounts (the lead in both surveys' teams)."""
    runner = app.test_cli_runner()
    for slug in (SLUG, EMPTY):
        result = runner.invoke(args=["surveys", "create", "department-survey", "--id", slug, "--title",
                                     f"Survey {slug}"])
        assert result.exit_code == 0, result.output
    add_responses(app, SLUG, ANSWERS)
    with app.app_context(), db.new_session() as s:
        lead = create_user(s, LEAD, PASSWORD, "Lead", role="investigator")
        create_user(s, OUTSIDER, PASSWORD, "Outsider", role="investigator")
        create_user(s, CODER_A, PASSWORD, "Coder A", role="coder")
        create_user(s, CODER_B, PASSWORD, "Coder B", role="coder")
        for slug in (SLUG, EMPTY):
            s.add(SurveyMember(user_id=lead.id, survey_slug=slug, role="owner"))
        s.commit()
    return app


def token(client: FlaskClient, path: str) -> str:
    return csrf_from(client.get(path).text)


def create(client: FlaskClient, name: str, questions: list[str], survey: str = SLUG):
    return client.post(f"/coding/new?survey={survey}", data={
        "csrf_token": token(client, "/coding/new"), "name": name, "survey": survey, "question": questions})


def units_of(app: Flask, name: str) -> dict[str, str]:
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, name)
        return dict(s.execute(select(Unit.source, Unit.text).where(Unit.project_id == project.id)).tuples().all())


def stored_answers(app: Flask, slug: str, questions: list[str]) -> dict[str, str]:
    """Return source -> text of every non-empty stored answer to *questions* (read from the responses)."""
    with app.app_context(), db.new_session() as s:
        out = {}
        for key, answers in s.execute(select(Response.key, Response.answers).where(Response.survey_slug == slug)):
            for q in questions:
                if isinstance(answers.get(q), str) and answers[q].strip():
                    out[f"survey:{slug}:{q}:{key}"] = answers[q].strip()
        return out


def count(app: Flask, model: type) -> int:
    with app.app_context(), db.new_session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_new_project_holds_exactly_the_answers_to_the_questions_picked(site: Flask) -> None:
    client = login(site, LEAD)
    index = client.get("/coding/")
    assert 'href="/coding/new"' in index.text and "surveykit coding create" in index.text
    first = client.get("/coding/new")
    assert first.status_code == 200 and "Survey dept" in first.text and "Survey quiet" in first.text
    second = client.get(f"/coding/new?survey={SLUG}&name=post")
    # The open-ended texts are offered (the "Other" text of a choice question too); a closed question is not.
    for qid in ("benefits_text", "barriers_text", "suggestions_text", "barriers.other"):
        assert f'value="{qid}"' in second.text, qid
    assert 'value="department"' not in second.text
    response = create(client, "post", ["benefits_text", "barriers.other"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/coding/post/")
    units = units_of(site, "post")
    assert units == stored_answers(site, SLUG, ["benefits_text", "barriers.other"])
    assert len(units) == 4  # two benefits (one blank left out), two "Other" texts
    # Control: the answers of a question not picked are stored, and absent from the project.
    not_picked = stored_answers(site, SLUG, ["barriers_text", "department"])
    assert len(not_picked) == 7 and not set(not_picked) & set(units)
    assert not {"No time in the rota", "surgery"} & set(units.values())
    with site.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        lead = s.scalar(select(ProjectMember.role).where(ProjectMember.project_id == project.id))
        assert lead == "owner" and project.created_by == LEAD
        assert [(src.survey, src.question) for src in project.sources] == [(SLUG, "benefits_text"),
                                                                             (SLUG, "barriers.other")]
        assert [r.name for r in Rd.rounds(s, project)] == ["Round 1"]
    page = client.get("/coding/post/")
    assert "Add new answers" in page.text and "Import a coded spreadsheet" in page.text
    assert "/coding/post/codebook.qdc" in page.text and "/coding/post/themes.xlsx" in page.text


@pytest.mark.parametrize(("name", "questions", "survey", "says"), [
    ("taken", ["benefits_text"], SLUG, "Project &#39;taken&#39; exists already"),
    ("bad name!", ["benefits_text"], SLUG, "use letters, digits"),
    ("", ["benefits_text"], SLUG, "Give the project a name."),
    ("fresh", [], SLUG, "Tick at least one open-ended question"),
    ("fresh", ["department"], SLUG, "not an open-ended text"),
    ("fresh", ["benefits_text"], EMPTY, "No answers to code yet: quiet:benefits_text has no non-empty answer"),
    ("fresh", ["benefits_text"], "no-such-survey", "Choose one of the surveys listed."),
])
def test_a_bad_new_project_is_refused_with_422_and_nothing_created(site: Flask, name: str, questions: list[str],
                                                                    survey: str, says: str) -> None:
    client = login(site, LEAD)
    assert create(client, "taken", ["benefits_text"]).status_code == 302
    before = (count(site, Project), count(site, Unit), count(site, Round), count(site, ProjectMember))
    response = create(client, name, questions, survey)
    assert response.status_code == 422 and says in response.text, response.text
    assert (count(site, Project), count(site, Unit), count(site, Round), count(site, ProjectMember)) == before


def test_a_survey_outside_my_team_cannot_feed_a_project(site: Flask) -> None:
    outsider = login(site, OUTSIDER)
    assert "Survey dept" not in outsider.get("/coding/new").text
    assert "Survey dept" not in outsider.get(f"/coding/new?survey={SLUG}").text
    response = create(outsider, "stolen", ["benefits_text"])
    assert response.status_code == 422 and "Choose one of the surveys listed." in response.text
    assert count(site, Project) == 0 and "Someone listened" not in response.text
    # Control: the same request by a member of the survey's team creates the project.
    assert create(login(site, LEAD), "stolen", ["benefits_text"]).status_code == 302
    assert count(site, Project) == 1


def test_add_new_answers_adds_only_the_new_ones(site: Flask) -> None:
    client = login(site, LEAD)
    create(client, "post", ["benefits_text"])
    before = units_of(site, "post")
    nothing = client.post("/coding/post/units/refresh", data={"csrf_token": token(client, "/coding/post/")},
                          follow_redirects=True)
    assert "No new answers (2 already in the project)." in nothing.text
    add_responses(site, SLUG, [{"benefits_text": "A new voice"}, {"benefits_text": "Another one"},
                               {"barriers_text": "not picked"}])
    added = client.post("/coding/post/units/refresh", data={"csrf_token": token(client, "/coding/post/"),
                                                            "round": "Late answers"}, follow_redirects=True)
    assert "2 new answers added as &#39;Late answers&#39; (2 already in the project)." in added.text
    after = units_of(site, "post")
    assert after == stored_answers(site, SLUG, ["benefits_text"]) and set(before) < set(after)
    assert len(after) == len(set(after)) == 4
    with site.app_context(), db.new_session() as s:
        late = s.scalar(select(Round).where(Round.name == "Late answers"))
        in_round = set(s.scalars(select(Unit.source).join(RoundUnit, RoundUnit.unit_id == Unit.id)
                                 .where(RoundUnit.round_id == late.id)))
    assert in_round == set(after) - set(before)
    # A coder of the project may not top it up.
    _member(site, "post", CODER_A, "coder")
    coder = login(site, CODER_A)
    assert coder.post("/coding/post/units/refresh", data={"csrf_token": token(coder, "/coding/post/")}
                      ).status_code == 404


def _member(app: Flask, name: str, email: str, role: str) -> None:
    from surveyapp.auth.models import User

    with app.app_context(), db.new_session() as s:
        user = s.scalar(select(User).where(User.email == email))
        s.add(ProjectMember(project_id=P.get_project(s, name).id, user_id=user.id, role=role))
        s.commit()


def upload(client: FlaskClient, name: str, body: bytes, filename: str = "coded.csv"):
    return client.post(f"/coding/{name}/import", data={"csrf_token": token(client, f"/coding/{name}/"),
                                                       "file": (io.BytesIO(body), filename)},
                       content_type="multipart/form-data")


BAD = (b"unit,text,coder,codes\n"
       b"u1,First answer,a@example.org,Barriers/Time\n"
       b",No unit here,a@example.org,Barriers\n"                   # line 3: empty unit
       b"u2,Second,b@example.org,Barriers//Time\n"                 # line 4: empty level
       b"u1,First answer,a@example.org,Barriers\n"                 # line 5: coded by a again
       b"u3,,,Costs\n"                                             # line 6: codes without a coder
       b"u4,,b@example.org,Costs\n")                      # line 7: new unit without text


def test_import_lists_every_error_and_keeps_nothing(site: Flask) -> None:
    client = login(site, LEAD)
    create(client, "post", ["benefits_text"])
    before = (count(site, Unit), count(site, Code), count(site, Review), count(site, Round))
    response = upload(client, "post", BAD)
    assert response.status_code == 422
    items = [li.text_content() for li in lxml_html.fromstring(response.text).xpath("//div[@class='error-summary']//li")]
    assert items == [
        "coded.csv:3, column A ('unit'): empty",
        "coded.csv:4, column D ('codes'): empty level in code 'Barriers//Time'",
        "coded.csv:5, column C ('coder'): unit 'u1' coded by 'a@example.org' again (first on line 2)",
        "coded.csv:6, column C ('coder'): codes without a coder",
        "coded.csv:7, column B ('text'): unit 'u4' is new and has no text on any row",
    ]
    assert "nothing was imported" in response.text
    assert (count(site, Unit), count(site, Code), count(site, Review), count(site, Round)) == before
    # Control: the good rows alone import, as a closed round of codings made elsewhere.
    good = b"unit,text,coder,codes\nu1,First answer,a@example.org,Barriers/Time\nu2,Second,b@example.org,Costs\n"
    done = upload(client, "post", good)
    assert done.status_code == 302
    page = client.get("/coding/post/")
    assert "coded.csv: 2 new units, 2 codings by coders (2 codes applied), 3 new codes." in page.text
    assert count(site, Unit) == before[0] + 2 and count(site, Review) == 2
    with site.app_context(), db.new_session() as s:
        imported = s.scalar(select(Round).where(Round.name == "Import coded.csv"))
        assert imported.state == "closed"


def test_import_refuses_an_empty_or_oversized_upload(site: Flask) -> None:
    client = login(site, LEAD)
    create(client, "post", ["benefits_text"])
    none = client.post("/coding/post/import", data={"csrf_token": token(client, "/coding/post/")})
    assert none.status_code == 422 and "Choose a .csv or .xlsx file." in none.text
    csrf = token(client, "/coding/post/")
    site.config["MAX_CONTENT_LENGTH"] = 1000  # SURVEYKIT_MAX_REQUEST_MB, made small
    big = client.post("/coding/post/import", data={"csrf_token": csrf, "file": (
        io.BytesIO(b"unit,text\n" + b"u,x\n" * 400), "big.csv")}, content_type="multipart/form-data")
    assert big.status_code == 413
    assert count(site, Unit) == 2


def code_round(app: Flask, name: str, coder: str, codes: dict[str, list[str]]) -> None:
    """Let *coder* code every unit of the project (text -> code paths), as the coding screen's Save does."""
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, name)
        tree = C.load_tree(s, project.id)
        for unit in s.scalars(select(Unit).where(Unit.project_id == project.id)):
            applying.set_codes(s, project, unit.id, coder, {tree.id_of(p) for p in codes.get(unit.text, [])})
        s.commit()


@pytest.fixture
def coded(site: Flask) -> Iterator[FlaskClient]:
    """Project 'post' from benefits_text with A and B coding its one round; A finished it, B has not."""
    lead = login(site, LEAD)
    create(lead, "post", ["benefits_text", "barriers_text"])
    for email in (CODER_A, CODER_B):
        _member(site, "post", email, "coder")
    with site.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        for path in ("Support", "Support/Listening", "Rest", "Secret"):
            parent, _, leaf = path.rpartition("/")
            C.add_code(s, project, parent or None, leaf, LEAD)
        s.commit()
    code_round(site, "post", CODER_A, {"Someone listened after the bad night": ["Support/Listening", "Secret"],
                                       "I slept better": ["Rest", "Secret"], "Stigma": ["Secret"]})
    yield lead


def finish(client: FlaskClient, round_id: int):
    return client.post(f"/coding/post/rounds/{round_id}/finish",
                       data={"csrf_token": token(client, "/coding/post/")}, follow_redirects=True)


def round_id(app: Flask) -> int:
    with app.app_context(), db.new_session() as s:
        return s.scalar(select(Round.id).where(Round.name == "Round 1"))


def test_coders_code_and_finish_a_round_in_the_browser(site: Flask, coded: FlaskClient) -> None:
    b = login(site, CODER_B)
    refused = finish(b, round_id(site))
    assert "unit(s) not coded by b@example.org yet" in refused.text
    code_round(site, "post", CODER_B, {"I slept better": ["Rest"]})
    done = finish(b, round_id(site))
    assert "You finished &#39;Round 1&#39;" in done.text
    page = b.get("/coding/post/")
    # B codes, does not manage; the progress table names coders by display name, never by address.
    assert " (you)</td>" in page.text and "b@example.org (you)" not in page.text
    assert "Add new answers" not in page.text
    with site.app_context(), db.new_session() as s:
        progress = {p["coder"]: (p["reviewed"], p["total"], p["finished"])
                    for p in Rd.round_progress(s, Rd.get_round(s, P.get_project(s, "post"), "Round 1"))}
    assert progress == {CODER_A: (5, 5, False), CODER_B: (5, 5, True)}


def results_counts(client: FlaskClient) -> dict[str, str]:
    page = lxml_html.fromstring(client.get("/coding/post/results").text)
    out = {}
    for row in page.xpath("//section//tbody/tr"):
        name = row.xpath("./th")[0].text.strip()
        out[name] = row.xpath("./td")[0].text_content().strip()
    return out


def download(client: FlaskClient, path: str) -> bytes:
    response = client.get(path)
    try:
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), response.text
        return response.data
    finally:
        response.close()  # the file is streamed from an open handle


def theme_column(rows: list[list], header: str) -> dict[str, object]:
    """Return theme -> its cell under *header*, from every theme table among a workbook's *rows*."""
    out = {}
    for i, row in enumerate(rows):
        if row and row[0] == "Theme":
            column = row.index(header)
            for theme in rows[i + 1:]:
                if not theme:  # the sheet's end
                    break
                out[str(theme[0]).strip()] = theme[column]
    return out


def read_book(body: bytes) -> tuple[list[str], list[list]]:
    """Return a workbook's sheet names and every row of every sheet (one list: a theme table ends its sheet)."""
    book = load_workbook(io.BytesIO(body), read_only=True)
    try:
        rows: list[list] = []
        for ws in book.worksheets:
            rows += [list(r) for r in ws.iter_rows(values_only=True)] + [[]]
        return list(book.sheetnames), rows
    finally:
        book.close()


def workbook_counts(body: bytes) -> tuple[dict[str, object], list[str], list[list]]:
    sheets, rows = read_book(body)
    return theme_column(rows, "Units n (%) of coded units"), sheets, rows


def test_theme_workbook_counts_equal_the_results_page(site: Flask, coded: FlaskClient) -> None:
    code_round(site, "post", CODER_B, {"I slept better": ["Rest"], "Stigma": ["Secret"]})
    a = login(site, CODER_A)
    counts, sheets, _ = workbook_counts(download(a, "/coding/post/themes.xlsx"))
    shown = results_counts(a)
    assert counts == shown and shown  # same themes, same "n (%) of N" text
    assert {"Listening", "Rest", "Secret"} <= set(shown)  # "Support" is a domain: a heading, not a row
    assert "Matrix Coder A" in sheets
    # The lead (an owner who codes nothing) sees the same counts in both places too.
    lead_counts, _, _ = workbook_counts(download(coded, "/coding/post/themes.xlsx"))
    assert lead_counts == results_counts(coded)


def test_a_coder_who_has_not_finished_gets_no_other_codes_from_the_download(site: Flask, coded: FlaskClient) -> None:
    code_round(site, "post", CODER_B, {"I slept better": ["Rest"]})
    b = login(site, CODER_B)
    # The attack: B asks for the rule that counts any coder's code, which would show A's "Secret" on 3 units.
    body = download(b, "/coding/post/themes.xlsx?rule=any")
    counts, sheets, cells = workbook_counts(body)
    assert "Matrix Coder A" not in sheets and "Matrix Coder B" in sheets
    assert all(str(n).startswith("0 ") for n in counts.values()), counts  # no theme counted: nothing revealed
    assert not any(isinstance(c, str) and "Secret" in c and "1" in c for row in cells for c in row if c != "Secret")
    assert counts == results_counts(b)
    # Control: once B finishes the round, A's codes are in B's download (and A's matrix with them).
    finish(b, round_id(site))
    counts, sheets, _ = workbook_counts(download(b, "/coding/post/themes.xlsx?rule=any"))
    assert "Matrix Coder A" in sheets and counts["Secret"].startswith("3 ("), counts


def awaiting_rereview(body: bytes) -> dict[str, object]:
    return theme_column(read_book(body)[1], "Units awaiting re-review")


def test_another_coders_re_review_is_not_counted_before_the_round_is_finished(site: Flask, coded: FlaskClient) -> None:
    from coding.store import Rereview

    code_round(site, "post", CODER_B, {"I slept better": ["Rest"]})
    with site.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        tree = C.load_tree(s, project.id)
        unit = s.scalar(select(Unit).where(Unit.text == "Stigma"))
        # A's "Secret" on a unit waits for A's re-review (as after a split): it names a code A applied.
        s.add(Rereview(project_id=project.id, unit_id=unit.id, coder=CODER_A, code_id=tree.id_of("Secret"),
                       targets=[], version=1))
        s.commit()
    b = login(site, CODER_B)
    assert awaiting_rereview(download(b, "/coding/post/themes.xlsx"))["Secret"] == 0
    assert ">1</td>" not in b.get("/coding/post/results").text
    # Control: once the round is finished, the same re-review is counted for B, on the page and in the file.
    finish(b, round_id(site))
    assert awaiting_rereview(download(b, "/coding/post/themes.xlsx"))["Secret"] == 1
    assert ">1</td>" in b.get("/coding/post/results").text


def wait_for(app: Flask, job_id: int) -> Job:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with app.app_context(), db.new_session() as s:
            job = s.get(Job, job_id)
            if job.state in ("done", "failed"):
                s.expunge(job)
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def test_big_workbook_and_import_run_as_jobs_for_the_one_who_asked(site: Flask, coded: FlaskClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from surveyapp.coding_web import setup_routes

    monkeypatch.setattr(setup_routes, "INLINE_UNITS", 1)
    monkeypatch.setattr(setup_routes, "INLINE_BYTES", 10)
    a = login(site, CODER_A)
    asked = a.get("/coding/post/themes.xlsx")
    assert asked.status_code == 302 and "/coding/post/jobs/" in asked.headers["Location"]
    job_id = int(asked.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    job = wait_for(site, job_id)
    assert job.state == "done", job.error
    page = a.get(f"/coding/post/jobs/{job_id}")
    assert page.status_code == 200 and f"/coding/post/jobs/{job_id}/file" in page.text
    assert workbook_counts(download(a, f"/coding/post/jobs/{job_id}/file"))[0] == results_counts(a)
    # Another coder of the project gets neither the page nor the file of A's workbook (it holds A's view).
    b = login(site, CODER_B)
    assert b.get(f"/coding/post/jobs/{job_id}").status_code == 404
    assert b.get(f"/coding/post/jobs/{job_id}/file").status_code == 404
    # An import bigger than the inline limit is a job too; its errors are listed on its page, nothing kept.
    before = count(site, Unit)
    sent = upload(coded, "post", BAD)
    assert sent.status_code == 302
    import_id = int(sent.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert wait_for(site, import_id).state == "done"
    listed = coded.get(f"/coding/post/jobs/{import_id}")
    assert "5 problems in coded.csv; nothing was imported" in listed.text and "coded.csv:7, column B" in listed.text
    assert count(site, Unit) == before
    assert not list(coding_files.folder(site).glob("upload-*"))  # the upload is deleted once read


# The new pages in headless Chromium under gunicorn: axe-core finds nothing at 320 and 1280 px, nothing is wider
# than the viewport, nothing breaks the Content-Security-Policy. JavaScript stays on as the site serves it; every
# step is a plain form (the two-step new-project form works without it).

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """Serve a survey with answers, and a project made from it, under gunicorn; yield the base URL."""
    from servers import gunicorn

    url = f"sqlite:///{tmp_path / 'coding.sqlite3'}"
    app = make_test_app(url, tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["surveys", "create", "department-survey", "--id", SLUG,
                                                    "--title", "Survey dept"])
        assert result.exit_code == 0, result.output
        add_responses(app, SLUG, ANSWERS)
        with app.app_context(), db.new_session() as s:
            lead = create_user(s, LEAD, PASSWORD, "Lead", role="investigator")
            s.add(SurveyMember(user_id=lead.id, survey_slug=SLUG, role="owner"))
            project, _ = create_from_surveys(s, "post", [(SLUG, "benefits_text")], LEAD)
            s.add(ProjectMember(project_id=project.id, user_id=lead.id, role="owner"))
            done = coding_files.new_file(app, "themes", ".xlsx")
            done.write_bytes(b"PK")
            s.add_all([
                Job(name="coding.import", ref=str(project.id), arguments={"project_id": project.id, "who": LEAD,
                                                                          "filename": "coded.csv", "path": "x"},
                    state="done", result={"errors": ["coded.csv:3, column A ('unit'): empty"] * 3}),
                Job(name="coding.workbook", ref="k", arguments={"project_id": project.id, "viewer": LEAD,
                                                                "rule": "majority", "job_key": "k", "file": str(done)},
                    state="running", started_at=dt.datetime(2026, 1, 1, 9, 0), result={"step": "writing sheet 'Rest'"}),
                Job(name="coding.workbook", ref="k", arguments={"project_id": project.id, "viewer": LEAD,
                                                                "rule": "majority", "job_key": "k", "file": str(done)},
                    state="done", result={"file": done.name, "sheets": 7}),
            ])
            s.commit()
        env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test"}
        with gunicorn(env, tmp_path) as server:
            yield server.base
    finally:
        app.extensions["surveykit.engine"].dispose()


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                    reason="browser tests need Debian's chromium and chromium-driver")
@pytest.mark.parametrize("width", [320, 1280])
def test_the_new_pages_fit_the_screen_and_pass_axe(served: str, tmp_path: Path, width: int) -> None:
    from phone_browser import WIDE, axe_violations
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from test_results_browser import driver_at

    base = served
    driver = driver_at(tmp_path, width)
    checked: list[str] = []

    def check(what: str) -> None:
        assert driver.execute_script("return document.documentElement.clientWidth") == width
        assert driver.execute_script(WIDE) == [], what
        assert driver.execute_script("return window.__csp") == [], what
        assert axe_violations(driver) == [], what
        checked.append(what)

    try:
        driver.get(f"{base}/auth/login?next=/coding/")
        driver.find_element(By.NAME, "email").send_keys(LEAD)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: d.title.startswith("Coding projects"))
        check("index")
        driver.find_element(By.LINK_TEXT, "New project").click()
        check("new: step 1")
        driver.find_element(By.ID, "name").send_keys("browser-made")
        driver.find_element(By.CSS_SELECTOR, "input[name=survey]").click()
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: "Step 2 of 2" in d.page_source)
        check("new: step 2")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()  # no question ticked
        WebDriverWait(driver, 20).until(lambda d: "Tick at least one" in d.page_source)
        check("new: refused")
        driver.find_element(By.CSS_SELECTOR, "input[value=benefits_text]").click()
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: d.title.startswith("browser-made"))
        assert "2 answers to code" in driver.page_source
        check("project page")
        bad = tmp_path / "bad.csv"
        bad.write_bytes(BAD)
        driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(bad))
        driver.find_element(By.XPATH, "//button[text()='Import a coded spreadsheet']").click()
        WebDriverWait(driver, 20).until(lambda d: d.title.startswith("Spreadsheet not imported"))
        check("import refused")
        for job_id in (1, 2, 3):
            driver.get(f"{base}/coding/post/jobs/{job_id}")
            check(f"job {job_id}")
    finally:
        driver.quit()
    assert len(checked) == 9


def test_with_a_broker_the_import_and_workbook_jobs_run_in_surveykit_worker(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_scale_out import BROKER, _redis_answers, worker

    from surveyapp.coding_web import setup_routes

    if database_url.startswith("sqlite"):
        pytest.skip("the worker is another process: it shares the database on PostgreSQL")
    if not _redis_answers():
        pytest.skip(f"needs the Redis broker at {BROKER} (set SURVEYKIT_TEST_BROKER_URL)")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_BROKER_URL=BROKER)
    try:
        populate(app)
        monkeypatch.setattr(setup_routes, "INLINE_UNITS", 1)
        monkeypatch.setattr(setup_routes, "INLINE_BYTES", 10)
        lead = login(app, LEAD)
        create(lead, "post", ["benefits_text", "barriers_text"])
        env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
               "SURVEYKIT_BROKER_URL": BROKER}
        with worker(env, tmp_path / "worker") as log:
            sent = upload(lead, "post", b"unit,text,coder,codes\nu1,Imported,a@example.org,Rest\n")
            import_id = int(sent.headers["Location"].rsplit("/", 1)[1])
            assert wait_for(app, import_id).state == "done"
            assert "1 new units, 1 codings by coders" in lead.get(f"/coding/post/jobs/{import_id}").text
            asked = lead.get("/coding/post/themes.xlsx")
            book_id = int(asked.headers["Location"].rsplit("/", 1)[1])
            assert wait_for(app, book_id).state == "done"
            counts, _, _ = workbook_counts(download(lead, f"/coding/post/jobs/{book_id}/file"))
            assert counts == results_counts(lead) and counts["Rest"].startswith("1 (")
            ran = log.read_text(encoding="utf-8", errors="replace")
        assert ran.count("surveykit.run") >= 2  # both ran in the worker, not in this process
        assert count(app, Unit) == 6
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()
