"""The reviewers' pages at /coding: login, blind coding, escaping, codebook editor, agreement, reconciliation."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import event, select

from coding import blindness as Bl
from coding import codings as Cg
from coding import projects as P
from coding import reconcile as R
from coding.codebook import stored as C
from coding.store import Application, Unit
from surveyapp import db
from surveyapp.auth.models import create_user

from conftest import CODEBOOK_XSD, csrf_from

A, B = "a@example.org", "b@example.org"
PASSWORD = "correct horse battery"
DATA = Path(__file__).parent / "data" / "coding"


@pytest.fixture
def accounts(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        create_user(s, A, PASSWORD, "Coder A")
        create_user(s, B, PASSWORD, "Coder B")
        s.commit()


def login(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": email,
                                                "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def setup_project(app: Flask, texts: list[str]) -> dict[str, int]:
    """Create project 'post' with the given unit texts and a small codebook; return code ids by path."""
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "post", A)
        P.add_units(s, project, [P.NewUnit(f"import:{i:05d}", t, label=f"u{i}") for i, t in enumerate(texts)])
        for parent, name in [(None, "Effectiveness"), ("Effectiveness", "Perspective"), (None, "Barriers"),
                             ("Barriers", "Time")]:
            C.add_code(s, project, parent, name, A)
        s.commit()
        return dict(C.load_tree(s, project.id).ids)


def unit_ids(app: Flask) -> list[int]:
    with app.app_context(), db.new_session() as s:
        return list(s.scalars(select(Unit.id).order_by(Unit.position)))


def save(client: FlaskClient, unit_id: int, codes: list[int], memo: str = "", go: str = "stay", **extra: str):
    page = client.get("/coding/post/code?pos=0&filter=all")
    return client.post(f"/coding/post/code/{unit_id}", data={"csrf_token": csrf_from(page.text), "code": codes,
                                                             "memo": memo, "go": go, **extra})


def test_pages_need_a_login(app: Flask, client: FlaskClient) -> None:
    for path in ("/coding/", "/coding/post/", "/coding/post/code", "/coding/post/codebook",
                 "/coding/post/agreement", "/coding/post/reconcile"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


def test_coder_b_cannot_see_a_codes_before_finishing_the_round(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["First answer", "Second answer"])
    first, second = unit_ids(app)
    a, b = login(app, A), login(app, B)
    assert save(a, first, [ids["Barriers/Time"]], memo="A thinks: workload").status_code == 302
    save(a, second, [ids["Barriers/Time"]])

    page = b.get("/coding/post/code?pos=1")
    assert "First answer" in page.text
    assert "A thinks: workload" not in page.text and A not in page.text
    assert f'value="{ids["Barriers/Time"]}" data-key="4" checked' not in page.text
    assert "Other coders' codes are hidden until you finish the round" in page.text
    assert b.get(f"/coding/post/reconcile/{first}").status_code == 403
    assert "Nothing to reconcile" in b.get("/coding/post/reconcile").text
    assert "No unit visible to you" in b.get("/coding/post/agreement").text
    assert b.get(f"/coding/post/code?filter=code&with_code={ids['Barriers/Time']}").text.count("No unit matches") == 1

    save(b, first, [ids["Effectiveness/Perspective"]], memo="B: felt understood")
    save(b, second, [ids["Barriers/Time"]])
    overview = b.get("/coding/post/")
    finish = b.post("/coding/post/rounds/1/finish", data={"csrf_token": csrf_from(overview.text)},
                    follow_redirects=True)
    assert "You finished" in finish.text

    page = b.get("/coding/post/code?pos=1")
    # The other coder is shown by display name, never by address.
    assert "A thinks: workload" in page.text and "Coder A" in page.text and "frozen" in page.text
    meeting = b.get(f"/coding/post/reconcile/{first}")
    assert meeting.status_code == 200 and "B: felt understood" in meeting.text
    assert "u0" in b.get("/coding/post/reconcile").text
    assert "Krippendorff" in b.get("/coding/post/agreement").text
    # A has not finished: still blind to B.
    assert "B: felt understood" not in a.get("/coding/post/code?pos=1").text
    assert a.get(f"/coding/post/reconcile/{first}").status_code == 403
    # B's codes are frozen now.
    refused = save(b, first, [], go="stay")
    assert "frozen" in b.get(refused.headers["Location"]).text


def test_user_text_is_escaped(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["<script>alert('unit')</script> & more"])
    (unit,) = unit_ids(app)
    client = login(app, A)
    page = client.get("/coding/post/codebook")
    add = client.post("/coding/post/codebook/add", data={"csrf_token": csrf_from(page.text), "parent": "",
                                                         "name": "<b>bold", "definition": "<img src=x>",
                                                         "why": "<i>why</i>"})
    assert add.status_code == 302
    save(client, unit, [ids["Barriers/Time"]], memo="<script>alert('memo')</script>")
    for path in ("/coding/post/code?pos=0", "/coding/post/codebook"):
        html = client.get(path).text
        assert "<script>alert(" not in html and "<b>bold" not in html and "<img src=x>" not in html
        assert "<i>why</i>" not in html
    html = client.get("/coding/post/code?pos=0").text
    assert "&lt;script&gt;alert(&#39;unit&#39;)&lt;/script&gt; &amp; more" in html
    assert "&lt;script&gt;alert(&#39;memo&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold" in html


def test_posts_need_a_csrf_token(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["x"])
    (unit,) = unit_ids(app)
    client = login(app, A)
    response = client.post(f"/coding/post/code/{unit}", data={"code": [ids["Barriers/Time"]], "go": "stay"})
    assert response.status_code == 400
    with app.app_context(), db.new_session() as s:
        assert P.project_stats(s, P.get_project(s, "post"))["reviews"] == 0


def test_save_and_next_walks_the_uncoded_units(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["one", "two", "three"])
    first, second, third = unit_ids(app)
    client = login(app, A)
    page = client.get("/coding/post/code?filter=uncoded")
    assert "one" in page.text and "Unit 1 of 3" in page.text
    response = client.post(f"/coding/post/code/{first}", data={
        "csrf_token": csrf_from(page.text), "code": [ids["Barriers/Time"]], "quote": [ids["Barriers/Time"]],
        "memo": "m", "go": "next", "filter": "uncoded"})
    page = client.get(response.headers["Location"])
    assert "two" in page.text and "Unit 1 of 2" in page.text
    assert client.get("/coding/post/code?filter=uncoded&pos=3&dir=next", follow_redirects=True).text.count(
        "No more units") == 1
    with app.app_context(), db.new_session() as s:
        view = Bl.visible_reviews(s, first, A)[A]
        assert view.codes == {ids["Barriers/Time"]: True} and view.memo == "m"


def test_codebook_editor_evolves_and_exchanges(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["one"])
    (unit,) = unit_ids(app)
    client = login(app, A)
    save(client, unit, [ids["Effectiveness/Perspective"]])
    token = csrf_from(client.get("/coding/post/codebook").text)
    evolve = "/coding/post/codebook/evolve"
    r = client.post(evolve, data={"csrf_token": token, "action": "merge", "code": "Effectiveness/Perspective",
                                  "target": "Barriers/Time", "why": "same idea"}, follow_redirects=True)
    assert "1 applications moved" in r.text
    r = client.post(evolve, data={"csrf_token": token, "action": "split", "code": "Barriers/Time",
                                  "parts": "Scheduling; Workload", "why": "two ideas"}, follow_redirects=True)
    assert "1 applications queued for re-review" in r.text
    r = client.post(evolve, data={"csrf_token": token, "action": "rename", "code": "Barriers",
                                  "new_name": "Barriers", "why": ""}, follow_redirects=True)
    assert "Say why" in r.text
    page = client.get("/coding/post/code?filter=rereview")
    assert "Which of the new codes apply?" in page.text
    entry = re.search(r'/coding/post/rereview/(\d+)', page.text).group(1)
    target = re.search(r'name="target" value="(\d+)"', page.text).group(1)
    client.post(f"/coding/post/rereview/{entry}", data={"csrf_token": csrf_from(page.text), "target": [target]})
    with app.app_context(), db.new_session() as s:
        codes = Cg.codings(s, P.get_project(s, "post"))
        assert codes == {"u0": {A: frozenset({"Barriers/Scheduling"})}}
    qdc = client.get("/coding/post/codebook.qdc")
    assert qdc.status_code == 200
    etree.XMLSchema(etree.parse(str(CODEBOOK_XSD))).assertValid(etree.fromstring(qdc.data))
    assert "Scheduling" in client.get("/coding/post/codebook.yaml").text
    upload = client.post("/coding/post/codebook/import", data={
        "csrf_token": token, "why": "the study codebook",
        "file": (io.BytesIO((DATA / "codebook.yaml").read_bytes()), "codebook.yaml")},
        content_type="multipart/form-data", follow_redirects=True)
    # Matched by path: Effectiveness, Barriers and the split (retired) Barriers/Time, which the file restores.
    assert "codebook.yaml: 4 codes added, 3 updated, 0 unchanged" in upload.text
    changes = client.get("/coding/post/codebook/changes?from=4&to=7")
    assert "Effectiveness/Perspective" in changes.text and "same idea" in changes.text


def test_adding_and_editing_a_code_keeps_every_field_and_the_reason(app: Flask, accounts: None) -> None:
    setup_project(app, ["one"])
    client = login(app, A)
    token = csrf_from(client.get("/coding/post/codebook").text)
    added = client.post("/coding/post/codebook/add", data={
        "csrf_token": token, "parent": "", "name": "Stigma", "definition": "Fear of being judged",
        "use_when": "names judgement", "not_when": "privacy only", "example": "they would think less of me",
        "color": "#aa3377", "why": "seen in round 1"})
    assert added.status_code == 302
    edited = client.post("/coding/post/codebook/edit", data={
        "csrf_token": token, "code": "Stigma", "definition": "Fear of colleagues' judgement",
        "use_when": "names judgement", "not_when": "privacy only", "example": "they would think less of me",
        "color": "#4477aa", "why": "meeting 2"})
    assert edited.status_code == 302
    with app.app_context(), db.new_session() as s:
        tree = C.load_tree(s, P.get_project(s, "post").id)
        code = tree.codes[tree.id_of("Stigma")]
        assert (code.definition, code.use_when, code.not_when, code.example, code.color) == (
            "Fear of colleagues' judgement", "names judgement", "privacy only", "they would think less of me",
            "#4477aa")
    changes = client.get("/coding/post/codebook/changes").text
    assert "seen in round 1" in changes and "meeting 2" in changes


def test_reconciliation_records_consensus(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["one", "two"])
    first, second = unit_ids(app)
    a, b = login(app, A), login(app, B)
    save(a, first, [ids["Barriers/Time"]], memo="A memo")
    save(a, second, [ids["Barriers/Time"]])
    save(b, first, [ids["Effectiveness/Perspective"], ids["Barriers/Time"]], memo="B memo")
    save(b, second, [ids["Barriers/Time"]])
    for client in (a, b):
        client.post("/coding/post/rounds/1/finish", data={"csrf_token": csrf_from(client.get("/coding/post/").text)})
    queue = a.get("/coding/post/reconcile").text.split('<main id="main"')[1]  # a CSRF token may hold "u1"
    assert "u0" in queue and "u1" not in queue
    meeting = a.get(f"/coding/post/reconcile/{first}")
    assert "A memo" in meeting.text and "B memo" in meeting.text
    both = [ids["Barriers/Time"], ids["Effectiveness/Perspective"]]
    r = a.post(f"/coding/post/reconcile/{first}", data={"csrf_token": csrf_from(meeting.text), "code": both,
                                                        "quote": [ids["Effectiveness/Perspective"]],
                                                        "note": "B is right", "go": "stay"}, follow_redirects=True)
    assert "Consensus recorded" in r.text and "Recorded by Coder A" in r.text  # by display name, not address
    with app.app_context(), db.new_session() as s:
        final = R.final_codes(s, P.get_project(s, "post"))
        assert final.codes[first] == {ids["Barriers/Time"], ids["Effectiveness/Perspective"]}
        assert final.via == {first: "consensus", second: "agreed"}
    assert "Nothing to reconcile" in a.get("/coding/post/reconcile").text


def test_coding_screen_loads_one_unit_whatever_the_project_size(app: Flask, accounts: None) -> None:
    setup_project(app, [f"answer {i}" for i in range(3000)])
    client = login(app, A)
    loaded: list[int] = []
    listener = lambda target, _context: loaded.append(target.id)  # noqa: E731
    event.listen(Unit, "load", listener)
    try:
        for url in ("/coding/post/code?pos=1500", "/coding/post/code?pos=1500&dir=next",
                    "/coding/post/code?filter=uncoded&pos=2999", "/coding/post/code?filter=disputed"):
            loaded.clear()
            page = client.get(url)
            assert page.status_code == 200
            assert len(loaded) <= 1, url
        assert "Unit 1501 of 3000" in client.get("/coding/post/code?pos=1500&dir=next").text
    finally:
        event.remove(Unit, "load", listener)


def test_saving_under_a_code_filter_applies_only_the_ticked_codes(app: Flask, accounts: None) -> None:
    ids = setup_project(app, ["First answer", "Second answer"])
    first, _ = unit_ids(app)
    a = login(app, A)
    save(a, first, [ids["Barriers/Time"]])
    # The filter's code rides along with the form; it must not be taken for a ticked code.
    page = a.get(f"/coding/post/code?pos=0&filter=code&with_code={ids['Barriers/Time']}")
    form = page.text[page.text.index('id="coding-form"'):]
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form[:form.index("</form>")])
    data: dict[str, list[str]] = {}
    for key, value in hidden:  # everything the browser would send along, as the page wrote it
        data.setdefault(key, []).append(value)
    data.setdefault("code", []).append(str(ids["Effectiveness/Perspective"]))
    response = a.post(f"/coding/post/code/{first}", data={**data, "csrf_token": csrf_from(form), "go": "stay"})
    assert response.status_code == 302 and f"with_code={ids['Barriers/Time']}" in response.headers["Location"]
    with app.app_context(), db.new_session() as s:
        applied = set(s.scalars(select(Application.code_id).where(Application.unit_id == first,
                                                                   Application.coder == A)))
    assert applied == {ids["Effectiveness/Perspective"]}
