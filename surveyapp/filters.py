"""Template filters."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask
from markupsafe import Markup

from instrument.prose import to_html


def paragraphs(text: str) -> Markup:
    """Render an instrument's prose (the Markdown subset of :mod:`instrument.prose`) as safe HTML."""
    return Markup(_rendered(text))


# The same few texts (an instrument's intro, consent, thanks) on every respondent's pages: parsed once per process.
_rendered = lru_cache(maxsize=512)(to_html)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(paragraphs)
