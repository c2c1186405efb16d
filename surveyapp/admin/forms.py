"""Forms of the investigators' pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, EmailField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from ..auth.models import ROLES


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class CreateSurveyForm(FlaskForm):
    instrument = SelectField("Instrument", validators=[DataRequired()])
    slug = StringField("Survey id (in the address /s/<id>)", validators=[
        DataRequired(), Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", message="2-63 lower-case letters, digits and '-'")])
    title = StringField("Title shown to respondents", validators=[Optional(), Length(max=300)])
    mode = SelectField("Mode", choices=[SelectChoice("invitation", "By invitation: one single-use link per invitee"),
                                        SelectChoice("open", "Open: one public link")], default="invitation")
    opens = DateField("Opens on", validators=[Optional()])
    closes = DateField("Closes on", validators=[Optional()])
    reminder_days = IntegerField("Reminder after (days)", default=7, validators=[NumberRange(min=0, max=365)])


class RosterForm(FlaskForm):
    roster = FileField("Roster (CSV or XLSX with columns email, department)", validators=[
        FileRequired(), FileAllowed(["csv", "xlsx", "txt"], "a .csv or .xlsx file")])


class MailTemplateForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=300)])
    text_body = TextAreaField("Plain text", validators=[DataRequired(), Length(max=20000)])
    html_body = TextAreaField("HTML (optional)", validators=[Optional(), Length(max=50000)])


class InviteAccountForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    name = StringField("Name (shown in the pages)", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r, r) for r in ROLES], default="investigator")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r, r) for r in ROLES])

