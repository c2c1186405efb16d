"""Template filters."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup, escape


def paragraphs(text: str) -> Markup:
    """Render plain text as escaped paragraphs, one per blank-line-separated block."""
    blocks = [b.strip() for b in (text or "").split("\n\n") if b.strip()]
    return Markup("".join(f"<p>{escape(b)}</p>".replace("\n", "<br>") for b in blocks))


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(paragraphs)
