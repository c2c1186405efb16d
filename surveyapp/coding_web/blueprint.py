"""The coding blueprint, apart from its views, so the view modules import it without importing the package."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coding", __name__, url_prefix="/coding")
