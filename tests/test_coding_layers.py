"""The coding CLI stands apart from the coding web pages: loading the commands loads no view module."""

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
import surveyapp.commands.assist, surveyapp.commands.coding
print(sorted(m for m in sys.modules if m.startswith("surveyapp.coding_web")))
"""


def test_coding_commands_do_not_import_the_web() -> None:
    # A fresh interpreter: in the test process other tests have imported the web long ago.
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
