"""Accounts in the browser (admins only, /admin/users): invite by e-mail, change roles, disable and enable; and
a survey's team (its owners and members), added on the survey's page.

An invitation makes an account without a password and e-mails it a single-use set-password link
(:mod:`surveyapp.auth.links`) through the configured SMTP server (:mod:`surveyapp.mail`); when no server is set
or it does not take the message, the page shows the link for the admin to pass on, and says so. There is always
an enabled admin left: nobody can disable or demote the last one.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import func, select

from ..auth import links
from ..auth.access import allowed
from ..auth.members import SURVEY_ACCOUNTS, SURVEY_ROLES, SurveyMember, drop_member, save_member, team_form
from ..auth.models import ROLES, AuthError, User, create_user, end_sessions
from ..db import get_session
from ..mail import Email, Mailer, MailError, MaybeSent, SmtpSettings
from .forms import ActionForm, InviteAccountForm, RoleForm
from .routes import bp, survey_or_404


def _account(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404, f"There is no account {user_id}.")
    return user


def _users_page(invite: InviteAccountForm | None = None, shown_link: str | None = None, status: int = 200) -> Any:
    db = get_session()
    users = db.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=users, roles=ROLES, invite=invite or InviteAccountForm(),
                           action=ActionForm(), shown_link=shown_link,
                           hours=current_app.config["SURVEYKIT_INVITE_HOURS"]), status


@bp.get("/users")
@allowed("accounts")
def users() -> Any:
    """List the accounts with their role and state; the invitation form."""
    return _users_page()


def _link_url(token: str) -> str:
    return f"{current_app.config['SURVEYKIT_BASE_URL'].rstrip('/')}{url_for('auth.set_password', token=token)}"


def _send_link(user: User, url: str) -> str | None:
    """E-mail *url* to *user*; return None when the server took it, else why not (the page then shows it)."""
    config = current_app.config
    if not str(config["SURVEYKIT_SMTP_HOST"]).strip():
        return "no mail server is set (SURVEYKIT_SMTP_HOST is empty)"
    hours = config["SURVEYKIT_INVITE_HOURS"]
    text = render_template("email/account_invite.txt", user=user, url=url, hours=hours)
    html = render_template("email/account_invite.html", user=user, url=url, hours=hours)
    try:
        settings = SmtpSettings.from_config(config)
        with Mailer(settings) as mailer:
            mailer.send(Email(to=user.email, subject="Your surveykit account", text=text, html=html))
    except (MailError, MaybeSent) as exc:
        return str(exc)
    return None


def _deliver(user: User, token: str) -> str | None:
    """Send the link; return it when it must be shown on the page instead."""
    url = _link_url(token)
    problem = _send_link(user, url)
    if problem is None:
        flash(f"A set-password link was e-mailed to {user.email}; it works once, within "
              f"{current_app.config['SURVEYKIT_INVITE_HOURS']} hours.", "info")
        return None
    flash(f"The link could not be e-mailed ({problem}): pass it on to {user.email} yourself, over a channel "
          "only they read. It works once.", "error")
    return url


@bp.post("/users/invite")
@allowed("accounts")
def invite_account() -> Any:
    """Create an account without a password and e-mail it a set-password link."""
    form = InviteAccountForm()
    if not form.validate_on_submit():
        return _users_page(form, status=422)
    db = get_session()
    try:
        user = create_user(db, form.email.data or "", None, form.name.data or "", role=form.role.data or "")
    except AuthError as exc:
        db.rollback()
        form.email.errors = [str(exc)]
        return _users_page(form, status=422)
    token = links.new_invite(db, user, int(current_app.config["SURVEYKIT_INVITE_HOURS"]))
    db.commit()  # before sending: a link e-mailed must already work
    return _users_page(shown_link=_deliver(user, token))


@bp.post("/users/<int:user_id>/link")
@allowed("accounts")
def resend_link(user_id: int) -> Any:
    """Send an account a new set-password link (the earlier one stops working)."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.users"))
    db = get_session()
    user = _account(user_id)
    token = links.new_invite(db, user, int(current_app.config["SURVEYKIT_INVITE_HOURS"]))
    db.commit()
    return _users_page(shown_link=_deliver(user, token))


def _other_admins(user: User) -> int:
    return int(get_session().scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.disabled.is_(False), User.id != user.id)) or 0)


@bp.post("/users/<int:user_id>/role")
@allowed("accounts")
def change_role(user_id: int) -> Any:
    """Give an account another role."""
    form = RoleForm()
    db = get_session()
    user = _account(user_id)
    if form.validate_on_submit():
        if user.role == "admin" and form.role.data != "admin" and not _other_admins(user):
            flash(f"{user.email} is the last admin: make someone else admin first.", "error")
        else:
            user.role = form.role.data or user.role
            db.commit()
            flash(f"{user.email} is now {user.role}.", "info")
    else:
        flash(f"Role: choose {', '.join(ROLES)}.", "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
@allowed("accounts")
def change_state(user_id: int, change: str) -> Any:
    """Disable an account (its logins end at once) or enable it again."""
    db = get_session()
    user = _account(user_id)
    if ActionForm().validate_on_submit():
        if change == "disable" and user.role == "admin" and not _other_admins(user):
            flash(f"{user.email} is the last admin: it cannot be disabled.", "error")
        else:
            user.disabled = change == "disable"
            db.flush()
            if user.disabled:
                end_sessions(db, user.id)
            db.commit()
            flash(f"{user.email} is {change}d.", "info")
    return redirect(url_for("admin.users"))


# A survey's team (shown on its page by routes.survey)

@bp.post("/s/<slug>/members")
@allowed("survey_members")
def add_survey_member(slug: str) -> Any:
    """Add an account to the survey's team, or change its role there."""
    survey_or_404(slug)
    db = get_session()
    save_member(db, team_form(db, SURVEY_ACCOUNTS, SURVEY_ROLES), SurveyMember, survey_slug=slug)
    return redirect(url_for("admin.survey", slug=slug))


@bp.post("/s/<slug>/members/<int:user_id>/remove")
@allowed("survey_members")
def remove_survey_member(slug: str, user_id: int) -> Any:
    """Take an account off the survey's team."""
    drop_member(get_session(), SurveyMember, user_id=user_id, survey_slug=slug)
    return redirect(url_for("admin.survey", slug=slug))
