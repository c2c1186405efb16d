"""Revocable links to a survey's shared results: a random token shown once, only its hash stored.

The token has 256 random bits, so its SHA-256 (the invitations' :func:`hash_token`) is enough: nobody can
guess one, and the database never holds a working link. Revoking keeps the row with its time, so the list
says which links were given out and when they stopped working.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..invitations.storage import hash_token
from ..models import ResultsLink, Survey, utcnow

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) gives


def create_link(db: Session, survey: Survey) -> str:
    """Store a new link to *survey*'s shared results and return its token (never stored, shown once)."""
    token = secrets.token_urlsafe(32)
    db.add(ResultsLink(survey_slug=survey.slug, token_hash=hash_token(token), created_at=utcnow()))
    return token


def survey_links(db: Session, slug: str) -> list[ResultsLink]:
    """Return the survey's links, newest first, revoked ones too."""
    return list(db.scalars(select(ResultsLink).where(ResultsLink.survey_slug == slug)
                           .order_by(ResultsLink.created_at.desc(), ResultsLink.key)))


def revoke_link(db: Session, slug: str, key: str) -> bool:
    """Revoke the survey's link *key*; False when there is no such link or it was revoked already."""
    link = db.get(ResultsLink, key)
    if link is None or link.survey_slug != slug or link.revoked_at is not None:
        return False
    link.revoked_at = utcnow()
    return True


def find_survey(db: Session, token: str) -> Survey | None:
    """Return the survey a working link's *token* opens; None for an unknown, malformed or revoked token."""
    if not TOKEN.fullmatch(token):
        return None
    link = db.scalar(select(ResultsLink).where(ResultsLink.token_hash == hash_token(token)))
    if link is None or link.revoked_at is not None:
        return None
    return db.get(Survey, link.survey_slug)
