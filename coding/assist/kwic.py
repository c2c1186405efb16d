"""Keyword in context: every occurrence of a word or phrase across answers, matched by stem.

nltk's ``Text.concordance`` prints rather than returns and works on a token list without offsets, so this
module keeps the idea (a window of words either side) but returns plain records that point back into the
original text. :func:`search` runs it over a project's units in the database, a chunk at a time.

Stemming every answer of a large project takes seconds, so :func:`search` first narrows answers to those that
contain, for each word of the term, the start of its stem: Snowball's stem of a word, less its last two
characters, begins the word ("hoping" -> "hope" -> "ho"; "possibility" -> "possibl" -> "possi"; "dying" ->
"die" -> "d"; "happy" -> "happi" -> "hap"). Over 395,000 distinct words no exception was found; with one
character off there are three ("dying", "lying", "tying"). The stem match stays the final test, so the
narrowing changes no result. Pure-ASCII answers are narrowed in SQL (LIKE); answers with other characters
(typographic quotes, ligatures, full-width letters, which normalising may turn into ASCII) all come back from
SQL and are narrowed in Python on their normalised text, as the matcher sees it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import LargeBinary, and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.assist.text import normalize, spans, stem
from coding.store import Unit

CHUNK = 2000  # units read and stemmed at a time


@dataclass(frozen=True)
class Hit:
    """One occurrence: the unit, the words before, the matched words as written, the words after."""

    unit_id: str
    left: str
    match: str
    right: str
    start: int  # character offsets of the match in the unit's text
    end: int


def _stems(text: str) -> list[str]:
    return [stem(normalize(text[a:b])) for a, b in spans(text)]


def kwic(
    units: Mapping[str, str], term: str, window: int = 6, unit_ids: Collection[str] | None = None
) -> list[Hit]:
    """Return every occurrence of ``term`` (a word or phrase, matched by stem) in ``units``, in order.

    ``unit_ids`` restricts the search (the caller picks units by code or coder); ``window`` is the number
    of words of context on each side. Stop words are matched too: searching "not" must find "not".
    """
    wanted = _stems(term)
    if not wanted:
        return []
    size = len(wanted)
    hits = []
    for uid, text in units.items():
        if unit_ids is not None and uid not in unit_ids:
            continue
        offsets = spans(text)
        found = _stems(text)
        for i in range(len(found) - size + 1):
            if found[i:i + size] != wanted:
                continue
            start, end = offsets[i][0], offsets[i + size - 1][1]
            left_from = offsets[max(0, i - window)][0]
            right_to = offsets[min(len(offsets), i + size + window) - 1][1]
            hits.append(Hit(uid, text[left_from:start].strip(), text[start:end], text[end:right_to].strip(),
                            start, end))
    return hits


def format_hits(hits: list[Hit], width: int = 40) -> list[str]:
    """Render hits as aligned concordance lines, ``width`` characters of context on each side."""
    lines = []
    for hit in hits:
        left = " ".join(hit.left.split())[-width:]
        right = " ".join(hit.right.split())[:width]
        gap = "" if right[:1] in ",.;:!?)" else " "  # keep punctuation against the word it follows
        lines.append(f"{left:>{width}} {hit.match}{gap}{right}")
    return lines


def kwic_pieces(term: str) -> list[str]:
    """Return, for each word of *term*, a string that every normalised word with the same stem contains."""
    pieces = []
    for a, b in spans(term):
        found = stem(normalize(term[a:b]))
        piece = found if found.isdigit() else found[:-2]  # digit runs are not stemmed
        if piece:
            pieces.append(piece)
    return pieces


def kwic_prefilter(dialect: str, pieces: list[str]) -> ColumnElement[bool] | None:
    """Return the SQL condition that keeps the units which may contain every piece (None: no narrowing)."""
    # LIKE is only given letters and digits (no wildcard to escape), and only ASCII answers rely on it.
    ascii_pieces = [p for p in (re.sub(r"[^a-z0-9].*", "", piece) for piece in pieces) if p]
    if not ascii_pieces:
        return None
    if dialect == "sqlite":
        other = func.length(cast(Unit.text, LargeBinary)) != func.length(Unit.text)  # UTF-8 bytes vs characters
    elif dialect == "postgresql":
        other = func.octet_length(Unit.text) != func.char_length(Unit.text)
    else:
        return None
    return or_(other, and_(*[Unit.text.ilike(f"%{p}%") for p in ascii_pieces]))


@dataclass
class Found:
    """What :func:`search` found: the hits (unit ids as text), each hit unit's (label, position), and
    whether every hit is there (False when *limit* cut the list)."""

    hits: list[Hit] = field(default_factory=list)
    rows: dict[int, tuple[str, int]] = field(default_factory=dict)
    complete: bool = True


def search(session: Session, where: ColumnElement[bool], term: str, limit: int) -> Found:
    """Return the first *limit* occurrences of *term* in the units matching *where*, in unit position order."""
    found = Found()
    pieces = kwic_pieces(term)
    prefilter = kwic_prefilter(session.get_bind().dialect.name, pieces)
    if prefilter is not None:
        where = and_(where, prefilter)
    last = -1
    while True:
        chunk = list(session.execute(
            select(Unit.id, Unit.label, Unit.position, Unit.text).where(where, Unit.position > last)
            .order_by(Unit.position).limit(CHUNK)))
        if not chunk:
            return found
        last = chunk[-1][2]
        chunk = [row for row in chunk if all(p in normalize(row[3]) for p in pieces)]
        found.rows.update({uid: (label, position) for uid, label, position, _ in chunk})
        found.hits.extend(kwic({str(uid): text for uid, _, _, text in chunk}, term))
        if len(found.hits) > limit:
            found.hits, found.complete = found.hits[:limit], False
            return found
