"""`surveykit users`: create accounts (with a role), set their passwords, list them, print the set-up link."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import get_session
from . import links
from .models import MIN_PASSWORD, ROLES, AuthError, User, create_user, end_sessions
from .throttle import forget_account, throttle_secret

users_group = AppGroup("users", help="Investigators' accounts (respondents never log in).")
SETUP_HINT = "or create it here: surveykit users create you@hospital.example"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Name shown in the pages (default: none).")
@click.option("--role", type=click.Choice(ROLES), default=None,
              help="admin, investigator, coder or viewer (default: admin for the first account, investigator after).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def create_user_command(email: str, name: str, role: str | None, password_stdin: bool) -> None:
    """Create an account for EMAIL (prompts twice for the password)."""
    password = _read_password(password_stdin)
    db = get_session()
    if role is None:
        role = "investigator" if links.account_count(db) else "admin"
    try:
        user = create_user(db, email, password, name, role=role)
    except AuthError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"account created for {user.email} ({user.role})")


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
    """List the accounts with their role and state."""
    users = get_session().scalars(select(User).order_by(User.email)).all()
    if not users:
        click.echo("no accounts yet: create one with 'surveykit users create EMAIL'")
    for u in users:
        state = "disabled" if u.disabled else ("invited" if not u.password_hash else "active")
        click.echo(f"{u.email:40} {u.role:12} {state:9} {u.name}")


def print_setup_link() -> bool:
    """Print a new set-up link for the first admin when there is no account; return whether one was printed."""
    db = get_session()
    token = links.new_setup(db)
    if token is None:
        return False
    db.commit()
    base = current_app.config["SURVEYKIT_BASE_URL"].rstrip("/")
    click.echo(f"surveykit: no account yet. Open this one-time link to create the first (admin) account:\n"
               f"  {base}/auth/setup/{token}\n  ({SETUP_HINT})")
    return True


@users_group.command("setup-link")
def setup_link_command() -> None:
    """Print the one-time link that creates the first (admin) account, when there is no account yet."""
    if not print_setup_link():
        click.echo("accounts exist already: an admin invites people at /admin/users")
