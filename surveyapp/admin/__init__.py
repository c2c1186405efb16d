"""The investigators' pages at /admin: surveys, rosters, e-mail wording, sending, response rates, downloads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import routes  # noqa: E402,F401  (the views register themselves on bp)
