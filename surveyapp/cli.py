"""The one `surveykit` command: Flask's CLI group, with surveykit's groups added by the app factory."""

from __future__ import annotations

from flask.cli import FlaskGroup

from . import create_app

cli = FlaskGroup(create_app=create_app, load_dotenv=False, set_debug_flag=False,
                 help="surveykit: survey design, anonymous collection and qualitative coding.")


def main() -> None:
    """Run the `surveykit` command."""
    cli.main(prog_name="surveykit")
