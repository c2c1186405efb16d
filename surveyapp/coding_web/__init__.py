"""The reviewers' pages at /coding: projects, the coding screen, codebook editor, agreement, reconciliation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coding", __name__, url_prefix="/coding")

# Registers the views on bp; codebook_routes: the codebook editor; assist_routes: suggestions, candidate
# themes, keyword in context.
from . import assist_routes, codebook_routes, routes  # noqa: E402,F401
