"""Keyword in context: every occurrence of a word or phrase across answers, matched by stem.

nltk's ``Text.concordance`` prints rather than returns and works on a token list without offsets, so this
module keeps the idea (a window of words either side) but returns plain records that point back into the
original text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from coding.assist.text import normalize, spans, stem


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
