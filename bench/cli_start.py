"""Benchmark start-up: `surveykit --help`, `surveykit instruments check`, and a web worker, against floors.

Run ``python bench/cli_start.py`` (``--runs N``, default 7). Every contender runs in its own process under
``/usr/bin/time -v`` (wall clock and maximum resident set size); the rounds are interleaved (floor, then each
contender) so a change in machine load touches all alike; the median of the runs is printed with its ratio to
the floor of the same run:

* floor: a bare click command group (Flask's ``FlaskGroup``) whose app imports Flask and SQLAlchemy and makes
  an engine, asked for ``--help``: the least any Flask command with a database must load;
* ``surveykit --help`` and ``surveykit instruments check instruments/`` (the shipped instruments);
* worker: one process that builds the app (``create_app()``, every blueprint and command group), as a web
  worker does before its first request; its floor builds a Flask app with an SQLAlchemy engine.

``--root DIR`` measures another checkout of surveykit (e.g. ``git worktree add /tmp/before <commit>``) with
this interpreter, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"

FLOOR_CLI = """
import sqlalchemy
from flask import Flask
from flask.cli import FlaskGroup


def create():
    app = Flask("floor")
    app.extensions["engine"] = sqlalchemy.create_engine("sqlite://")
    return app


FlaskGroup(create_app=create, load_dotenv=False, set_debug_flag=False).main(prog_name="floor")
"""

FLOOR_APP = """
import sqlalchemy
from flask import Flask

app = Flask("floor")
app.extensions["engine"] = sqlalchemy.create_engine("sqlite://")
"""

SURVEYKIT = "import sys; from surveyapp.cli import main; sys.argv[0] = 'surveykit'; main()"
WORKER = "from surveyapp import create_app; create_app({'INSTANCE_PATH': %r})"
WHERE = "import surveyapp; print(surveyapp.__file__)"

_WALL = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)")
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def measure(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run *args* under ``/usr/bin/time -v``; return (wall seconds, max RSS in MiB)."""
    done = subprocess.run([TIME, "-v", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])}... failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    wall, rss = _WALL.search(done.stderr), _RSS.search(done.stderr)
    if wall is None or rss is None:
        raise SystemExit(f"{TIME} -v printed no wall time or RSS:\n{done.stderr}")
    hours, minutes, seconds = wall.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(rss.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (median reported)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the surveykit checkout to measure")
    opts = parser.parse_args()
    if not os.access(TIME, os.X_OK):
        raise SystemExit(f"{TIME} is needed (GNU time: apt-get install time)")
    root = opts.root.resolve()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="cli-start-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(root), "SURVEYKIT_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
               "SURVEYKIT_SECRET_KEY": "bench", "SURVEYKIT_INSTRUMENTS_DIR": str(root / "instruments"),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        where = subprocess.run([py, "-c", WHERE], env=env, cwd=tmp, capture_output=True, text=True, check=True)
        contenders = {
            "floor (FlaskGroup + SQLAlchemy, --help)": [py, "-c", FLOOR_CLI, "--help"],
            "surveykit --help": [py, "-c", SURVEYKIT, "--help"],
            "surveykit instruments check instruments/": [py, "-c", SURVEYKIT, "instruments", "check",
                                                         str(root / "instruments")],
            "floor app (Flask + SQLAlchemy engine)": [py, "-c", FLOOR_APP],
            "web worker: create_app()": [py, "-c", WORKER % str(Path(tmp) / "instance")],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        measure(contenders["surveykit --help"], env, Path(tmp))  # warm the file cache and bytecode, not counted
        for _ in range(opts.runs):
            for name, args in contenders.items():
                runs[name].append(measure(args, env, Path(tmp)))
    load = os.getloadavg()
    print(f"surveykit start-up: {where.stdout.strip()} | {opts.runs} interleaved runs, median | "
          f"load average {load[0]:.1f} on {os.cpu_count()} cores")
    floors = {"cli": "floor (FlaskGroup + SQLAlchemy, --help)", "app": "floor app (Flask + SQLAlchemy engine)"}
    print(f"{'contender':44} {'wall s':>7} {'x floor':>8} {'RSS MiB':>8} {'x floor':>8}  (min-max wall)")
    for name, values in runs.items():
        floor = runs[floors["app" if name.startswith(("floor app", "web worker")) else "cli"]]
        wall = statistics.median(v[0] for v in values)
        rss = statistics.median(v[1] for v in values)
        floor_wall = statistics.median(v[0] for v in floor)
        floor_rss = statistics.median(v[1] for v in floor)
        walls = [v[0] for v in values]
        print(f"{name:44} {wall:7.2f} {wall / floor_wall:7.2f}x {rss:8.1f} {rss / floor_rss:7.2f}x  "
              f"({min(walls):.2f}-{max(walls):.2f})")


if __name__ == "__main__":
    main()
