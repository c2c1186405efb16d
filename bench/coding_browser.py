"""Time what the browser's coding setup does in a request or in a job: importing a coded sheet, writing the
theme workbook, at the sizes where the pages switch from the request to a job and at 50,000 units.

Run ``python bench/coding_browser.py`` (50,000 units) or ``--quick`` (5,000). Each step runs on a fresh
SQLite database, timed by the wall clock, through the functions the pages call (``surveyapp.coding_files``).
Targets: what runs in the request (an upload up to ``INLINE_BYTES``, a workbook up to ``INLINE_UNITS``
units) within a few seconds, far below gunicorn's 30 s timeout; the rest is a job, and its time is printed so
an operator knows how long the job page will say "running".
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("support time shift colleague patient night call peer team help talk stress case sleep family "
         "schedule department leader trust privacy listen").split()
CODES = ["Support/Listening", "Support/Peers", "Barriers/Time", "Barriers/Stigma", "Rest", "Other/Costs"]


def sheet(units: int, seed: int = 1) -> bytes:
    """Return a coded CSV: two coders per unit, one to three codes each."""
    rng = random.Random(seed)
    lines = ["unit,text,coder,codes"]
    for u in range(units):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
        for coder in ("a@example.org", "b@example.org"):
            lines.append(f"u{u},{text},{coder},{';'.join(rng.sample(CODES, rng.randint(1, 3)))}")
    return ("\n".join(lines) + "\n").encode()


def run(units: int, folder: Path) -> None:
    from coding import projects
    from surveyapp import create_app, db, shutdown
    from surveyapp.coding_files import INLINE_BYTES, INLINE_UNITS, import_upload, new_file, write_themes

    app = create_app({"INSTANCE_PATH": str(folder / f"i{units}"), "SURVEYKIT_SECRET_KEY": "bench",
                      "SURVEYKIT_DATABASE_URL": f"sqlite:///{folder / f'b{units}.sqlite3'}"})
    with app.app_context():
        db.upgrade(app.config["DATABASE_URL"])
        data = sheet(units)
        with db.new_session() as s:
            project = projects.create_project(s, "bench")
            start = time.perf_counter()
            result = import_upload(s, project, data, "coded.csv", "bench")
            s.commit()
            took = time.perf_counter() - start
        assert "errors" not in result, result
        where = "request" if len(data) <= INLINE_BYTES else "job"
        print(f"import {units:>6} units ({len(data) / 1024 / 1024:6.1f} MB, {where:7}): {took:6.1f} s")
        with db.new_session() as s:
            project = projects.get_project(s, "bench")
            out = new_file(app, "themes", ".xlsx")
            start = time.perf_counter()
            sheets = write_themes(s, project, "a@example.org", "majority", out)
            took = time.perf_counter() - start
        where = "request" if units <= INLINE_UNITS else "job"
        print(f"workbook {units:>6} units ({len(sheets)} sheets, {out.stat().st_size / 1024 / 1024:5.1f} MB, "
              f"{where:7}): {took:6.1f} s")
    shutdown(app)
    app.extensions["surveykit.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 units instead of 50,000")
    args = parser.parse_args()
    from surveyapp.coding_files import INLINE_BYTES, INLINE_UNITS

    # The largest sheet imported in the request: as many units as fit in INLINE_BYTES.
    per_unit = len(sheet(2000)) / 2000 * 1.01
    with tempfile.TemporaryDirectory() as tmp:
        for units in (int(INLINE_BYTES / per_unit), INLINE_UNITS, 5000 if args.quick else 50000):
            run(units, Path(tmp))


if __name__ == "__main__":
    main()
