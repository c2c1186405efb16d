"""A populated site for the web hardening tests: every place a user's text can come from holds marked payloads.

User text enters through an instrument (titles, intros, questions, options), respondents' answers (text and
"Other"), imported answers, coding projects (unit texts and labels, coded sheets with coder and code names),
codebooks (names, definitions, colours), memos and consensus notes, the audit log's "why", e-mail wordings,
rosters, and the address itself (a 404 names what was asked for). Each payload calls ``__xss(n)`` with its own
number, so a browser that runs one says exactly which text escaped. ``build_site`` also returns the pages that
show that text, captured from the app (status, headers and bytes) for a browser to load, and the valid values
(slugs, sections, projects, units, rounds) the request fuzzer starts from.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import auth_helpers
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from coding import applying as Ap
from coding import projects as P
from coding import reconcile as R
from coding import rounds as Rd
from coding.codebook import stored as C
from coding.store import Unit
from surveyapp import db

from conftest import INSTRUMENTS, csrf_from
from respondent import Respondent

# Each breaks out of a different context: element text, an attribute value ("/'), a textarea or title, a
# script block (the show/hide data), and U+2028 that ends a JavaScript string.
VECTORS = (
    "<script>__xss({n})</script>",
    "</title><img src=x onerror=__xss({n})>",
    "<img src=x onerror=__xss({n})>",
    "\"><svg onload=__xss({n})>",
    "'><img src=x onerror=__xss({n})>",
    "</textarea><img src=x onerror=__xss({n})>",
    "</script><script>__xss({n})</script>",
    "<details open ontoggle=__xss({n})>",
    "\u2028\"</script><script>__xss({n})</script>",
)
TITLE_VECTORS = 6  # a survey's title holds 300 characters: the first six vectors fit
MARK_RE = re.compile(r"__xss\((\d+)\)")
INVESTIGATOR = "lead@example.org"
OTHER_CODER = "second@example.org"
PASSWORD = "correct horse battery"


class Payloads:
    """Numbered payloads, each remembered with the place its text was put."""

    def __init__(self) -> None:
        self.places: dict[int, str] = {}

    def text(self, place: str, slash: bool = True, vectors: int = len(VECTORS)) -> str:
        """Return a text for *place* holding the first *vectors* vectors (those without '/' unless *slash*)."""
        parts = []
        for vector in VECTORS[:vectors]:
            if not slash and "/" in vector:
                continue
            number = len(self.places) + 1
            self.places[number] = place
            parts.append(vector.format(n=number))
        return f"{place} " + " ".join(parts)

    def one(self, place: str) -> str:
        """Return a short payload for *place* (one vector without '/'), for fields with tight limits."""
        number = len(self.places) + 1
        self.places[number] = place
        return f"<img src=x onerror=__xss({number})>"


@dataclass
class Captured:
    """A page as the app served it: what a browser is given to load."""

    name: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def marks(self) -> set[int]:
        """Return the payload numbers whose text the page shows (escaped or not)."""
        return {int(n) for n in MARK_RE.findall(self.body.decode("utf-8", "replace"))}


def capture(name: str, response: TestResponse) -> Captured:
    """Return *response* as a captured page called *name*."""
    return Captured(name, response.status_code, list(response.headers.items()), response.get_data())


@dataclass
class Site:
    """What was built: the valid values of every path parameter, and the captured pages."""

    app: Flask
    payloads: Payloads
    slugs: list[str]
    sections: dict[str, list[str]]
    projects: list[str]
    units: list[int]
    rounds: list[int]
    codes: list[int]
    code_paths: list[str]
    questions: dict[str, list[str]]
    choices: dict[str, list[str]]
    pages: list[Captured] = field(default_factory=list)



def probe_instrument(payloads: Payloads) -> dict[str, Any]:
    """Return an instrument whose every text is a payload: three pages, same-page and earlier-page conditions."""
    p = payloads.text
    return {
        "id": "xss-probe", "version": 1, "title": p("instrument title", vectors=TITLE_VECTORS),
        "intro": p("instrument intro"), "consent": p("instrument consent"), "thanks": p("instrument thanks"),
        "sections": [
            {"id": "first", "title": p("section title"), "intro": p("section intro"), "questions": [
                {"id": "story", "type": "text", "long": True, "max_length": 2000, "coding": True,
                 "text": p("question text"), "help": p("question help")},
                {"id": "where", "type": "multiple_choice", "text": p("choice question"), "other": True,
                 "choices": [{"code": "a", "label": p("option label")}, {"code": "b", "label": "Plain"}]},
                {"id": "follow", "type": "text", "text": p("same-page question"),
                 "show_if": {"question": "where", "includes": "a"}},
            ]},
            {"id": "second", "title": p("second title"), "questions": [
                {"id": "rating", "type": "likert", "scale": "quality", "text": p("likert text")},
                {"id": "again", "type": "text", "max_length": 2000, "text": p("second text question"),
                 "show_if": {"question": "story", "answered": True}},
            ]},
            {"id": "third", "title": "Last page", "questions": [
                {"id": "last", "type": "single_choice", "text": "Anything else?", "choices": "yes_no"},
            ]},
        ],
    }


def instruments_folder(folder: Path, payloads: Payloads) -> Path:
    """Copy the shipped instruments into *folder* and add the probe instrument."""
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "xss-probe.yaml").write_text(yaml.safe_dump(probe_instrument(payloads), allow_unicode=True,
                                                          sort_keys=False), encoding="utf-8")
    return folder


def _ok(result: Any) -> None:
    assert result.exit_code == 0, result.output


def log_in(app: Flask, email: str = INVESTIGATOR) -> FlaskClient:
    """Return a test client logged in as *email*."""
    client = app.test_client()
    done = auth_helpers.log_in(client, email, PASSWORD)
    assert done.status_code == 302, done.text
    return client


def _answer_probe(site: Site, client: FlaskClient, n: int, pages: list[Captured] | None = None) -> None:
    """Walk one respondent through the probe survey with payload answers; capture what they are shown."""
    p = site.payloads.text

    def keep(name: str, response: TestResponse) -> None:
        if pages is not None:
            pages.append(capture(name, response))

    who = Respondent(client, "probe")
    keep("respondent: first page", who.start())
    if pages is not None:
        # Too long: the page comes back with the text and the "Other" answer in it (by a GET after a redirect,
        # or at once with 422 when what was typed is too long to ride in the session cookie).
        refused = who.answer({"story": p("refused long answer") + "x" * 2100, "where": ["a", "other"],
                              "where__other": p("refused other answer"), "follow": p("refused follow-up")})
        assert refused.status_code in (200, 422) and 'id="error-summary"' in refused.text, refused.status_code
        keep("respondent: first page refused (422)", refused)
    second = who.answer({"story": p(f"text answer {n}"), "where": ["a", "other"],
                         "where__other": p(f"other answer {n}"), "follow": p(f"follow-up answer {n}")})
    assert second.status_code == 200 and who.section == "second", second.text[:500]
    keep("respondent: second page (earlier answers)", second)
    third = who.answer({"rating": "4", "again": p(f"second page answer {n}")})
    keep("respondent: third page", third)
    if pages is not None:
        keep("respondent: back to the second page", who.answer({}, action="back"))
        who.answer({"rating": "4", "again": p(f"second page answer {n}")})
    done = who.answer({"last": "yes"})
    assert "/thanks" in done.request.path, done.text[:500]
    keep("respondent: thanks", done)


def _import_answers(site: Site, runner: Any, tmp: Path) -> None:
    path = tmp / "import.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["story", "last"])
        for i in range(2):
            out.writerow([site.payloads.text(f"imported answer {i}"), "no"])
    _ok(runner.invoke(args=["import", "probe", str(path)]))


def _coded_sheet(site: Site, runner: Any, tmp: Path) -> None:
    """A coded spreadsheet imported as project 'sheet': payload texts, coder names and code names."""
    p, q = site.payloads.text, site.payloads.one
    path = tmp / "coded.csv"
    coders = [f"coder {q('coder name')}", f"other {q('coder name')}"]
    codes = [f"Code {q('imported code name')}", f"Second {q('imported code name')}"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["unit", "text", "coder", "codes"])
        for i in range(4):
            text = p(f"coded sheet text {i}")
            out.writerow([f"u{i}", text, coders[0], codes[i % 2]])
            out.writerow([f"u{i}", text, coders[1], codes[(i // 2) % 2]])
    _ok(runner.invoke(args=["coding", "import", "sheet", str(path), "--by", INVESTIGATOR]))


def _project(site: Site) -> None:
    """Project 'probe-codes': payload units, codebook, codings with memos, a finished round, a consensus note."""
    p, q = site.payloads.text, site.payloads.one
    with site.app.app_context(), db.new_session() as s:
        project = P.get_project(s, "probe-codes")
        added = P.add_units(s, project, [P.NewUnit(f"import:{i}", p(f"unit text {i}"), label=p(f"unit label {i}"))
                                         for i in range(3)], round_name=q("round name"))
        parent = C.add_code(s, project, None, f"Theme {p('code name', slash=False)}", INVESTIGATOR,
                            why=p("why (add)"), color="#1F77B4", definition=p("code definition"),
                            use_when=p("use when"), not_when=p("not when"), example=p("code example"))
        tree = C.load_tree(s, project.id)
        parent_path = tree.path(parent.id)
        C.add_code(s, project, parent_path, f"Child {q('child code name')}", INVESTIGATOR, why=p("why (child)"))
        from coding import evolution

        evolution.rename(s, project, parent_path, f"Renamed {p('renamed code', slash=False)}", INVESTIGATOR,
                         why=p("why (rename)"))
        tree = C.load_tree(s, project.id)
        ids = [c.id for _, c, _ in tree.walk()]
        units = [u.id for u in added.units] or list(s.scalars(select(Unit.id).where(Unit.project_id == project.id)))
        for i, unit_id in enumerate(units):
            Ap.set_codes(s, project, unit_id, INVESTIGATOR, {ids[0]}, memo=p(f"memo by the lead {i}"))
            Ap.set_codes(s, project, unit_id, OTHER_CODER, {ids[-1]}, memo=p(f"memo by the second coder {i}"))
        rnd = added.round
        assert rnd is not None
        Rd.finish_round(s, rnd, INVESTIGATOR)
        Rd.finish_round(s, rnd, OTHER_CODER)
        R.record_consensus(s, project, units[0], {ids[0]}, p("consensus note"), INVESTIGATOR)
        s.commit()


def build_site(app: Flask, tmp: Path, payloads: Payloads) -> Site:
    """Fill *app*'s empty database (its instruments folder made by ``instruments_folder``) and capture its pages."""
    p = payloads.text
    runner = app.test_cli_runner()
    _ok(runner.invoke(args=["users", "create", INVESTIGATOR, "--name", f"Lead {payloads.one('account name')}",
                            "--password-stdin"], input=PASSWORD + "\n"))
    _ok(runner.invoke(args=["users", "create", OTHER_CODER, "--name", "Second", "--password-stdin"],
                      input=PASSWORD + "\n"))
    _ok(runner.invoke(args=["surveys", "create", "xss-probe", "--id", "probe", "--mode", "open"]))
    _ok(runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept", "--mode", "open",
                            "--title", p("survey title (admin)", vectors=TITLE_VECTORS)]))
    _ok(runner.invoke(args=["surveys", "create", "department-survey", "--id", "invited"]))
    _ok(runner.invoke(args=["studies", "create", "xss-study", "--linkage", "confidential",
                            "--title", p("study title", vectors=TITLE_VECTORS)]))
    _ok(runner.invoke(args=["studies", "add-wave", "xss-study", "dept", "--label", payloads.one("wave label")]))
    site = Site(app, payloads, ["probe", "dept", "invited"], {}, ["probe-codes", "sheet"], [], [], [], [], {}, {})
    with app.app_context(), db.new_session() as s:
        from surveyapp.models import Survey
        from surveyapp.surveys import instrument_of

        for slug in site.slugs:
            inst = instrument_of(s.get(Survey, slug))
            site.sections[slug] = [sec.id for sec in inst.sections]
            site.questions[slug] = [q.id for q in inst.questions]
            for q in inst.questions:
                site.choices[q.id] = [o.code for o in q.choices] + (["other"] if q.other else [])

    for n in range(3):
        _answer_probe(site, app.test_client(), n)
    _import_answers(site, runner, tmp)
    _ok(runner.invoke(args=["coding", "create", "probe-codes", "--survey", "probe", "--question", "story"]))
    _project(site)
    _coded_sheet(site, runner, tmp)

    with app.app_context(), db.new_session() as s:
        for name in site.projects:
            project = P.get_project(s, name)
            site.units += list(s.scalars(select(Unit.id).where(Unit.project_id == project.id).order_by(Unit.id)))
            site.rounds += [r.id for r in Rd.rounds(s, project)]
            tree = C.load_tree(s, project.id)
            site.codes += [c.id for _, c, _ in tree.walk()]
            site.code_paths += [path for path, _, _ in tree.walk()]

    site.pages = capture_pages(site)
    return site


def capture_pages(site: Site) -> list[Captured]:
    """Return the pages that show the payloads, as the app serves them now (call again after changing the app)."""
    app, payloads, p = site.app, site.payloads, site.payloads.text
    pages: list[Captured] = []
    _answer_probe(site, app.test_client(), 9, pages)
    lead = log_in(app)
    home = lead.get("/admin/")
    token = csrf_from(home.text)
    # E-mail wording and a roster with payload rows (the refused rows are listed back).
    lead.post("/admin/s/invited/mail/invitation", data={
        "csrf_token": token, "action": "save", "subject": p("mail subject"),
        "text_body": p("mail text") + " {{ link }}", "html_body": p("mail html") + " {{ link }}"})
    roster = io.BytesIO(("email,department\n" + "\n".join(
        f"{payloads.one('roster address')}@x,{p('roster department')}" for _ in range(2)) + "\n").encode())
    pages.append(capture("admin: roster refused", lead.post("/admin/s/invited/roster", data={
        "csrf_token": token, "roster": (roster, "roster.csv")}, content_type="multipart/form-data")))
    # A coded sheet refused in the browser lists its bad cells back (unit ids and code names are user text).
    text = io.StringIO()
    csv.writer(text).writerows([["unit", "text", "coder", "codes"],
                                *([payloads.one("imported unit id"), "", "", p("imported code", slash=False)]
                                  for _ in range(2))])
    refused = io.BytesIO(text.getvalue().encode())
    pages.append(capture("coding: import refused", lead.post("/coding/probe-codes/import", data={
        "csrf_token": token, "file": (refused, "coded.csv")}, content_type="multipart/form-data")))
    # A refused code name comes back in a flash message.
    lead.post("/coding/probe-codes/codebook/add", data={"csrf_token": token, "name": f"a/b {p('refused code name')}",
                                                        "parent": "", "why": "try"})

    paths = {
        "home": "/", "admin: surveys": "/admin/", "admin: new survey": "/admin/new",
        "admin: mail wording": "/admin/s/invited/mail/invitation",
        "coding: projects": "/coding/", "coding: codebook (flash)": "/coding/probe-codes/codebook",
        "coding: new project": "/coding/new", "coding: new project, questions": "/coding/new?survey=probe",
        "login with next": f"/auth/login?next={payloads.one('next parameter')}",
        "admin: studies": "/admin/studies", "admin: study": "/admin/studies/xss-study",
    }
    for slug in site.slugs:
        paths[f"admin: survey {slug}"] = f"/admin/s/{slug}"
        paths[f"respondent: intro {slug}"] = f"/s/{slug}"
        paths[f"admin: results {slug}"] = f"/admin/s/{slug}/results"
    for name in site.projects:
        paths |= {f"coding {name}: {what}": f"/coding/{name}/{path}" for what, path in (
            ("project", ""), ("codebook", "codebook"), ("changes", "codebook/changes"),
            ("agreement", "agreement"), ("reconcile", "reconcile?decided=1"), ("kwic", "kwic?term=text"),
            ("themes", "themes?among=uncoded"), ("results", "results?rule=any"))}
        with app.app_context(), db.new_session() as s:
            project = P.get_project(s, name)
            units = list(s.scalars(select(Unit).where(Unit.project_id == project.id).order_by(Unit.position)))
            for unit in units[:3]:
                paths[f"coding {name}: code {unit.position}"] = f"/coding/{name}/code?filter=all&pos={unit.position}"
                paths[f"coding {name}: meeting {unit.id}"] = f"/coding/{name}/reconcile/{unit.id}"
    # The shared results page of each survey, behind a share link, seen without logging in.
    for slug in site.slugs:
        made = lead.post(f"/admin/s/{slug}/results/links", data={"csrf_token": token}, follow_redirects=True)
        link = re.search(r"/results/[A-Za-z0-9_-]{43}", made.text)
        assert link, made.text[:300]
        pages.append(capture(f"shared results {slug}", app.test_client().get(link.group(0))))
    paths["404: survey address"] = f"/s/{payloads.one('survey address')}"
    paths["404: project address"] = f"/coding/{payloads.one('project address')}/"
    respondent = app.test_client()
    respondent.get("/s/probe")
    for name, path in paths.items():
        client = respondent if name.startswith(("respondent", "404: survey", "home")) else lead
        pages.append(capture(name, client.get(path)))
    return pages
