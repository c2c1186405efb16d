"""The web pages never load the command-line modules, and the commands of the web edge never load the pages.

Each check imports one module in a fresh interpreter and lists which modules of the other side came with it.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PAGES = ("surveyapp.admin.routes", "surveyapp.admin.downloads", "surveyapp.auth.routes",
         "surveyapp.invitations.links", "surveyapp.respond", "surveyapp.pages")
COMMANDS = ("surveyapp.commands.surveys", "surveyapp.commands.exports", "surveyapp.auth.commands")

SCRIPT = """
import importlib, json, sys
importlib.import_module({module!r})
print(json.dumps(sorted(m for m in sys.modules if m in {other!r} or m.startswith({prefixes!r}))))
"""


def _loaded(module: str, other: tuple[str, ...]) -> list[str]:
    script = SCRIPT.format(module=module, other=other, prefixes=tuple(f"{m}." for m in other))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("page", PAGES)
def test_a_page_module_loads_no_command(page):
    assert _loaded(page, ("surveyapp.commands", "surveyapp.auth.commands")) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_module_loads_no_page(command):
    assert _loaded(command, PAGES) == []
