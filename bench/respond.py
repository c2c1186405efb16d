"""Benchmark the respondent path: whole surveys through gunicorn, against a floor app measured in the same run.

Run ``python bench/respond.py`` (``--seconds S`` per round, default 8; ``--rounds N``, default 3; ``--quick`` for
one 4-second round; ``--apps 2`` adds two app processes on one database, as two hosts would run, clients spread
over both). For each database (SQLite, and PostgreSQL when ``SURVEYKIT_BENCH_POSTGRES_URL`` or
``SURVEYKIT_TEST_POSTGRES_URL`` is set) and each number of clients (8 and 32), two servers run under the same
gunicorn settings (2 sync workers, no access log, loopback only):

* **surveykit**: an open survey of three pages; each client is a respondent who loads the introduction, starts,
  loads and sends every page (CSRF token and session cookie as a browser keeps them) and sees the thank-you page,
  then starts again as a new respondent;
* **floor**: a minimal Flask app whose every request inserts one row and commits, on an engine made by the same
  ``surveyapp.db.make_engine`` (same SQLite pragmas, same pool), asked as often by the same clients.

Rounds alternate floor and surveykit, so a change in the machine's load touches both alike. Printed per case:
requests per second, p50 and p99 latency, and the ratio of surveykit's requests per second to the floor's (the
goal is 0.6 or more). The clients are Python threads in this process; they cost both contenders the same CPU per
request. After each case, the gunicorn workers' CPU time per request (median of the rounds: the server's own cost,
without the clients'; still moved by a busy machine) and the resident memory (RSS) of each worker of both are
printed. After the run, the number of stored responses is checked against the surveys the clients completed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from servers import gunicorn  # noqa: E402  (the tests' gunicorn runner: one way to serve the app)

SLUG = "bench-respond"
INSTRUMENT = """
id: benchrespond
version: 1
title: Respondent path benchmark
sections:
  - id: about
    questions:
      - {id: dept, type: single_choice, text: Your department, required: true,
         choices: [{code: em, label: Emergency}, {code: im, label: Internal medicine}, {code: su, label: Surgery}]}
      - {id: years, type: number, text: Years in practice, min: 0, max: 60}
  - id: views
    questions:
      - {id: valued, type: likert, text: I feel valued at work, scale: agreement, required: true}
      - {id: support, type: likert, text: I know where to find support, scale: agreement}
      - {id: aware, type: single_choice, choices: yes_no, text: Have you heard of the peer-support program?}
  - id: last
    questions:
      - {id: comment, type: text, text: Anything else?}
"""
ANSWERS = {
    "about": {"dept": "im", "years": "12"},
    "views": {"valued": "4", "support": "2", "aware": "yes"},
    "last": {"comment": "Peer support helped after a hard night."},
}
FLOOR_APP = '''
import os

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from surveyapp.db import make_engine

engine = make_engine(os.environ["FLOOR_DATABASE_URL"])
rows = Table("floor_rows", MetaData(), Column("id", Integer, primary_key=True), Column("value", String(200)))
app = Flask("floor")


@app.route("/", methods=["GET", "POST"])
def one_insert():
    with engine.begin() as conn:
        conn.execute(insert(rows).values(value=request.form.get("v", "")))
    return "<!doctype html><title>floor</title><p>ok</p>"
'''
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
GUNICORN_OPTIONS = ("--workers", "2", "--worker-class", "sync")
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Browser:
    """One client: a keep-alive connection and the session cookie, as a browser keeps them."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        self.cookie = ""
        self.latencies: list[float] = []

    def fresh(self) -> None:
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Send one request; return (status, Location header, body)."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        self.latencies.append(time.perf_counter() - started)
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", text


def _path(location: str) -> str:
    return urllib.parse.urlsplit(location).path


def one_respondent(browser: Browser) -> bool:
    """Answer the whole survey as a new respondent; return whether it reached the thank-you page."""
    browser.fresh()
    status, _, body = browser.request("GET", f"/s/{SLUG}")
    token = CSRF_RE.search(body)
    if status != 200 or token is None:
        raise RuntimeError(f"intro answered {status}")
    status, location, _ = browser.request("POST", f"/s/{SLUG}/start", {"csrf_token": token.group(1)})
    while "/p/" in location:
        path = _path(location)
        status, _, body = browser.request("GET", path)
        token = CSRF_RE.search(body)
        if status != 200 or token is None:
            raise RuntimeError(f"{path} answered {status}")
        section = path.rsplit("/", 1)[1]
        form = {"csrf_token": token.group(1), "action": "next", **ANSWERS[section]}
        status, location, _ = browser.request("POST", path, form)
        if status not in (302, 303):
            raise RuntimeError(f"POST {path} answered {status}")
    if not location.endswith("/thanks"):
        raise RuntimeError(f"the survey ended at {location!r}")
    status, _, _ = browser.request("GET", _path(location))
    return status == 200


def one_floor_request(browser: Browser) -> bool:
    status, _, _ = browser.request("POST", "/", {"v": "a value"})
    return status == 200


def load(bases: list[str], clients: int, seconds: float, floor: bool) -> tuple[int, list[float], int]:
    """Run *clients* threads for *seconds*, spread over *bases*; return (requests, latencies, surveys completed)."""
    browsers = [Browser(bases[i % len(bases)]) for i in range(clients)]
    done = [0] * clients
    errors: list[BaseException] = []
    deadline = time.monotonic() + seconds

    def work(i: int) -> None:
        try:
            while time.monotonic() < deadline:
                if (one_floor_request if floor else one_respondent)(browsers[i]):
                    done[i] += 1
        except BaseException as exc:  # reported after the round: a failed request makes the figure void
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{'floor' if floor else 'surveykit'} failed under load: {errors[0]!r}")
    latencies = [x for b in browsers for x in b.latencies]
    return len(latencies), latencies, sum(done)


def _surveykit(env: dict[str, str], folder: Path) -> None:
    """Migrate the database and open the benchmark survey."""
    (folder / "instruments").mkdir()
    (folder / "instruments" / "benchrespond.yaml").write_text(INSTRUMENT, encoding="utf-8")
    surveykit = str(Path(sys.executable).with_name("surveykit"))
    for args in (["db", "upgrade"], ["surveys", "create", "benchrespond", "--id", SLUG]):
        done = subprocess.run([surveykit, *args], env=env, cwd=folder, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"surveykit {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@contextmanager
def _databases(pg_url: str) -> Iterator[list[tuple[str, str, str]]]:
    """Yield (name, surveykit URL, floor URL) per database: SQLite files, and PostgreSQL schemas dropped after."""
    from sqlalchemy import create_engine, make_url, text

    with tempfile.TemporaryDirectory(prefix="bench-respond-") as tmp:
        found = [("SQLite", f"sqlite:///{tmp}/surveykit.sqlite3", f"sqlite:///{tmp}/floor.sqlite3")]
        schemas: list[str] = []
        if pg_url:
            admin = create_engine(pg_url)
            for what in ("surveykit", "floor"):
                schema = f"bench_respond_{what}_{os.getpid()}"
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                schemas.append(schema)
            urls = [make_url(pg_url).update_query_dict({"options": f"-csearch_path={s}"}).render_as_string(
                hide_password=False) for s in schemas]
            found.append(("PostgreSQL", urls[0], urls[1]))
        try:
            yield found
        finally:
            if schemas:
                with admin.begin() as conn:
                    for schema in schemas:
                        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()


def _floor_table(url: str) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

    engine = create_engine(url)
    Table("floor_rows", MetaData(), Column("id", Integer, primary_key=True), Column("value", String(200))
          ).metadata.create_all(engine)
    engine.dispose()


def _stored(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(text("SELECT count(*) FROM responses WHERE survey_slug = :s"), {"s": SLUG})
    engine.dispose()
    return int(count or 0)


def _rss_mib(pid: int) -> float:
    """Return the resident memory of process *pid* in MiB (Linux /proc), or 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _workers_cpu(servers: list[Any]) -> float:
    """Return the CPU seconds (user + system) the gunicorn workers of *servers* have used so far (Linux /proc)."""
    total = 0
    for served in servers:
        for pid in served.workers():
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _workers_rss(served: Any) -> str:
    return ", ".join(f"{_rss_mib(pid):.0f}" for pid in sorted(served.workers())) or "?"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per case (default 3)")
    parser.add_argument("--clients", default="8,32", help="numbers of clients (default 8,32)")
    parser.add_argument("--quick", action="store_true", help="one 4-second round per case")
    parser.add_argument("--apps", type=int, choices=(1, 2), default=1,
                        help="2: also measure two app processes (two gunicorns on one database, clients spread "
                             "over both), as two app hosts would run (default 1)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 4.0, 1
    clients_list = [int(c) for c in args.clients.split(",")]
    pg_url = os.environ.get("SURVEYKIT_BENCH_POSTGRES_URL") or os.environ.get("SURVEYKIT_TEST_POSTGRES_URL", "")
    if not pg_url:
        print("PostgreSQL: no SURVEYKIT_BENCH_POSTGRES_URL / SURVEYKIT_TEST_POSTGRES_URL, so SQLite only")
    print(f"respondent path: {args.rounds} interleaved round(s) of {args.seconds:g} s per case; gunicorn "
          f"{' '.join(GUNICORN_OPTIONS)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'database':11} {'clients':>7} {'contender':10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x floor':>8}")
    with _databases(pg_url) as databases, tempfile.TemporaryDirectory(prefix="bench-respond-run-") as tmp:
        for name, url, floor_url in databases:
            folder = Path(tmp) / name
            (folder / "floor").mkdir(parents=True)
            (folder / "floor" / "floorapp.py").write_text(FLOOR_APP, encoding="utf-8")
            env = {**os.environ, **THREADS, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "bench-secret",
                   "SURVEYKIT_INSTRUMENTS_DIR": str(folder / "instruments"), "FLOOR_DATABASE_URL": floor_url,
                   "PYTHONPATH": os.pathsep.join([str(folder / "floor"), str(ROOT)])}
            _surveykit(env, folder)
            _floor_table(floor_url)
            completed = 0
            with ExitStack() as stack:
                project = stack.enter_context(gunicorn(env, folder, *GUNICORN_OPTIONS, ready=f"/s/{SLUG}"))
                floor = stack.enter_context(gunicorn(env, folder / "floor", *GUNICORN_OPTIONS,
                                                     app="floorapp:app"))
                contenders = {"surveykit": [project.base]}
                if args.apps == 2:
                    (folder / "second").mkdir(exist_ok=True)
                    second = stack.enter_context(gunicorn(env, folder / "second", *GUNICORN_OPTIONS,
                                                          ready=f"/s/{SLUG}"))
                    contenders["2 apps"] = [project.base, second.base]
                for clients in clients_list:
                    results: dict[str, list[tuple[int, list[float]]]] = {"floor": [], **{c: [] for c in contenders}}
                    # The workers' CPU time per request: the server's own cost, without the clients' share of the cores.
                    cpu: dict[str, list[float]] = {who: [] for who in results}
                    for _ in range(args.rounds):
                        used = _workers_cpu([floor])
                        requests, latencies, _ = load([floor.base], clients, args.seconds, floor=True)
                        cpu["floor"].append((_workers_cpu([floor]) - used) / max(requests, 1))
                        results["floor"].append((requests, latencies))
                        for who, bases in contenders.items():
                            served = [project] if who == "surveykit" else [project, second]
                            used = _workers_cpu(served)
                            requests, latencies, surveys = load(bases, clients, args.seconds, floor=False)
                            cpu[who].append((_workers_cpu(served) - used) / max(requests, 1))
                            results[who].append((requests, latencies))
                            completed += surveys
                    rates = {}
                    for who, rounds in results.items():
                        rates[who] = statistics.median(r / args.seconds for r, _ in rounds)
                        every = sorted(x for _, lat in rounds for x in lat)
                        p50, p99 = every[len(every) // 2], every[min(len(every) - 1, int(len(every) * 0.99))]
                        ratio = rates[who] / rates["floor"]
                        print(f"{name:11} {clients:7d} {who:10} {rates[who]:8.1f} {_ms(p50)} {_ms(p99)} "
                              f"{ratio:7.2f}x", flush=True)
                    floor_ms, project_ms = (statistics.median(cpu[w]) * 1000 for w in ("floor", "surveykit"))
                    print(f"{name:11} {clients:7d} worker CPU ms/request: surveykit {project_ms:.2f}, floor "
                          f"{floor_ms:.2f} (floor/surveykit {floor_ms / project_ms:.2f}x)", flush=True)
                    # What a web worker holds once it has served the whole respondent path (the floor's beside it).
                    print(f"{name:11} {clients:7d} worker RSS MiB after the load: surveykit "
                          f"{_workers_rss(project)}; floor {_workers_rss(floor)}", flush=True)
                    if "2 apps" in rates:
                        print(f"{name:11} {clients:7d} 2 apps / 1 app: {rates['2 apps'] / rates['surveykit']:.2f}x "
                              f"(on {os.cpu_count()} cores)", flush=True)
            stored = _stored(url)
            print(f"{name}: {completed} surveys completed by the clients, {stored} responses stored"
                  + ("" if stored == completed else "  <-- MISMATCH"))


if __name__ == "__main__":
    main()
