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

``--before DIR`` also measures another checkout of surveykit (e.g. ``git worktree add --detach /tmp/before
<commit>``) with this interpreter, in the same interleaved rounds, for a before/after comparison.
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
_CPU = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def measure(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Run *args* under ``/usr/bin/time -v``; return (wall seconds, CPU seconds (user + system), max RSS in MiB)."""
    done = subprocess.run([TIME, "-v", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])}... failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    wall, rss = _WALL.search(done.stderr), _RSS.search(done.stderr)
    if wall is None or rss is None:
        raise SystemExit(f"{TIME} -v printed no wall time or RSS:\n{done.stderr}")
    hours, minutes, seconds = wall.groups()
    cpu = sum(float(v) for v in _CPU.findall(done.stderr))
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), cpu, int(rss.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (median reported)")
    parser.add_argument("--before", type=Path, help="another surveykit checkout to measure in the same rounds")
    opts = parser.parse_args()
    if not os.access(TIME, os.X_OK):
        raise SystemExit(f"{TIME} is needed (GNU time: apt-get install time)")
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="cli-start-") as tmp:
        def env(root: Path) -> dict[str, str]:
            return {**os.environ, "PYTHONPATH": str(root), "SURVEYKIT_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                    "SURVEYKIT_SECRET_KEY": "bench", "SURVEYKIT_INSTRUMENTS_DIR": str(root / "instruments"),
                    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

        def project(root: Path, label: str) -> dict[str, tuple[list[str], dict[str, str]]]:
            where = subprocess.run([py, "-c", WHERE], env=env(root), cwd=tmp, capture_output=True, text=True,
                                   check=True).stdout.strip()
            print(f"{label}surveyapp from {where}")
            instance = Path(tmp) / (label.rstrip(": ") or "now") / "instance"
            return {f"{label}surveykit --help": ([py, "-c", SURVEYKIT, "--help"], env(root)),
                    f"{label}surveykit instruments check": ([py, "-c", SURVEYKIT, "instruments", "check",
                                                             str(root / "instruments")], env(root)),
                    f"{label}web worker: create_app()": ([py, "-c", WORKER % str(instance)], env(root))}

        contenders = {"floor (FlaskGroup + SQLAlchemy, --help)": ([py, "-c", FLOOR_CLI, "--help"], env(ROOT)),
                      "floor app (Flask + SQLAlchemy engine)": ([py, "-c", FLOOR_APP], env(ROOT)),
                      **project(ROOT, "")}
        if opts.before is not None:
            contenders.update(project(opts.before.resolve(), "before: "))
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
        for args, environment in contenders.values():  # warm the file cache and bytecode, not counted
            measure(args, environment, Path(tmp))
        for _ in range(opts.runs):
            for name, (args, environment) in contenders.items():
                runs[name].append(measure(args, environment, Path(tmp)))
    load = os.getloadavg()
    print(f"surveykit start-up: {opts.runs} interleaved runs, median | "
          f"load average {load[0]:.1f} on {os.cpu_count()} cores")
    floors = {"cli": "floor (FlaskGroup + SQLAlchemy, --help)", "app": "floor app (Flask + SQLAlchemy engine)"}
    print(f"{'contender':42} {'wall s':>6} {'x floor':>7} {'CPU s':>6} {'x floor':>7} {'RSS MiB':>7} {'x floor':>7}"
          "  (min-max wall)")
    for name, values in runs.items():
        floor = runs[floors["app" if name.endswith(("engine)", "create_app()")) else "cli"]]
        cells = []
        for k in range(3):
            value = statistics.median(v[k] for v in values)
            cells.append(f"{value:{6 if k < 2 else 7}.{2 if k < 2 else 1}f} "
                         f"{value / statistics.median(v[k] for v in floor):6.2f}x")
        walls = [v[0] for v in values]
        print(f"{name:42} {' '.join(cells)}  ({min(walls):.2f}-{max(walls):.2f})")


if __name__ == "__main__":
    main()
