"""The app and its commands start without the analysis libraries; the commands that analyse load them.

Each check runs in a fresh interpreter: in the test process, other tests have long since imported everything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import INSTRUMENTS

HEAVY = ("sklearn", "scipy", "pandas", "nltk", "statsmodels", "pyreadstat")

SCRIPT = """
import csv, json, sys
from surveyapp import create_app

HEAVY = {heavy!r}
loaded = lambda: sorted(m for m in HEAVY if m in sys.modules)
app = create_app({{"TESTING": True, "INSTANCE_PATH": {instance!r}, "SURVEYKIT_DATABASE_URL": {url!r},
                  "SURVEYKIT_SECRET_KEY": "test-secret"}})
after_app = loaded()
help_result = app.test_cli_runner().invoke(args=["export", "--help"])
after_help = loaded()

from surveyapp.db import upgrade

upgrade(app.config["DATABASE_URL"])  # `coding evaluate` looks for a project of that name first
from coding.assist.synthetic import make_dataset

data = make_dataset(40, error_rate=0.1, seed=3)
with open({sheet!r}, "w", newline="", encoding="utf-8") as handle:
    out = csv.writer(handle)
    out.writerow(["unit", "text", "coder", "codes"])
    for unit, by in data.codings.items():
        for coder, codes in by.items():
            out.writerow([unit, data.units[unit], coder, "; ".join(sorted(codes))])
after_data = loaded()
evaluated = app.test_cli_runner().invoke(args=["coding", "evaluate", {sheet!r}, "--folds", "2", "--json"])
print(json.dumps({{"after_app": after_app, "help_exit": help_result.exit_code, "after_help": after_help,
                  "after_data": after_data, "evaluate_exit": evaluated.exit_code,
                  "evaluate_output": evaluated.output + repr(evaluated.exception), "after_evaluate": loaded()}}))
"""


def _run(tmp_path: Path) -> dict:
    script = SCRIPT.format(heavy=HEAVY, instance=str(tmp_path / "instance"),
                           url=f"sqlite:///{tmp_path / 'imports.sqlite3'}", sheet=str(tmp_path / "coded.csv"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_analysis_libraries_load_only_when_a_command_analyses(tmp_path):
    found = _run(tmp_path)
    # Building the app (every blueprint and command group) and a command that analyses nothing load none.
    assert found["after_app"] == []
    assert found["help_exit"] == 0
    assert found["after_help"] == []
    assert found["after_data"] == []
    # `coding evaluate` fits suggestions (scikit-learn, SciPy) on stemmed text (nltk): now they load.
    assert found["evaluate_exit"] == 0, found["evaluate_output"]
    assert "suggestions_vs_humans" in found["evaluate_output"]
    assert {"sklearn", "scipy", "nltk"} <= set(found["after_evaluate"])


# Start-up: the web worker and the commands that read or list load none of the file-format and numeric
# libraries (openpyxl alone costs ~280 ms and brings numpy and lxml); the commands that write a workbook do.
START_HEAVY = ("openpyxl", "numpy", "lxml", "pandas", "scipy", "sklearn", "statsmodels", "pyreadstat",
               "matplotlib", "nltk")

COMMAND = """
import json, sys
from surveyapp.cli import main

code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print()
print(json.dumps({{"exit": code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""

APP = """
import json, sys
from surveyapp import create_app

create_app({{"INSTANCE_PATH": {instance!r}}})
print(json.dumps({{"loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SURVEYKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite3'}",
            "SURVEYKIT_SECRET_KEY": "test-secret", "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS)}


def _surveykit(tmp_path: Path, *args: str) -> dict:
    """Run `surveykit ARGS` as the installed entry point does, in a fresh interpreter; say what it loaded."""
    done = subprocess.run([sys.executable, "-c", COMMAND.format(heavy=START_HEAVY), *args], env=_env(tmp_path),
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["exit"] == 0, done.stdout + done.stderr
    return found


def test_a_web_worker_starts_without_the_heavy_libraries(tmp_path):
    done = subprocess.run([sys.executable, "-c", APP.format(heavy=START_HEAVY, instance=str(tmp_path / "instance"))],
                          env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["loaded"] == []


def test_help_and_instruments_check_load_no_heavy_library_but_a_workbook_export_does(tmp_path):
    assert _surveykit(tmp_path, "--help")["loaded"] == []
    assert _surveykit(tmp_path, "instruments", "check", str(INSTRUMENTS))["loaded"] == []
    _surveykit(tmp_path, "db", "upgrade")
    _surveykit(tmp_path, "surveys", "demo")
    # A CSV export writes through the shared atomic save without openpyxl ...
    csv_export = _surveykit(tmp_path, "export", "department-survey", "--out", str(tmp_path / "raw.csv"))
    assert (tmp_path / "raw.csv").exists()
    assert csv_export["loaded"] == []
    # ... and the control: the same check does see openpyxl (and numpy, lxml through it) when a workbook is written.
    xlsx_export = _surveykit(tmp_path, "export", "department-survey", "--out", str(tmp_path / "survey.xlsx"))
    assert (tmp_path / "survey.xlsx").exists()
    assert "openpyxl" in xlsx_export["loaded"]
