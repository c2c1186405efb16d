"""The reviewers' pages at /coding: projects, the coding screen, codebook editor, agreement, reconciliation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coding", __name__, url_prefix="/coding")

from . import routes  # noqa: E402,F401  (registers the views on bp)
