"""The wording of the e-mails: shipped defaults, a survey's own templates, checking them, filling them in."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail import Email
from ..models import MailTemplate
from ..studies.models import Study, StudyWave

KINDS = ("invitation", "reminder")
TEMPLATES = Path(__file__).parent.parent / "templates" / "email"
DEFAULT_SUBJECTS = {"invitation": "Invitation: {{ survey_title }}", "reminder": "Reminder: {{ survey_title }}"}

# A confidential study's participants are known to the team: its wording must never promise anonymity.
_ANONYMOUS = re.compile(r"anonym", re.IGNORECASE)

_sandbox = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_sandbox_html = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


def default_template(kind: str, confidential: bool = False) -> tuple[str, str, str]:
    """Return the shipped (subject, text, html) of *kind*; *confidential*: the wording of a confidential study."""
    name = f"{kind}.confidential" if confidential else kind
    return (DEFAULT_SUBJECTS[kind], (TEMPLATES / f"{name}.txt").read_text(encoding="utf-8"),
            (TEMPLATES / f"{name}.html").read_text(encoding="utf-8"))


def confidential_wave(db: Session, slug: str) -> str | None:
    """Return the slug of the confidential study survey *slug* is a wave of, else None."""
    return db.scalar(select(Study.slug).join(StudyWave, StudyWave.study_slug == Study.slug)
                     .where(StudyWave.survey_slug == slug, Study.linkage == "confidential"))


def promises_anonymity(subject: str, text: str, html: str) -> bool:
    """Say whether a wording says "anonymous" (or anonymity, anonymously) anywhere."""
    return any(_ANONYMOUS.search(part) for part in (subject, text, html))


def survey_template(db: Session, slug: str, kind: str) -> tuple[str, str, str]:
    """Return the survey's (subject, text, html) of *kind*: its own wording, else the default (a confidential
    study's wave gets the confidential default)."""
    row = db.get(MailTemplate, (slug, kind))
    if row is None:
        return default_template(kind, confidential_wave(db, slug) is not None)
    return row.subject, row.text_body, row.html_body


def check_template(subject: str, text: str, html: str) -> list[str]:
    """Return what is wrong with an investigator's wording (syntax errors by part and line; the link missing)."""
    problems = []
    for part, source, env in (("subject", subject, _sandbox), ("plain text", text, _sandbox),
                              ("HTML", html, _sandbox_html)):
        try:
            env.from_string(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            problems.append(f"{part}{f' line {line}' if line else ''}: {exc}")
    if not subject.strip():
        problems.append("subject: empty")
    if not problems:
        if "link" not in meta.find_undeclared_variables(_sandbox.parse(text)):
            problems.append("plain text: must contain {{ link }}, or invitees get no way to answer")
        if html.strip() and "link" not in meta.find_undeclared_variables(_sandbox_html.parse(html)):
            problems.append("HTML: must contain {{ link }} (or leave the HTML empty to send plain text only)")
    if not problems:
        try:
            render_email(subject, text, html, "x@example.org", _sample_context())
        except TemplateError as exc:
            problems.append(f"cannot be filled in: {exc}")
    return problems


def _sample_context() -> dict[str, Any]:
    return {"survey_title": "Survey", "link": "https://example.org/i/TOKEN", "department": "Department",
            "closes_on": dt.date.today(), "open_mode": False}


# The link in a preview or a test message: the shape of an invitee's link, opening no invitation (tokens are random
# URL-safe text; this one holds no token's hash, so /i/ answers "not a valid link").
SAMPLE_TOKEN = "sample-link-opens-no-invitation"


def sample_link(survey: Any, base_url: str) -> str:
    """Return the link a preview shows: an open survey's own address, else a link that opens no invitation."""
    base = base_url.rstrip("/")
    return f"{base}/s/{survey.slug}" if survey.mode == "open" else f"{base}/i/{SAMPLE_TOKEN}"


def sample_email(survey: Any, subject: str, text: str, html: str, to: str, base_url: str) -> Email:
    """Fill in a wording for *survey* as an invitee would get it, with a sample link and department (the preview
    and the test message to the investigator)."""
    return render_email(subject, text, html, to, {"survey_title": survey.title, "link": sample_link(survey, base_url),
                                                  "department": "(the invitee's department)",
                                                  "closes_on": survey.closes_on, "open_mode": survey.mode == "open"})


def render_email(subject: str, text: str, html: str, to: str, context: dict[str, Any]) -> Email:
    """Fill in a template triple in the sandbox (investigators edit them: no access to Python objects)."""
    subject_text = " ".join(_sandbox.from_string(subject).render(context).split())
    body = _sandbox.from_string(text).render(context)
    html_body = _sandbox_html.from_string(html).render(context) if html.strip() else None
    return Email(to=to, subject=subject_text, text=body, html=html_body)


def survey_wording_problems(db: Session, slug: str, subject: str, text: str, html: str) -> list[str]:
    """Return what is wrong with a wording for survey *slug*: :func:`check_template`'s problems, and "anonymous"
    in a wave of a confidential study."""
    problems = check_template(subject, text, html)
    study = confidential_wave(db, slug)
    if study is not None and promises_anonymity(subject, text, html):
        problems.append(f"this survey is a wave of the confidential study '{study}': its participants are known "
                        "to the team, so the wording must say \"confidential\", never \"anonymous\"")
    return problems


def save_template(db: Session, slug: str, kind: str, subject: str, text: str, html: str) -> None:
    """Keep a survey's own wording of *kind* after checking it (raises ValueError listing the problems)."""
    problems = survey_wording_problems(db, slug, subject, text, html)
    if problems:
        raise ValueError("; ".join(problems))
    row = db.get(MailTemplate, (slug, kind))
    if row is None:
        db.add(MailTemplate(survey_slug=slug, kind=kind, subject=subject, text_body=text, html_body=html))
    else:
        row.subject, row.text_body, row.html_body = subject, text, html
