"""Forms of the reviewers' pages (Flask-WTF: every POST carries a CSRF token).

Code choices (checkbox lists) are read from ``request.form.getlist`` and checked against the project's
codebook by the coding library, so only the free-text fields are declared here.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from coding.codebook.stored import FIELDS

COLOR = Regexp(r"^(#[0-9A-Fa-f]{6})?$", message="a colour such as #1F77B4")
WHY = [DataRequired(message="Say why: the audit log keeps it."), Length(max=2000)]


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class CodingForm(FlaskForm):
    memo = TextAreaField("Memo", validators=[Optional(), Length(max=10000)])


class ConsensusForm(FlaskForm):
    note = TextAreaField("Note (why the team decided so)", validators=[Optional(), Length(max=10000)])


class _DefinitionFields(FlaskForm):
    """What a code means, as the codebook shows it: shared by adding a code and editing one."""

    definition = TextAreaField("Definition", validators=[Optional(), Length(max=10000)])
    use_when = TextAreaField("Use when", validators=[Optional(), Length(max=10000)])
    not_when = TextAreaField("Do not use when", validators=[Optional(), Length(max=10000)])
    example = TextAreaField("Example", validators=[Optional(), Length(max=10000)])
    color = StringField("Colour", validators=[Optional(), COLOR])
    why = StringField("Why", validators=WHY)

    def meaning(self) -> dict[str, Any]:
        """Return the keyword arguments ``add_code``/``edit_code`` take for what the code means, and the reason."""
        values: dict[str, Any] = {k: getattr(self, k).data or "" for k in FIELDS}
        return {**values, "color": self.color.data or None, "why": self.why.data or ""}


class AddCodeForm(_DefinitionFields):
    parent = SelectField("Under", validate_choice=False)
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])


class EditCodeForm(_DefinitionFields):
    code = HiddenField(validators=[DataRequired()])


class EvolveForm(FlaskForm):
    """Rename, move, merge, split, retire or restore one code; which fields matter depends on the action."""

    action = SelectField("Change", choices=[SelectChoice(v, label) for v, label in (
        ("rename", "Rename to"), ("move", "Move under"), ("merge", "Merge into"),
        ("split", "Split into (names, ';' between)"), ("retire", "Retire"), ("restore", "Restore"))])
    code = HiddenField(validators=[DataRequired()])
    new_name = StringField("New name", validators=[Optional(), Length(max=200)])
    target = SelectField("Code", validate_choice=False)
    parts = StringField("New codes", validators=[Optional(), Length(max=2000)])
    why = StringField("Why", validators=WHY)


class ImportCodebookForm(FlaskForm):
    file = FileField("Codebook (.yaml or .qdc)", validators=[
        FileRequired(), FileAllowed(["yaml", "yml", "qdc"], "a .yaml, .yml or .qdc file")])
    why = StringField("Why", validators=WHY)


def code_choices(paths: list[str], top: str = "(top level)") -> list[SelectChoice]:
    """Return select options for a code: the top level (value '') and every code path."""
    return [SelectChoice("", top)] + [SelectChoice(p, p) for p in paths]


class NewProjectForm(FlaskForm):
    """A new project from a survey's open-ended answers; the questions are checkboxes read from the request."""

    name = StringField("Project name", validators=[DataRequired(message="Give the project a name."),
                                                   Length(max=100)])
    survey = HiddenField(validators=[DataRequired(message="Choose a survey.")])


class RefreshForm(FlaskForm):
    round = StringField("Name of the new round (optional)", validators=[Optional(), Length(max=100)])


class ImportSheetForm(FlaskForm):
    file = FileField("Coded spreadsheet (.csv or .xlsx)", validators=[
        FileRequired(message="Choose a .csv or .xlsx file."),
        FileAllowed(["csv", "xlsx", "xlsm", "txt", "tsv"], "a .csv or .xlsx file")])
