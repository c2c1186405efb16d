"""Scored scales: the ``scores:`` section of an instrument read and checked, and a score computed from answers.

A score is the mean (or sum) of listed items, each a likert statement or a number question with a known range:

```yaml
scores:
  - id: burnout
    label: Overall burnout
    method: mean            # or sum
    items: [exhaustion, disengagement]   # a question, a matrix (all its statements) or question.item
    reverse: [exhaustion.energised]      # optional: items scored high + low - value
    lowest: 0               # optional, likert items: the lowest level counts as 0 (stored levels are 1..n)
    max_missing: 1          # optional: at most 1 item missing -> mean of the rest; more -> no score
    rescale: [0, 100]       # optional: the score's range mapped linearly onto this one
    cutoffs:
      - {label: burned out, at_least: 1.33}   # or above, at_most, below (in the reported units)
```

The missing-item rule never scores from too few items: REDCap's ``mean()`` quietly averages whatever is there,
so a subscale from 1 of 6 items looks like any other; here more than ``max_missing`` missing items is a missing
score. A sum with missing items is prorated (the mean of the answered items times the number of items), so a
sum on 5 of 6 items is comparable with one on 6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .model import Cutoff, Question, Score, ScoreItem
from .yamlcheck import ID_RE, Ctx, InvalidInstrument, as_mapping, text, unknown_keys
from .yamlsource import LineDict

MAX_SCORES = 200
_SCORE_KEYS = {"id", "label", "method", "items", "reverse", "lowest", "max_missing", "rescale", "cutoffs"}
_CUTOFF_OPS = ("at_least", "above", "at_most", "below")


def _fail(ctx: Ctx, line: int, sid: str, what: str) -> InvalidInstrument:
    return InvalidInstrument(f"{ctx.source}:{line}: score '{sid}': {what}")


def _number(ctx: Ctx, node: LineDict, key: str, sid: str, what: str) -> float | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(ctx, node.line_of(key), sid, f"{what} must be a number")
    return float(value)


def _refs(ctx: Ctx, node: LineDict, key: str, sid: str) -> list[str]:
    raw = node.get(key, [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise _fail(ctx, node.line_of(key), sid, f"'{key}' must be a list of question ids (or question.item)")
    return [r.strip() for r in raw]


def _expand(ctx: Ctx, line: int, sid: str, ref: str, questions: Mapping[str, Question]) -> list[tuple[Question, str]]:
    """Return (question, item id) pairs a reference names: a question, every statement of a matrix, or one."""
    qid, _, item = ref.partition(".")
    q = questions.get(qid)
    if q is None:
        ctx.knock_on(f"q:{qid}")
        raise _fail(ctx, line, sid, f"unknown item '{ref}': no question '{qid}'")
    if q.type == "likert":
        if item:
            if item not in {i.id for i in q.items}:
                raise _fail(ctx, line, sid, f"unknown item '{ref}': the likert question '{qid}' has no "
                            f"statement '{item}'")
            return [(q, item)]
        return [(q, i.id) for i in q.items] if q.items else [(q, "")]
    if q.type == "number":
        if item:
            raise _fail(ctx, line, sid, f"unknown item '{ref}': '{qid}' is a number question, it has no items")
        return [(q, "")]
    raise _fail(ctx, line, sid, f"item '{ref}' is a {q.type} question; a score takes likert and number items only")


def _item(ctx: Ctx, line: int, sid: str, q: Question, item: str, lowest: float | None) -> ScoreItem:
    if q.type == "likert":
        levels = len(q.choices)
        start = 1.0 if lowest is None else lowest
        return ScoreItem(q.id, item, start, start + levels - 1, shift=start - 1)
    if lowest is not None:
        raise _fail(ctx, line, sid, f"'lowest' applies to likert items; '{q.id}' is a number question")
    if q.minimum is None or q.maximum is None:
        raise _fail(ctx, line, sid, f"the number question '{q.id}' needs min and max to be scored "
                    "(a score's range, reverse keying and cut-offs depend on it)")
    return ScoreItem(q.id, "", q.minimum, q.maximum)


def _cutoffs(ctx: Ctx, node: LineDict, sid: str, low: float, high: float) -> tuple[Cutoff, ...]:
    raw = node.get("cutoffs", [])
    if not isinstance(raw, list):
        raise _fail(ctx, node.line_of("cutoffs"), sid, "'cutoffs' must be a list of {label, at_least: value}")
    found: list[Cutoff] = []
    for entry in raw:
        cut = as_mapping(ctx, entry, node.line_of("cutoffs"), f"score '{sid}': each cut-off")
        unknown_keys(ctx, cut, {"label", *_CUTOFF_OPS}, f"a cut-off of score '{sid}'")
        label = text(ctx, cut, "label")
        if not label:
            raise _fail(ctx, cut.line, sid, "a cut-off needs a 'label'")
        if label in {c.label for c in found}:
            raise _fail(ctx, cut.line, sid, f"two cut-offs are labelled '{label}'")
        ops = [op for op in _CUTOFF_OPS if op in cut]
        if len(ops) != 1:
            raise _fail(ctx, cut.line, sid, f"cut-off '{label}' needs exactly one of {', '.join(_CUTOFF_OPS)}")
        value = _number(ctx, cut, ops[0], sid, f"cut-off '{label}': '{ops[0]}'")
        if value is None:
            raise _fail(ctx, cut.line_of(ops[0]), sid, f"cut-off '{label}' needs a number")
        if not low <= value <= high:
            raise _fail(ctx, cut.line_of(ops[0]), sid, f"cut-off '{label}' at {value:g} lies outside the score's "
                        f"range {low:g} to {high:g}: no score could meet it, or every score would")
        found.append(Cutoff(label, ops[0], value))
    return tuple(found)


def _score(ctx: Ctx, raw: Any, line: int, questions: Mapping[str, Question], taken: set[str]) -> Score:
    node = as_mapping(ctx, raw, line, "each score")
    sid = text(ctx, node, "id")
    if not sid:
        raise ctx.fail(node.line, "each score needs an 'id'")
    if not ID_RE.match(sid):
        raise _fail(ctx, node.line_of("id"), sid, "ids are lower-case letters, digits and '_', starting with a letter")
    if sid in taken:
        raise _fail(ctx, node.line_of("id"), sid, "the id is already used by a question or another score")
    unknown_keys(ctx, node, _SCORE_KEYS, f"score '{sid}'")
    method = text(ctx, node, "method") or "mean"
    if method not in ("mean", "sum"):
        raise _fail(ctx, node.line_of("method"), sid, f"method '{method}' must be mean or sum")
    lowest = _number(ctx, node, "lowest", sid, "'lowest'")
    items_line = node.line_of("items")
    pairs = [pair for ref in _refs(ctx, node, "items", sid) for pair in _expand(ctx, items_line, sid, ref, questions)]
    if not pairs:
        raise _fail(ctx, items_line, sid, "'items' must list at least one item")
    keys = [(q.id, item) for q, item in pairs]
    duplicate = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
    if duplicate is not None:
        raise _fail(ctx, items_line, sid, f"item '{'.'.join(p for p in duplicate if p)}' is listed twice")
    reverse: set[tuple[str, str]] = set()
    for ref in _refs(ctx, node, "reverse", sid):
        for q, item in _expand(ctx, node.line_of("reverse"), sid, ref, questions):
            if (q.id, item) not in keys:
                raise _fail(ctx, node.line_of("reverse"), sid, f"reverse-keyed item '{ref}' is not one of its items")
            reverse.add((q.id, item))
    items = []
    for q, item in pairs:
        base = _item(ctx, items_line, sid, q, item, lowest)
        items.append(ScoreItem(base.question, base.item, base.low, base.high, base.shift,
                               (q.id, item) in reverse))
    ranges = {(i.low, i.high) for i in items}
    if len(ranges) > 1:
        shown = ", ".join(f"{i.ref} {i.low:g}-{i.high:g}" for i in items)
        raise _fail(ctx, items_line, sid, f"its items have different ranges ({shown}); a mean or sum of items on "
                    "different ranges weighs them unequally: score them separately")
    max_missing = node.get("max_missing", 0)
    if isinstance(max_missing, bool) or not isinstance(max_missing, int) or max_missing < 0:
        raise _fail(ctx, node.line_of("max_missing"), sid, "max_missing must be a whole number, 0 or more")
    if max_missing >= len(items):
        raise _fail(ctx, node.line_of("max_missing"), sid, f"max_missing {max_missing} of {len(items)} items "
                    "would give a score from no answer at all; it must be less than the number of items")
    rescale = None
    if "rescale" in node:
        raw_rescale = node["rescale"]
        if (not isinstance(raw_rescale, list) or len(raw_rescale) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                           for v in raw_rescale) or raw_rescale[0] == raw_rescale[1]):
            raise _fail(ctx, node.line_of("rescale"), sid, "rescale must be two different numbers: [low, high]")
        rescale = (float(raw_rescale[0]), float(raw_rescale[1]))
    score = Score(sid, text(ctx, node, "label") or sid.replace("_", " ").capitalize(), node.line, method,
                  tuple(items), max_missing, rescale)
    if score.natural_range[0] == score.natural_range[1]:
        raise _fail(ctx, items_line, sid, "its items have a single possible value; nothing can be scored")
    low, high = sorted(score.range)
    return Score(score.id, score.label, score.line, method, score.items, max_missing, rescale,
                 _cutoffs(ctx, node, sid, low, high))


def read_scores(ctx: Ctx, top: LineDict, questions: Mapping[str, Question]) -> tuple[Score, ...]:
    """Read and check the instrument's ``scores:`` list; collect a file:line error per wrong definition."""
    if "scores" not in top:
        return ()
    raw = top["scores"]
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(top.line_of("scores"), "'scores' must be a non-empty list")
    if len(raw) > MAX_SCORES:
        raise ctx.fail(top.line_of("scores"), f"{len(raw)} scores; the limit is {MAX_SCORES}")
    taken = set(questions)
    found: list[Score] = []
    for entry in raw:
        with ctx.collecting():
            score = _score(ctx, entry, top.line_of("scores"), questions, taken)
            taken.add(score.id)
            found.append(score)
    return tuple(found)


def item_value(item: ScoreItem, answers: Mapping[str, Any]) -> float | None:
    """Return one item's scored value from an answer dict (reverse keying applied), or None when missing."""
    value = answers.get(item.question)
    if item.item:
        value = value.get(item.item) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    value = float(value) + item.shift
    return item.low + item.high - value if item.reverse else value


def score_value(score: Score, answers: Mapping[str, Any]) -> float | None:
    """Return the score of one response, or None when more than ``max_missing`` items are missing."""
    values = [v for v in (item_value(i, answers) for i in score.items) if v is not None]
    if len(score.items) - len(values) > score.max_missing:
        return None
    mean = math.fsum(values) / len(values)
    result = mean * len(score.items) if score.method == "sum" else mean
    if score.rescale is None:
        return result
    low, high = score.natural_range
    to_low, to_high = score.rescale
    return to_low + (result - low) * (to_high - to_low) / (high - low)


def score_values(scores: tuple[Score, ...], answers: Mapping[str, Any]) -> dict[str, float | None]:
    """Return every score of one response, by score id."""
    return {s.id: score_value(s, answers) for s in scores}
