"""`surveykit users`: create investigators' accounts, set their passwords, list them."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import get_session
from .models import MIN_PASSWORD, AuthError, User, create_user, end_sessions
from .throttle import forget_account, throttle_secret

users_group = AppGroup("users", help="Investigators' accounts (respondents never log in).")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Name shown in the pages (default: none).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def create_user_command(email: str, name: str, password_stdin: bool) -> None:
    """Create an investigator's account for EMAIL (prompts twice for the password)."""
    password = _read_password(password_stdin)
    db = get_session()
    try:
        user = create_user(db, email, password, name)
    except AuthError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"account created for {user.email}")


@users_group.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def set_password_command(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL, end its logins everywhere and lift its log-in waits."""
    db = get_session()
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account for {email}")
    password = _read_password(password_stdin)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password must have at least {MIN_PASSWORD} characters")
    user.set_password(password)
    db.flush()
    end_sessions(db, user.id)
    forget_account(db, throttle_secret(current_app.secret_key or ""), user.email)
    db.commit()
    click.echo(f"password changed for {user.email}")


@users_group.command("list")
def list_users_command() -> None:
    """List investigators' accounts."""
    users = get_session().scalars(select(User).order_by(User.email)).all()
    if not users:
        click.echo("no accounts yet: create one with 'surveykit users create EMAIL'")
    for u in users:
        click.echo(f"{u.email:40} {u.name}")
