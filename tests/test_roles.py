"""Every route of the URL map × every role × member or not of the survey and project: the declared answer.

The table below names every endpoint's access rule. A route added to the app without a line here fails
``test_every_route_is_in_the_table``; a view whose decorator says another rule than the table fails too. The
matrix then asks each route (GET, and POST where the route has it) as each account and as a visitor, and checks
the status the rule gives, and that no response to someone outside the survey's team (or the project's) holds the
survey's title or an answer's text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from survey_setup import marker_instruments, store
from werkzeug.exceptions import MethodNotAllowed

from coding import projects as P
from coding import rounds as Rd
from coding.codebook import stored as C
from coding.store import ProjectMember, Rereview, Unit
from surveyapp import db, shutdown
from surveyapp.auth.members import SurveyMember
from surveyapp.auth.models import User, create_user
from surveyapp.models import ResultsLink, Survey
from surveyapp.results.links import create_link
from surveyapp.studies import store as St

from conftest import make_test_app

SLUG, PROJECT = "team-survey", "team-project"
TITLE = "Zebra Crossing Wellbeing Survey"
ANSWER = "the quokka rota left me exhausted every winter"
PASSWORD = "correct horse battery"

# endpoint -> access rule. Rules of surveyapp/auth/access.py by name; "public" (respondents, static files),
# "auth" (log-in pages; their answers are in AUTH below).
TABLE: dict[str, str] = {
    "pages.home": "public", "favicon": "public", "static": "public",
    "respond.intro": "public", "respond.page": "public", "respond.submit_page": "public", "respond.start": "public",
    "respond.thanks": "public", "invite_links.follow": "public", "test_links.follow": "public",
    "auth.login": "auth", "auth.logout": "auth", "auth.set_password": "auth", "auth.setup": "auth",
    "admin.surveys": "survey_list", "admin.new_survey": "survey_create",
    "admin.survey": "survey_view",
    "admin.close": "survey_edit", "admin.reopen": "survey_edit", "admin.upload_roster": "survey_edit",
    "admin.invite": "survey_edit", "admin.remind": "survey_edit", "admin.mail_template": "survey_edit",
    "admin.close_confirm": "survey_edit", "admin.remind_now": "survey_edit", "admin.test_link": "survey_edit",
    "admin.delete_tests": "survey_edit",
    "admin.mail_preview": "survey_edit", "admin.mail_test": "survey_edit",
    "admin.add_survey_member": "survey_members", "admin.remove_survey_member": "survey_members",
    "downloads.survey_xlsx": "survey_export", "downloads.survey_csv": "survey_export",
    "admin.users": "accounts", "admin.invite_account": "accounts", "admin.resend_link": "accounts",
    "admin.change_role": "accounts", "admin.change_state": "accounts",
    "coding.index": "project_list", "coding.new_project": "project_create",
    "coding.refresh": "project_manage", "coding.import_codes": "project_manage",
    "coding.themes_workbook": "project_code", "coding.job": "project_code", "coding.job_file": "project_code",
    "coding.project": "project_code", "coding.code": "project_code", "coding.save_codes": "project_code",
    "coding.round_action": "project_code", "coding.rereview": "project_code", "coding.agreement": "project_code",
    "coding.reconcile_queue": "project_code", "coding.meeting": "project_code", "coding.codebook": "project_code",
    "coding.codebook_download": "project_code", "coding.codebook_changes": "project_code",
    "coding.themes": "project_code", "coding.kwic_page": "project_code",
    "coding.assist_accept": "project_code", "coding.assist_reject": "project_code",
    "coding.codebook_add": "project_manage", "coding.codebook_edit": "project_manage",
    "coding.codebook_evolve": "project_manage", "coding.codebook_import": "project_manage",
    "coding.assist_settings": "project_manage",
    "coding.add_member": "project_members", "coding.remove_member": "project_members",
    "results.survey_results": "survey_results", "results.new_link": "survey_edit", "results.revoke": "survey_edit",
    "results.shared": "public", "coding.results": "project_code",
    "studies.index": "survey_list", "studies.study": "study_view",
    "instruments.index": "instruments", "instruments.new": "instruments", "instruments.edit": "instruments",
    "instruments.save": "instruments", "instruments.preview_text": "instruments",
    "instruments.preview_current": "instruments",
}

# Who each rule lets in: (role, member of the survey and project?) -> allowed. Members: an investigator owns
# both; a coder codes in the project; a viewer is in the survey's team.
ROLES = [("admin", False), ("investigator", True), ("investigator", False), ("coder", True), ("coder", False),
         ("viewer", True), ("viewer", False)]
ALLOWED: dict[str, set[tuple[str, bool]]] = {
    "accounts": {("admin", False)},
    "survey_list": {("admin", False), ("investigator", True), ("investigator", False)},
    "survey_create": {("admin", False), ("investigator", True), ("investigator", False)},
    "instruments": {("admin", False), ("investigator", True), ("investigator", False)},
    "survey_view": {("admin", False), ("investigator", True)},
    "study_view": {("admin", False), ("investigator", True)},
    "survey_edit": {("admin", False), ("investigator", True)},
    "survey_export": {("admin", False), ("investigator", True)},
    "survey_members": {("admin", False), ("investigator", True)},
    # The results pages (their routes come with the results work) add one line each to TABLE.
    "survey_results": {("admin", False), ("investigator", True), ("viewer", True)},
    "project_list": {("admin", False), ("investigator", True), ("investigator", False), ("coder", True),
                     ("coder", False)},
    "project_create": {("admin", False), ("investigator", True), ("investigator", False)},
    "project_code": {("admin", False), ("investigator", True), ("coder", True)},
    "project_manage": {("admin", False), ("investigator", True)},
    "project_members": {("admin", False), ("investigator", True)},
}
SUBJECT_RULES = {"study_view", "survey_view", "survey_results", "survey_edit", "survey_export", "survey_members",
                 "project_code", "project_manage", "project_members"}

# What an allowed request answers, when not 200 for GET and 302 for POST (forms posted empty: CSRF is off here).
ALLOWED_STATUS: dict[tuple[str, str], int] = {
    ("admin.new_survey", "POST"): 422, ("admin.mail_template", "POST"): 422,
    # An empty wording: the preview says what is missing, the test is not sent.
    ("admin.mail_preview", "POST"): 422, ("admin.mail_test", "POST"): 422,
    ("admin.invite_account", "POST"): 422, ("admin.resend_link", "POST"): 200,
    # An empty form: refused with every error listed (save, preview of a text), or page 1 shown again.
    ("instruments.save", "POST"): 422, ("instruments.preview_text", "POST"): 422,
    ("instruments.preview_current", "POST"): 200,
    # No suggestion named in the empty form: 400 naming it, after the access check passed.
    ("coding.assist_accept", "POST"): 400, ("coding.assist_reject", "POST"): 400,
    # An empty form: refused naming the name and survey missing, or the file missing; nothing created.
    ("coding.new_project", "POST"): 422, ("coding.import_codes", "POST"): 422,
    # No such job (the table's project has none): 404 after the access check passed, for everyone let in.
    ("coding.job", "GET"): 404, ("coding.job_file", "GET"): 404,
}
# Public and log-in routes answer the same to everyone (the respondent's pages are the survey's public face).
PUBLIC_STATUS: dict[tuple[str, str], int] = {
    ("pages.home", "GET"): 200, ("favicon", "GET"): 200, ("static", "GET"): 200,
    ("respond.intro", "GET"): 200, ("respond.page", "GET"): 302, ("respond.submit_page", "POST"): 302,
    ("respond.start", "POST"): 302, ("respond.thanks", "GET"): 200, ("invite_links.follow", "GET"): 404,
    ("test_links.follow", "GET"): 404,
    ("results.shared", "GET"): 200,
    ("auth.login", "GET"): 200, ("auth.login", "POST"): 400, ("auth.logout", "POST"): 302,
    ("auth.set_password", "GET"): 404, ("auth.set_password", "POST"): 404,
    ("auth.setup", "GET"): 404, ("auth.setup", "POST"): 404,
}


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, dict[str, Any]]]:
    app = make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=False,
                        SURVEYKIT_INSTRUMENTS_DIR=str(marker_instruments(tmp_path, "two-pages")),
                        SURVEYKIT_SMTP_HOST="")
    result = app.test_cli_runner().invoke(args=["surveys", "create", "two-pages", "--id", SLUG, "--title", TITLE,
                                                "--mode", "open"])
    assert result.exit_code == 0, result.output
    store(app, SLUG, [{"note": "fine", "marker": ANSWER}])
    ids: dict[str, Any] = {}
    with app.app_context(), db.new_session() as s:
        users = {}
        for role, member in ROLES:
            users[(role, member)] = create_user(s, f"{role}-{'in' if member else 'out'}@example.org", PASSWORD,
                                                role=role)
        ids["target"] = create_user(s, "target@example.org", PASSWORD, role="investigator").id
        project = P.create_project(s, PROJECT)
        P.add_units(s, project, [P.NewUnit(f"survey:{SLUG}:marker:1", ANSWER, label="u1")])
        unit = s.scalars(select(Unit)).one()
        C.add_code(s, project, None, "Fatigue", "admin-out@example.org")
        code_id = dict(C.load_tree(s, project.id).ids)["Fatigue"]
        rnd = Rd.rounds(s, project)[0]  # add_units put the unit in the first round
        Rd.close_round(s, rnd)  # every code revealed: the meeting page opens for every member
        s.add(Rereview(project_id=project.id, unit_id=unit.id, coder=None, code_id=code_id, targets=[], version=1))
        s.add(SurveyMember(user_id=users[("investigator", True)].id, survey_slug=SLUG, role="owner"))
        s.add(SurveyMember(user_id=users[("viewer", True)].id, survey_slug=SLUG, role="member"))
        # A study whose one wave is the survey: its page is the survey's data, for the same people.
        St.add_wave(s, St.create_study(s, SLUG, TITLE, "confidential", []), SLUG, "baseline")
        s.add(ProjectMember(project_id=project.id, user_id=users[("investigator", True)].id, role="owner"))
        s.add(ProjectMember(project_id=project.id, user_id=users[("coder", True)].id, role="coder"))
        s.commit()
        ids["share_token"] = create_link(s, s.get(Survey, SLUG))
        s.commit()
        ids["share_key"] = s.scalar(select(ResultsLink.key))
        ids["users"] = {k: u.id for k, u in users.items()}
        ids.update(unit_id=unit.id, round_id=rnd.id,
                   entry_id=s.scalar(select(Rereview.id)))
    yield app, ids
    shutdown(app)
    app.extensions["surveykit.engine"].dispose()


def url_values(ids: dict[str, Any]) -> dict[str, Any]:
    return {"slug": SLUG, "name": PROJECT, "unit_id": ids["unit_id"], "round_id": ids["round_id"],
            "entry_id": ids["entry_id"], "user_id": ids["target"], "action": "finish", "kind": "invitation",
            "job_id": 999999,
            "change": "disable", "fmt": "qdc", "token": "no-such-token", "section_id": "first",
            "filename": "style.css", "key": ids["share_key"], "instrument_id": "two-pages",
            # a working share link: the shared results page opens for anyone who holds one
            "results.shared": {"token": ids["share_token"]}}


def log_in_as(app: Flask, client: FlaskClient, user_id: int | None) -> None:
    """Make *client* logged in as *user_id* (None: a visitor), as a log-in would, without paying argon2."""
    with client.session_transaction() as sess:
        sess.clear()
        if user_id is None:
            return
        with app.app_context(), db.new_session() as s:
            version = s.get(User, user_id).session_version  # log-out raises it; log in afresh every time
        sess.update(user_id=user_id, auth_version=version, auth_seen=time.time())


def working_again(app: Flask, key: str) -> None:
    """Undo an earlier revocation: each allowed revoke acts on, and the shared page opens, a working link."""
    with app.app_context(), db.new_session() as s:
        s.get(ResultsLink, key).revoked_at = None
        s.commit()


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """Return (endpoint, method, url) of every route: GET always (405 where it has none), POST where it has one.

    The endpoint is the one that serves the URL and method (two rules may share a path, one per method); a
    method no rule of the path has keeps the rule's endpoint and answers 405.
    """
    found = []
    adapter = app.url_map.bind("localhost")
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            values = {k: v for k, v in url_values_cache.items() if k in rule.arguments}
            values.update(url_values_cache.get(rule.endpoint, {}))
            url = app.url_for(rule.endpoint, **values)
            for method in ("GET", "POST"):
                if method == "POST" and "POST" not in (rule.methods or ()):
                    continue
                try:
                    endpoint, _ = adapter.match(url.split("?")[0], method=method)
                except MethodNotAllowed:
                    endpoint = rule.endpoint
                found.append((str(endpoint), method, url))
    return found


url_values_cache: dict[str, Any] = {}


def expected(endpoint: str, method: str, rule_methods: set[str], who: tuple[str, bool] | None) -> int:
    if method not in rule_methods:
        return 405
    rule = TABLE[endpoint]
    if rule in ("public", "auth"):
        return PUBLIC_STATUS[(endpoint, method)]
    if who is None:
        return 302  # to the log-in page
    if who in ALLOWED[rule]:
        return ALLOWED_STATUS.get((endpoint, method), 200 if method == "GET" else 302)
    return 404 if rule in SUBJECT_RULES else 403


def sees_survey(who: tuple[str, bool] | None, endpoint: str) -> bool:
    """Return whether *who* may see the survey's data on *endpoint* (respondents' pages show its title to all)."""
    rule = TABLE[endpoint]
    if rule == "public":
        return True
    if who is None:
        return False
    role, member = who
    return role == "admin" or (member and role == "investigator") or (
        member and role == "viewer" and rule == "survey_results")


def codes_in_project(who: tuple[str, bool] | None) -> bool:
    """Return whether *who* may see the project's units (answers' texts)."""
    return who is not None and (who[0] == "admin" or (who[1] and who[0] in ("investigator", "coder")))


def test_every_route_is_in_the_table(site: tuple[Flask, dict[str, Any]]) -> None:
    app, _ = site
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not endpoints - TABLE.keys(), f"routes with no access rule in the table: {sorted(endpoints - TABLE.keys())}"
    assert not TABLE.keys() - endpoints, f"table lines with no route: {sorted(TABLE.keys() - endpoints)}"
    for endpoint, view in app.view_functions.items():
        declared = getattr(view, "access_action", None)
        if TABLE[endpoint] in ("public", "auth"):
            assert declared is None, f"{endpoint}: the table says {TABLE[endpoint]}, the view checks {declared}"
        else:
            assert declared == TABLE[endpoint], f"{endpoint}: the table says {TABLE[endpoint]}, view: {declared}"


def test_every_route_as_every_role_member_or_not(site: tuple[Flask, dict[str, Any]]) -> None:
    app, ids = site
    url_values_cache.clear()
    url_values_cache.update(url_values(ids))
    methods = {rule.endpoint: set(rule.methods or ()) for rule in app.url_map.iter_rules()}
    wrong: list[str] = []
    asked = 0
    # Denied roles and visitors first: the allowed ones change things (close the survey, disable an account).
    order = [None] + sorted(ROLES, key=lambda who: sum(who in allowed for allowed in ALLOWED.values()))
    for who in order:
        client = app.test_client()
        for endpoint, method, url in routes(app):
            log_in_as(app, client, None if who is None else ids["users"][who])
            if endpoint in ("results.revoke", "results.shared"):
                working_again(app, ids["share_key"])
            response = client.open(url, method=method)
            asked += 1
            want = expected(endpoint, method, methods[endpoint], who)
            if response.status_code != want:
                wrong.append(f"{method} {url} as {who}: {response.status_code}, expected {want}")
            if want == 302 and who is None and TABLE[endpoint] not in ("public", "auth"):
                if "/auth/login" not in response.headers.get("Location", ""):
                    wrong.append(f"{method} {url} as visitor: not sent to the log-in page")
            body = response.get_data()  # bytes: the favicon, downloads
            if not sees_survey(who, endpoint) and TITLE.encode() in body:
                wrong.append(f"{method} {url} as {who}: the survey's title is in the answer")
            if not (sees_survey(who, endpoint) or codes_in_project(who)) and ANSWER.encode() in body:
                wrong.append(f"{method} {url} as {who}: an answer's text is in the answer")
            response.close()
    assert asked > 8 * 60
    assert not wrong, "\n".join(wrong)
