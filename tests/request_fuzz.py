"""The request fuzzer: hypothesis draws requests to every route of the app and counts what answered 5xx.

Routes come from the app's own URL map, so a route added later is fuzzed too. Each request fills the path with
a valid value (a survey's slug, a section, a project, a unit) or a hostile one (control characters, NUL, huge
numbers, dates out of range, markup, very long text), adds query and form fields the pages use (and some they do
not) with the same kinds of values, a valid CSRF token most of the time (else every POST would stop at the
token), and an upload where the route takes one. Respondents walk with their own client, so drafts and
finished answers happen; investigators are logged in. Afterwards every stored answer is checked against its
instrument: an answer the server should have refused is an invalid row.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, String, Text, select
from web_site import INVESTIGATOR, Site, log_in

from instrument import Instrument
from instrument.answers import settle
from surveyapp import db
from surveyapp.models import Response, Survey
from surveyapp.surveys import instrument_of

from conftest import csrf_from

HOSTILE = (
    "", " ", "\x00", "a\x00b", "\x01", "\x1b[31m", "\t", "\r\n", "\x7f", "\x85", "\u2028", "\ufeff", "\uffff",
    "💥", "٣", "-1", "0", "1", "2", "+3", " 4 ", "2147483647", "2147483648", "-2147483649", "9" * 20, "9" * 400,
    "9" * 5000, "1e999", "-1e999", "nan", "inf", "1.5", "0x10", "1_000", "１２",
    "9999-12-31", "0001-01-01", "2023-02-30", "1989-12-31", "2100-12-31", "2022-03-01",
    "<script>x</script>", "'", '"', "%", "%00", "..", "../..", "//evil.example", "/\\evil.example",
    "javascript:alert(1)", "x" * 3000, "a/b", "a;b", "=1+1", "coder:nobody", "coder:", "consensus", "all", "other",
    "yes", "no", "next", "back", "stay", "reset", "save", "rename", "merge", "split", "retire", "restore", "move",
    "finish", "close", "nofit", "uncoded", "everything", "invitation", "open", "reminder", "yaml", "qdc", "csv",
    "off", "previous", "here", "disputed", "coded", "rereview", "code", "1|0.5|model", "1|2|oops", "99999|0.5|codebook",
)
QUERY_NAMES = ("filter", "with_code", "round", "pos", "dir", "page", "decided", "among", "below", "n", "term",
               "code", "coder", "from", "to", "suppression", "next", "min", "train", "x")
FORM_NAMES = ("action", "code", "quote", "memo", "note", "name", "parent", "definition", "use_when", "not_when",
              "example", "color", "why", "new_name", "target", "parts", "threshold", "suggestion", "accept", "go",
              "email", "password", "subject", "text_body", "html_body", "instrument", "slug", "title", "mode",
              "opens", "closes", "reminder_days", "next", "filter", "with_code", "round", "x")
UPLOADS = (b"email,department\nx@example.org,EM\n", b"email\n\x00@x\n", b"\xff\xfe\x00", b"codes:\n  - name: A\n",
           b"<?xml version='1.0'?><CodeBook/>", b"email,department\na@b.c," + b"9" * 5000 + b"\n")
AREAS = {
    "respond": ("action",),
    "auth": ("email", "password", "next"),
    "admin": ("action", "instrument", "slug", "title", "mode", "opens", "closes", "reminder_days", "subject",
              "text_body", "html_body"),
    "coding": ("action", "code", "quote", "memo", "note", "name", "parent", "definition", "use_when", "not_when",
               "example", "color", "why", "new_name", "target", "parts", "threshold", "suggestion", "accept", "go",
               "next", "filter", "with_code", "round"),
}
FILE_FIELDS = {"admin.upload_roster": "roster", "coding.codebook_import": "file"}
PATH_NAMES = {"slug": "slugs", "name": "projects", "unit_id": "units", "round_id": "rounds", "entry_id": "units"}
FIXED = {"action": ("finish", "close"), "kind": ("invitation", "reminder"), "fmt": ("yaml", "qdc", "csv"),
         "token": ("abc",)}
INVESTIGATORS = ("/admin", "/coding", "/auth/logout")


@dataclass
class Tally:
    """What the fuzzer saw."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _rules(app: Flask) -> list[Any]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _fill(rule: Any, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: quote(values[m.group(1)], safe=""), rule.rule)


class Fuzzer:
    """Send drawn requests to *site*'s app with a respondent's and an investigator's client."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._values: dict[str, st.SearchStrategy[str]] = {}
        self.app = site.app
        self.rules = _rules(self.app)
        self.tally = Tally()
        self.respondent = self.app.test_client()
        self.respondent_token = csrf_from(self.respondent.get("/s/probe").text)
        self.lead, self.lead_token = self._log_in()
        self.login_clients = 0
        # Every rule with each of its methods (GET and POST of one address are often two rules of the same text).
        self.turns = [(rule, method) for rule in self.rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
        answers, self.multi = self._answer_fields()
        self.pools = {area: names + ("x",) for area, names in AREAS.items()}
        self.pools["respond"] += answers
        self.pools["any"] = FORM_NAMES + answers

    def _answer_fields(self) -> tuple[tuple[str, ...], set[str]]:
        """Return the form fields of every question of the site's surveys, and those that take several values."""
        names: list[str] = []
        multi = {"code", "quote"}
        with self.app.app_context(), db.new_session() as s:
            for slug in self.site.slugs:
                for q in instrument_of(s.get(Survey, slug)).questions:
                    names.append(q.id)
                    names += [f"{q.id}__other"] if q.other else []
                    names += [f"{q.id}__{item.id}" for item in q.items]
                    names += [f"{q.id}__rank{i}" for i in range(1, q.max_ranks + 1)]
                    if q.type in ("multiple_choice", "ranking"):
                        multi.add(q.id)
        return tuple(sorted(set(names))), multi

    def _log_in(self) -> tuple[FlaskClient, str]:
        client = log_in(self.app)
        return client, csrf_from(client.get("/admin/new").text)

    def values(self, kind: str) -> st.SearchStrategy[str]:
        """Return values for a field: valid ones of *kind* (a path name or a question id) mixed with hostile ones."""
        if kind not in self._values:  # built once: making strategies costs more than drawing from them
            self._values[kind] = self._make_values(kind)
        return self._values[kind]

    def _make_values(self, kind: str) -> st.SearchStrategy[str]:
        valid: list[str] = []
        if kind in PATH_NAMES:
            valid = [str(v) for v in getattr(self.site, PATH_NAMES[kind])]
        elif kind == "section_id":
            valid = sorted({s for ss in self.site.sections.values() for s in ss})
        elif kind in FIXED:
            valid = list(FIXED[kind])
        elif kind.split("__")[0] in self.site.choices and not kind.endswith("__other"):
            # A text, number or date question has no options: plain answers of each kind then.
            valid = self.site.choices[kind.split("__")[0]] or ["A plain answer.", "3", "2022-03-01"]
        elif kind in ("code", "target", "with_code", "parent"):
            valid = [str(c) for c in self.site.codes] + self.site.code_paths
        elif kind in ("round",):
            valid = [str(r) for r in self.site.rounds]
        hostile = st.sampled_from(HOSTILE)
        free = st.text(max_size=40)
        if valid:
            return st.one_of(st.sampled_from(valid), st.sampled_from(valid), hostile, free)
        return st.one_of(hostile, free)

    def strategy(self) -> st.SearchStrategy[list[dict[str, Any]]]:
        """Return the strategy of one example: a request to every route with each of its methods."""
        # One example is one request to every route with every method, so each gets its share: hypothesis' own
        # choice of an index favours some (with 300 requests, 31 of 48 route/method pairs were reached).
        turns = self.turns
        query_names = st.lists(st.sampled_from(QUERY_NAMES), max_size=3, unique=True)
        pools = {area: st.lists(st.sampled_from(names), max_size=6, unique=True) for area, names in self.pools.items()}
        upload = st.one_of(st.binary(max_size=200), st.sampled_from(UPLOADS))
        filename = st.sampled_from(["roster.csv", "book.yaml", "book.qdc", "x.xlsx", "x.exe", "\x00.csv"])
        few = st.integers(1, 3)

        @st.composite
        def request(draw: Any, rule: Any, method: str) -> dict[str, Any]:
            path = _fill(rule, {name: draw(self.values(name)) for name in sorted(rule.arguments)})
            query = {name: draw(self.values(name)) for name in draw(query_names)}
            form: dict[str, Any] = {}
            if method == "POST":
                area = rule.endpoint.split(".")[0] if draw(few) > 1 else "any"
                for name in draw(pools.get(area, pools["any"])):
                    if name in self.multi:
                        form[name] = [draw(self.values(name)) for _ in range(draw(few))]
                    else:
                        form[name] = draw(self.values(name))
                if rule.endpoint in FILE_FIELDS:
                    form[FILE_FIELDS[rule.endpoint]] = (draw(upload), draw(filename))
            as_lead = rule.rule.startswith(INVESTIGATORS) or draw(st.booleans())
            return {"rule": rule, "method": method, "path": path, "query": query, "form": form,
                    "as_lead": as_lead, "token": draw(few) > 1 or draw(st.booleans())}

        return st.tuples(*(request(rule, method) for rule, method in turns)).map(list)

    def send(self, r: dict[str, Any]) -> None:
        """Send one drawn request and count its answer."""
        rule = r["rule"]
        if rule.endpoint == "auth.login":
            # Log-in tries come from a fresh client and address each: the throttle must not lock the fuzzer out.
            self.login_clients += 1
            client = self.app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.{self.login_clients // 250 % 250}.{self.login_clients % 250}.1"
            token = csrf_from(client.get("/auth/login").text)
            if r["form"].get("email") == INVESTIGATOR:
                del r["form"]["email"]
        elif r["as_lead"]:
            client, token = self.lead, self.lead_token
        else:
            client, token = self.respondent, self.respondent_token
        form = dict(r["form"])
        if r["method"] == "POST" and r["token"]:
            form["csrf_token"] = token
        self.tally.requests += 1
        self.tally.routes[f"{r['method']} {rule.rule}"] += 1
        started = time.perf_counter()
        try:
            kwargs: dict[str, Any] = {"method": r["method"], "query_string": r["query"]}
            if r["method"] == "POST":
                kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in form.items()}
                if rule.endpoint in FILE_FIELDS:
                    kwargs["content_type"] = "multipart/form-data"
            response = client.open(r["path"], **kwargs)
            status = response.status_code
            response.close()
        except Exception as exc:  # noqa: BLE001 - the fuzzer counts what escaped the app's own handlers
            status = 599
            self.tally.failures.append(f"{r['method']} {r['path'][:120]!r}: raised {type(exc).__name__}: "
                                       f"{str(exc)[:200]}\n{traceback.format_exc(limit=-3)}")
        self.tally.seconds[f"{r['method']} {rule.rule}"] += time.perf_counter() - started
        self.tally.statuses[status] += 1
        if 500 <= status < 599:
            self.tally.failures.append(f"{r['method']} {r['path'][:120]!r} query={r['query']!r:.200} "
                                       f"form={form!r:.300}: {status}")
        if rule.endpoint == "auth.logout" and r["as_lead"]:
            self.lead, self.lead_token = self._log_in()

    def run(self, examples: int) -> Tally:
        """Send at least *examples* drawn requests (derandomized: the same requests on every run)."""

        @settings(max_examples=-(-examples // len(self.turns)), derandomize=True, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(self.strategy())
        def fuzz(batch: list[dict[str, Any]]) -> None:
            for r in batch:
                self.send(r)

        fuzz()
        return self.tally


def _answer_problems(inst: Instrument, answers: dict[str, Any]) -> list[str]:
    problems = []
    kept, errors = settle(inst, answers)
    if kept != answers:
        problems.append(f"holds answers to questions not shown, or misses shown ones: {answers!r:.200}")
    problems += [f"{qid}: {error}" for qid, error in errors.items()]
    for q in inst.questions:
        value = answers.get(q.id)
        if value is None:
            continue
        codes = {o.code for o in q.choices} | ({"other"} if q.other else set())
        if q.type in ("single_choice",) and value not in codes:
            problems.append(f"{q.id}: {value!r} is not an option")
        elif q.type in ("multiple_choice", "ranking") and not set(map(str, value)) <= codes:
            problems.append(f"{q.id}: {value!r} holds a value that is not an option")
        elif q.type == "likert":
            levels = value.values() if isinstance(value, dict) else [value]
            if not {str(v) for v in levels if v is not None} <= codes:
                problems.append(f"{q.id}: {value!r} is off the scale")
        elif q.type == "text" and (not isinstance(value, str) or len(value) > q.max_length):
            problems.append(f"{q.id}: text longer than {q.max_length}")
        elif q.type == "number" and not (
                (q.minimum is None or value >= q.minimum) and (q.maximum is None or value <= q.maximum)):
            problems.append(f"{q.id}: {value!r} out of range")
        elif q.type == "date" and not "1990-01-01" <= str(value) <= "2100-12-31":
            problems.append(f"{q.id}: date {value!r} out of range")
    return problems


def invalid_rows(app: Flask) -> list[str]:
    """Return every stored answer the instrument would refuse, and every text holding a NUL, in any table."""
    found = []
    with app.app_context(), db.new_session() as s:
        for row in s.scalars(select(Response)):
            survey = s.get(Survey, row.survey_slug)
            problems = _answer_problems(instrument_of(survey), dict(row.answers))
            found += [f"response of {row.survey_slug}: {p}" for p in problems]
        meta = MetaData()
        meta.reflect(bind=s.connection())
        for table in meta.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for column in texts:  # read in Python: SQL string functions stop at a NUL
                found += [f"{table.name}.{column.name} holds a NUL"
                          for (value,) in s.execute(select(column)) if value is not None and "\x00" in value]
    return found


def report(label: str, tally: Tally, invalid: list[str], started: dt.datetime) -> str:
    """Return the figures line of one run."""
    seconds = (dt.datetime.now() - started).total_seconds()
    in_app = sum(tally.seconds.values())
    by_class = dict(sorted(Counter(f"{s // 100}xx" for s in tally.statuses.elements()).items()))
    slowest = ", ".join(f"{route} {t:.1f} s" for route, t in tally.seconds.most_common(3))
    return (f"harden: request fuzz ({label}): {tally.requests} requests over {len(tally.routes)} route/method "
            f"pairs in {seconds:.0f} s ({in_app:.0f} s in the app); {by_class}; {tally.server_errors} x 5xx; "
            f"{len(invalid)} invalid rows stored; slowest routes in total: {slowest}")
