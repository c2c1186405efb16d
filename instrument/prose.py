"""An instrument's prose (intro, consent, thanks, a section's intro): a Markdown subset as safe HTML.

The subset: paragraphs split by blank lines (a single line break is a space, as YAML's ``|`` keeps the author's
line ends), ``*emphasis*`` and ``**strong**``, ``[links](https://…)`` to http, https and mailto only, and bullet
or numbered lists. Raw HTML, headings, quotes and code are not Markdown here: they show as the text they are.
markdown-it-py (CommonMark) parses it, with only those rules switched on and HTML off, so its escaping holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from .yamlcheck import Ctx
from .yamlsource import LineDict

SAFE_LINK = re.compile(r"^(https?|mailto):", re.IGNORECASE)
_RULES = ["list", "emphasis", "link", "autolink", "escape", "newline"]
PROSE_KEYS = ("intro", "consent", "thanks")


def _space(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return " "


def _markdown(safe_only: bool) -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False}).enable(_RULES)
    # A line break in the YAML is where the author's editor wrapped, never a <br> in the middle of a sentence.
    md.add_render_rule("softbreak", _space)
    md.add_render_rule("hardbreak", _space)
    if safe_only:
        md.validateLink = lambda url: bool(SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    else:
        md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_SAFE = _markdown(safe_only=True)
_ANY = _markdown(safe_only=False)


def to_html(text: str) -> str:
    """Render *text* (the Markdown subset) as HTML that holds no raw HTML and no link but http, https, mailto."""
    return _SAFE.render(text or "")


def refused_links(text: str) -> list[str]:
    """Return the targets of the links in *text* that :func:`to_html` would leave as plain text."""
    found = []
    for token in _ANY.parse(text or ""):
        for child in token.children or ():
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str) and not SAFE_LINK.match(href):
                found.append(href)
    return found


def _texts(node: LineDict, key: str) -> Iterator[str]:
    value = node.get(key)
    # One text, or one per language once an instrument carries translations.
    for text in value.values() if isinstance(value, dict) else (value,):
        if isinstance(text, str):
            yield text


def check_prose(ctx: Ctx, top: LineDict) -> None:
    """Fail naming file, line and key when an intro, consent, thanks or section intro links to a refused scheme."""
    nodes = [(top, key, key) for key in PROSE_KEYS]
    sections = top.get("sections")
    # Collecting every error, this runs after a broken 'sections' was reported: it reads only a list.
    for section in sections if isinstance(sections, list) else ():
        if isinstance(section, LineDict):
            nodes.append((section, "intro", f"section '{section.get('id')}' intro"))
    for node, key, what in nodes:
        for text in _texts(node, key):
            for href in refused_links(text):
                raise ctx.fail(node.line_of(key), f"{what}: the link to '{href[:80]}' is refused; "
                                                  "links go to http, https or mailto addresses only")
