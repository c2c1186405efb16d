"""The log-in form, and the forms of the set-password and set-up links."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from .models import MIN_PASSWORD


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=1000, message=f"at least {MIN_PASSWORD} characters")])
    confirm = PasswordField("The same password again", validators=[
        DataRequired(), EqualTo("password", message="the two passwords differ")])


class SetupForm(SetPasswordForm):
    email = EmailField("Your e-mail address", validators=[DataRequired(), Length(max=320)])
    name = StringField("Your name (shown in the pages)", validators=[Optional(), Length(max=200)])


class MemberForm(FlaskForm):
    """Add an account to a survey's or a project's team; the view fills the choices."""

    user = SelectField("Account", coerce=int, validators=[DataRequired()])
    role = SelectField("Role in the team")
