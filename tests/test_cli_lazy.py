"""`surveykit --help` lists every command without importing one; each command loads (guarded) when it runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from surveyapp.cli import cli
from surveyapp.commands import COMMANDS, load

SCRIPT = """
import json, sys
from surveyapp.cli import main

try:
    main()
except SystemExit:
    pass
print()
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'lazy.sqlite3'}",
           "SURVEYKIT_SECRET_KEY": "test-secret"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=300)
    lines = done.stdout.splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


def test_the_listed_help_is_each_commands_own():
    for name, (_module, _attribute, short_help) in COMMANDS.items():
        command = load(name)
        assert command.name == name
        assert command.get_short_help_str(limit=500) == short_help, name


# What `surveykit --help` must not load: the database layer, forms, translations, the instrument library and the
# spreadsheet and numeric libraries (start-up time; the app and the commands import them when they run).
HEAVY = ("sqlalchemy", "flask_wtf", "wtforms", "babel", "flask_babel", "flask_compress", "instrument", "openpyxl",
         "xlsxwriter", "numpy", "lxml", "yaml", "alembic")


def _top_level(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_loads_no_heavy_library(tmp_path):
    _output, modules = _loaded(tmp_path, "--help")
    assert not _top_level(modules) & set(HEAVY), sorted(_top_level(modules) & set(HEAVY))
    # Control: a command that works on instruments loads the database layer and the instrument library.
    _output, modules = _loaded(tmp_path, "instruments", "list")
    assert {"sqlalchemy", "instrument", "flask_wtf"} <= _top_level(modules)


def test_help_lists_every_command_without_importing_any(tmp_path):
    output, modules = _loaded(tmp_path, "--help")
    for name in COMMANDS:
        assert f"\n  {name} " in output, name
    assert not [m for m in modules if m.startswith("surveyapp.commands.") or m.endswith(".routes")], modules
    assert "surveyapp.respond" not in modules  # the app (its blueprints) was not built
    # Control: the same check sees a command's module, and the app, once that command runs.
    output, modules = _loaded(tmp_path, "instruments", "list")
    assert "surveyapp.commands.instruments" in modules
    assert "surveyapp.respond" in modules


def test_the_test_runner_and_the_command_see_the_same_commands(app):
    assert set(COMMANDS) <= set(app.cli.list_commands(click.Context(app.cli)))
    context = click.Context(cli)
    for name in COMMANDS:
        assert app.cli.get_command(context, name) is cli.get_command(context, name)



# What checking instrument files needs: the instrument library and YAML, not the database layer, forms or the app.
APP_ONLY = ("sqlalchemy", "flask_wtf", "wtforms", "flask_babel", "flask_compress", "alembic", "openpyxl")
SHIPPED = Path(__file__).resolve().parent.parent / "instruments"


def test_instruments_check_loads_neither_the_database_layer_nor_the_app(tmp_path, monkeypatch):
    # The default folder (no path given) comes from the settings, which are read without building the app.
    monkeypatch.setenv("SURVEYKIT_INSTRUMENTS_DIR", str(SHIPPED))
    for args in (["instruments", "check", str(SHIPPED)], ["instruments", "check"]):
        output, modules = _loaded(tmp_path, *args)
        assert "instrument(s) valid" in output, (args, output)
        assert "instrument" in _top_level(modules)
        assert not _top_level(modules) & set(APP_ONLY), (args, sorted(_top_level(modules) & set(APP_ONLY)))
        assert "surveyapp.respond" not in modules
    assert not (tmp_path / "lazy.sqlite3").exists()
