"""Anonymous panel codes: a self-generated identification code built from answers, and matching across waves.

A study in ``anonymous_panel`` mode names a few questions (first letters of a parent's first name, the day of
the month one was born, ...); a respondent's code is their answers joined, each part normalised (capitals,
letters and digits only; a whole number written with at least two digits), so "ma", "MA " and "M.A." agree.
A response with any part unanswered has no code.

Matching two waves, documented tolerance:

1. a code given more than once within a wave is a **duplicate**: two people (or one twice) cannot be told
   apart, so none of its responses is matched; they are reported;
2. a code found once in each wave is **matched** (exact);
3. of the rest, a code of one wave and a code of the other **of the same length differing in exactly one
   character** (one typo) are matched when each is the other's only such candidate;
4. a code with two or more candidates (or whose candidate has other candidates) is **ambiguous**: reported with
   its candidates, never merged;
5. everything else is **unmatched** (in one wave only).

Nothing here knows who answered: the codes are answers, and the matching reads only them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOLERANCE = 1  # one substituted character between the waves (what the matching index below finds)
_NOT_CODE = re.compile(r"[^0-9A-Z]")


def code_part(value: Any) -> str | None:
    """Return one answer as a code part ("ma" -> "MA", 7 -> "07"), None when unanswered or empty."""
    if value is None or isinstance(value, bool | list | dict):
        return None
    if isinstance(value, int | float):
        if value != value or value != int(value):
            return None
        return str(int(value)).zfill(2)
    text = _NOT_CODE.sub("", str(value).upper())
    if text.isdigit():
        text = text.zfill(2)
    return text or None


def panel_code(answers: Mapping[str, Any], questions: Sequence[str]) -> str | None:
    """Return the respondent's code from the *questions*' answers, None when any part is missing."""
    parts = [code_part(answers.get(q)) for q in questions]
    if any(p is None for p in parts):
        return None
    return "".join(p for p in parts if p is not None)


@dataclass(frozen=True)
class Match:
    """A code of the first wave matched to one of the second; *differing* is 0 (exact) or 1 (one typo)."""

    first: str
    second: str
    differing: int


@dataclass(frozen=True)
class Ambiguous:
    """A code with several candidates in the other wave (or sharing its one candidate): never merged."""

    wave: int  # 1 or 2: the wave the code is from
    code: str
    candidates: tuple[str, ...]


@dataclass
class PanelMatching:
    """The outcome of matching two waves' codes."""

    matched: list[Match] = field(default_factory=list)
    ambiguous: list[Ambiguous] = field(default_factory=list)
    unmatched_first: list[str] = field(default_factory=list)
    unmatched_second: list[str] = field(default_factory=list)
    duplicates_first: dict[str, int] = field(default_factory=dict)  # code -> how many responses gave it
    duplicates_second: dict[str, int] = field(default_factory=dict)
    no_code_first: int = 0
    no_code_second: int = 0

    def summary(self) -> list[tuple[str, int]]:
        """Return the counts a report prints, in order."""
        return [("matched exactly", sum(1 for m in self.matched if m.differing == 0)),
                (f"matched with {TOLERANCE} character differing", sum(1 for m in self.matched if m.differing)),
                ("ambiguous (not merged)", len(self.ambiguous)),
                ("unmatched, first wave only", len(self.unmatched_first)),
                ("unmatched, second wave only", len(self.unmatched_second)),
                ("duplicate codes, first wave", len(self.duplicates_first)),
                ("duplicate codes, second wave", len(self.duplicates_second)),
                ("no code (a part unanswered), first wave", self.no_code_first),
                ("no code (a part unanswered), second wave", self.no_code_second)]


def match_codes(first: Sequence[str | None], second: Sequence[str | None]) -> PanelMatching:
    """Match two waves' codes (one per response, None when it has none) as the module's rules say."""
    result = PanelMatching(no_code_first=sum(1 for c in first if c is None),
                           no_code_second=sum(1 for c in second if c is None))
    counts = [Counter(c for c in first if c is not None), Counter(c for c in second if c is not None)]
    result.duplicates_first = {c: n for c, n in sorted(counts[0].items()) if n > 1}
    result.duplicates_second = {c: n for c, n in sorted(counts[1].items()) if n > 1}
    one = sorted(c for c, n in counts[0].items() if n == 1)
    two = sorted(c for c, n in counts[1].items() if n == 1)
    exact = set(one) & set(two)
    result.matched = [Match(c, c, 0) for c in sorted(exact)]
    rest_one = [c for c in one if c not in exact]
    rest_two = [c for c in two if c not in exact]
    # Codes one substitution apart share a key: the code with that position blanked (a linear index, not n x m).
    index: dict[tuple[int, str], list[str]] = {}
    for b in rest_two:
        for i in range(len(b)):
            index.setdefault((i, b[:i] + b[i + 1:]), []).append(b)
    near_one = {a: tuple(sorted({b for i in range(len(a)) for b in index.get((i, a[:i] + a[i + 1:]), ())}))
                for a in rest_one}
    near_two = {b: tuple(a for a in rest_one if b in near_one[a]) for b in rest_two}
    taken: set[str] = set()
    for a in rest_one:
        candidates = near_one[a]
        if len(candidates) == 1 and len(near_two[candidates[0]]) == 1:
            result.matched.append(Match(a, candidates[0], TOLERANCE))
            taken.update((a, candidates[0]))
        elif candidates:
            result.ambiguous.append(Ambiguous(1, a, candidates))
            taken.add(a)
        else:
            result.unmatched_first.append(a)
    for b in rest_two:
        if b in taken:
            continue
        if near_two[b]:  # several candidates, or its one candidate has others: reported, not merged
            result.ambiguous.append(Ambiguous(2, b, near_two[b]))
        else:
            result.unmatched_second.append(b)
    return result
