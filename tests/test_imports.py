"""The app and its commands start without the analysis libraries; the commands that analyse load them.

Each check runs in a fresh interpreter: in the test process, other tests have long since imported everything.
"""

import json
import subprocess
import sys
from pathlib import Path

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
