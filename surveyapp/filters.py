"""Template filters."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from instrument.prose import to_html


def paragraphs(text: str) -> Markup:
    """Render an instrument's prose (the Markdown subset of :mod:`instrument.prose`) as safe HTML."""
    return Markup(to_html(text))


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(paragraphs)
