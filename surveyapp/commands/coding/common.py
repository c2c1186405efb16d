"""What the `surveykit coding` commands share: the group, --by/--why, loading a project, failing cleanly."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, NoAppException, ScriptInfo
from sqlalchemy.orm import Session

from coding import projects
from coding.store import Project, ProjectError

from ...auth.models import account_names

group = AppGroup("coding", help="Team coding: projects, blind coding, agreement, codebooks, theme tables.")
F = TypeVar("F", bound=Callable[..., Any])


def _default_who() -> str:
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "command line"


def by_option(f: F) -> F:
    """Add --by WHO, recorded in the audit log and on consensus decisions."""
    return click.option("--by", "who", default=_default_who, show_default="your user name",
                        help="Who does this (an investigator's e-mail), for the audit log.")(f)


def why_option(f: F) -> F:
    """Add --why REASON, required: the audit log says why the codebook changed."""
    return click.option("--why", required=True, help="Why the codebook changes (kept in the audit log).")(f)


def fail(session: Session, exc: Exception) -> click.ClickException:
    """Roll the command's transaction back and return the error to raise."""
    session.rollback()
    return click.ClickException(str(exc))


def get_project(session: Session, name: str) -> Project:
    """Return the project called *name*, or stop the command naming it."""
    try:
        return projects.get_project(session, name)
    except ProjectError as exc:
        raise click.ClickException(str(exc)) from None


def load_app(ctx: click.Context) -> Flask | None:
    """Return the app when one can be loaded (the surveykit command, a test runner), else None."""
    try:
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    except RuntimeError:
        pass
    try:
        return ctx.ensure_object(ScriptInfo).load_app()
    except NoAppException:
        return None


def coder_names(session: Session) -> dict[str, str]:
    """Return address -> account name for every account that has a name (coders are shown by it)."""
    return account_names(session)
