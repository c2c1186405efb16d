"""Benchmark `surveykit export` against the floor: an openpyxl write-only dump of the same cells.

Run ``python bench/export.py`` (50,000 generated responses x 40 questions) or ``--quick`` (5,000).
A SQLite database is built once (not timed); then each contender runs in its own process, timed by the wall
clock, its peak memory read from the kernel as it exits (VmHWM of that process, Linux):

* export: ``surveykit export SLUG --out FILE.xlsx``, end to end (process start, app, query, statistics,
  tables, Likert charts, raw data, dictionary);
* floor: the same streamed query (SQLAlchemy, yield_per=1000), the same raw-data cells (flags, dates)
  appended to an openpyxl write-only sheet, saved: the least any exporter of these cells must do;
* pandas: what a user would otherwise do: read the same cells into a DataFrame, ``DataFrame.to_excel``.

Targets: export time <= 1.2 x the floor's, export peak memory <= 100 MB. Memory must not grow with the
number of responses, so the export is also run on a tenth of the data and its peak printed next to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench"
WORDS = ("support time shift colleague patient night call peer team help talk stress case sleep family "
         "schedule department leader trust privacy listen").split()


def instrument_yaml() -> str:
    """Return a 40-question instrument: choices, Likert, multi-select, numbers, dates, open text."""
    lines = ["id: bench-survey", "version: 1", "title: Benchmark survey", "sections:"]
    qn = 0
    for s in range(4):
        lines += [f"  - id: s{s}", f"    title: Section {s + 1}", "    questions:"]
        for k in range(10):
            qn += 1
            qid = f"q{qn:02d}"
            kind = k % 10
            if kind in (0, 1, 2, 3):
                lines.append(f"      - {{id: {qid}, type: single_choice, text: Question {qn}, "
                             f"choices: [Alpha, Beta, Gamma, Delta], required: {str(kind == 0).lower()}}}")
            elif kind in (4, 5):
                lines.append(f"      - {{id: {qid}, type: likert, text: Statement {qn}, scale: agreement}}")
            elif kind == 6:
                lines.append(f"      - {{id: {qid}, type: multiple_choice, text: Pick {qn}, "
                             "choices: [One, Two, Three, Four, Five], other: true}")
            elif kind == 7:
                lines.append(f"      - {{id: {qid}, type: number, text: Minutes {qn}, integer: true, min: 0}}")
            elif kind == 8:
                lines.append(f"      - {{id: {qid}, type: date, text: Day {qn}}}")
            else:
                lines.append(f"      - {{id: {qid}, type: text, long: true, max_length: 4000, text: Say {qn}}}")
    return "\n".join(lines) + "\n"


def answers(rng: random.Random) -> dict[str, Any]:
    """Return one plausible stored answer dict for the benchmark instrument."""
    out: dict[str, Any] = {}
    for qn in range(1, 41):
        qid, kind = f"q{qn:02d}", (qn - 1) % 10
        if rng.random() < 0.08 and kind != 0:
            continue  # not shown
        if rng.random() < 0.05 and kind != 0:
            out[qid] = None
        elif kind in (0, 1, 2, 3):
            out[qid] = rng.choice(("alpha", "beta", "gamma", "delta"))
        elif kind in (4, 5):
            out[qid] = rng.randint(1, 5)
        elif kind == 6:
            picked = [c for c in ("one", "two", "three", "four", "five", "other") if rng.random() < 0.3]
            out[qid] = picked
            if "other" in picked:
                out[f"{qid}.other"] = " ".join(rng.choices(WORDS, k=3))
        elif kind == 7:
            out[qid] = rng.randint(5, 240)
        elif kind == 8:
            out[qid] = (dt.date(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 700))).isoformat()
        else:
            out[qid] = " ".join(rng.choices(WORDS, k=rng.randint(5, 60)))
    return out


def build(folder: Path, n: int, seed: int = 7) -> tuple[str, Path]:
    """Create the instrument file and a SQLite database with *n* responses; return (url, instruments dir)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from surveyapp.db import make_engine, upgrade
    from surveyapp.models import Response, random_key
    from surveyapp.surveys import create_survey

    instruments = folder / "instruments"
    instruments.mkdir()
    (instruments / "bench-survey.yaml").write_text(instrument_yaml(), encoding="utf-8")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    with Session(engine) as session:
        survey = create_survey(session, instruments, "bench-survey", SLUG, "Benchmark survey")
        version = survey.instrument_version
        session.commit()
        for start in range(0, n, 5000):
            session.execute(insert(Response), [
                {"key": random_key(), "survey_slug": SLUG, "instrument_id": version.instrument_id,
                 "instrument_version": version.version, "instrument_sha256": version.sha256,
                 "submitted_on": dt.date(2022, 3, 1), "answers": answers(rng)}
                for _ in range(min(5000, n - start))])
            session.commit()
    engine.dispose()
    return url, instruments


def row_function(instruments: Path):  # type: ignore[no-untyped-def]
    """Return (headers, answers -> cells) of the raw data, built as the export builds them."""
    from exports.columns import raw_columns, row_reader
    from instrument import load_instrument

    columns = raw_columns(load_instrument(instruments / "bench-survey.yaml"))
    read = row_reader(columns)
    dates = [i for i, c in enumerate(columns) if c.question.type == "date"]

    def row(answers: dict[str, Any]) -> list[Any]:
        cells = read(answers)
        for i in dates:
            if cells[i]:
                cells[i] = dt.date.fromisoformat(cells[i])
        return cells

    return [c.header for c in columns], row


# Children: each runs in its own process so its peak memory is its own. ------------------------------------


def _stream(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from surveyapp.models import Response

    engine = create_engine(url)
    with Session(engine) as session:
        query = (select(Response.answers).where(Response.survey_slug == SLUG).order_by(Response.key)
                 .execution_options(yield_per=1000))
        for (answers,) in session.execute(query):
            yield answers
    engine.dispose()


def child_floor(url: str, out: str, instruments: str) -> None:
    """The floor: stream, build the same cells, append to a write-only sheet, save."""
    from openpyxl import Workbook

    headers, row = row_function(Path(instruments))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Raw data")
    ws.append(headers)
    for answers in _stream(url):
        ws.append(row(answers))
    wb.save(out)


def child_pandas(url: str, out: str, instruments: str) -> None:
    """What a user would do: the same cells into a DataFrame, then DataFrame.to_excel."""
    import pandas as pd

    headers, row = row_function(Path(instruments))
    frame = pd.DataFrame([row(a) for a in _stream(url)], columns=headers)
    frame.to_excel(out, index=False, engine="openpyxl")


# A child's peak is read from its own /proc/self/status (VmHWM) as it exits: the kernel's maxrss of a child
# (wait4, getrusage) also counts the pages of the parent it was forked from, before exec.
PEAK_HOOK = """
import atexit, sys
def _report_peak():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    sys.stderr.write("PEAK_KB " + line.split()[1] + "\\n")
    except OSError:
        pass
atexit.register(_report_peak)
"""


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run *command*; return (wall seconds, peak resident memory in MB of that process after its exec)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    error = done.stderr.decode()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{error}")
    peaks = [line.split()[1] for line in error.splitlines() if line.startswith("PEAK_KB ")]
    if not peaks:
        raise SystemExit("no peak memory reported (this benchmark reads /proc, so it needs Linux)")
    return seconds, int(peaks[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="5,000 responses instead of 50,000")
    parser.add_argument("--responses", type=int, help="number of responses (overrides --quick)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of floor and export, best kept (default 2)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas contender (slow, large)")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "URL", "OUT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        exec(PEAK_HOOK)  # noqa: S102 - our own constant: report this process's peak memory at exit
        kind, url, out, instruments = args.child
        {"floor": child_floor, "pandas": child_pandas}[kind](url, out, instruments)
        return

    n = args.responses or (5_000 if args.quick else 50_000)
    tenth = max(n // 10, 1)
    with tempfile.TemporaryDirectory(prefix="surveykit-bench-") as tmp:
        folder = Path(tmp)
        (folder / "big").mkdir()
        (folder / "small").mkdir()
        started = time.perf_counter()
        url, instruments = build(folder / "big", n)
        small_url, small_instruments = build(folder / "small", tenth)
        headers, _ = row_function(instruments)
        print(f"built {n:,} (and {tenth:,}) responses x 40 questions in {time.perf_counter() - started:.1f} s; "
              f"raw data {len(headers)} columns, {n * len(headers):,} cells")

        def env_for(db_url: str, folder_of_instruments: Path) -> dict[str, str]:
            return {**os.environ, "SURVEYKIT_DATABASE_URL": db_url, "SURVEYKIT_SECRET_KEY": "bench",
                    "SURVEYKIT_INSTRUMENTS_DIR": str(folder_of_instruments)}

        surveykit = [sys.executable, "-c", PEAK_HOOK + "from surveyapp.cli import main; main()"]
        floor_cmd = [sys.executable, __file__, "--child", "floor", url, str(folder / "floor.xlsx"), str(instruments)]
        export_cmd = [*surveykit, "export", SLUG, "--out", str(folder / "export.xlsx")]
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "export": [], "startup": []}
        for _ in range(max(args.repeat, 1)):  # interleaved, so a busy moment of the machine hits both
            runs["floor"].append(run(floor_cmd, os.environ.copy()))
            runs["export"].append(run(export_cmd, env_for(url, instruments)))
            runs["startup"].append(run([*surveykit, "export", "--help"], env_for(url, instruments)))
        results = {name: (min(t for t, _ in r), max(m for _, m in r)) for name, r in runs.items()}
        results[f"export, {tenth:,} responses"] = run(
            [*surveykit, "export", SLUG, "--out", str(folder / "small.xlsx")], env_for(small_url, small_instruments))
        if not args.no_pandas:
            results["pandas.to_excel"] = run([sys.executable, __file__, "--child", "pandas", url,
                                              str(folder / "pandas.xlsx"), str(instruments)], os.environ.copy())

    floor_time, floor_memory = results["floor"]
    export_time, export_memory = results["export"]
    startup_time, startup_memory = results["startup"]
    print(f"\n{'contender':<28}{'seconds':>9}{'peak MB':>9}{'time/floor':>12}{'memory/floor':>14}")
    for name, (seconds, memory) in results.items():
        print(f"{name:<28}{seconds:>9.2f}{memory:>9.1f}{seconds / floor_time:>11.2f}x{memory / floor_memory:>13.2f}x")
    print("\nstartup = `surveykit export --help`: the app and every command group loaded, nothing exported.")
    work = export_time - startup_time
    print(f"export without startup: {work:.2f} s = {work / floor_time:.2f}x the floor; "
          f"its memory above startup: {export_memory - startup_memory:.1f} MB "
          f"(at {tenth:,} responses: {results[f'export, {tenth:,} responses'][1] - startup_memory:.1f} MB)")
    print(f"target export <= 1.20x floor time: {export_time / floor_time:.2f}x end to end "
          f"({'met' if export_time <= 1.2 * floor_time else 'not met'}); "
          f"peak <= 100 MB: {export_memory:.1f} MB ({'met' if export_memory <= 100 else 'not met'})")


if __name__ == "__main__":
    main()
