"""The choice types: single_choice, multiple_choice, likert (single statement or matrix)."""

from __future__ import annotations

from typing import Any

from ..messages import N_
from ..model import Item, Option, Question, Scale
from ..qtype import Catalog, FormData, QuestionType
from ..scales import BUILTIN_SCALES
from ..yamlcheck import ID_RE, MAX_ITEMS, Ctx, as_mapping, flag, options, text, unknown_keys, words
from ..yamlsource import LineDict

COMPARE = frozenset({"equals", "not_equals", "in", "answered"})


def read_choices(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> tuple[Option, ...]:
    """Return the options under 'choices': a list, or the name of a choice list."""
    raw = node.get("choices")
    if isinstance(raw, str):
        ctx.knock_on(f"choices:{raw}")
        if raw not in catalog.lists:
            raise ctx.fail(node.line_of("choices"), f"unknown choice list '{raw}'", qid)
        return tuple(catalog.lists[raw])
    return options(ctx, raw, node.line_of("choices"), qid)


def _read_choice(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    return {"options": read_choices(ctx, node, qid, catalog), "other": flag(ctx, node, "other", qid)}


def _read_likert(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    scale_name = node.get("scale")
    if isinstance(scale_name, list):
        labels = options(ctx, scale_name, node.line_of("scale"), qid)
        fields["scale"] = Scale(f"{qid}_scale", tuple(Option(str(i), o.label) for i, o in enumerate(labels, start=1)))
    elif isinstance(scale_name, str) and scale_name in catalog.scales:
        fields["scale"] = catalog.scales[scale_name]
    else:
        if isinstance(scale_name, str):
            ctx.knock_on(f"scales:{scale_name}")
        raise ctx.fail(node.line_of("scale"), f"unknown scale '{scale_name}' (built in: "
                       f"{', '.join(BUILTIN_SCALES)}; or define it under 'scales:')", qid)
    items = node.get("items", [])
    if not isinstance(items, list):
        raise ctx.fail(node.line_of("items"), "items must be a list", qid)
    if len(items) > MAX_ITEMS:
        raise ctx.fail(node.line_of("items"), f"{len(items)} items; the limit is {MAX_ITEMS}", qid)
    parsed: list[Item] = []
    seen: set[str] = set()
    for raw_item in items:
        item = as_mapping(ctx, raw_item, node.line_of("items"), "each item", qid)
        unknown_keys(ctx, item, {"id", "text"}, "an item", qid)
        iid = text(ctx, item, "id", required=True, qid=qid)
        if not ID_RE.match(iid) or iid in seen:
            raise ctx.fail(item.line, f"item id '{iid}' is malformed or repeated", qid)
        seen.add(iid)
        parsed.append(Item(iid, words(ctx, item, "text", required=True, qid=qid)))
    fields["items"] = tuple(parsed)
    return fields


def _parse_single(q: Question, form: FormData) -> tuple[Any, str]:
    raw = (form.get(q.id) or "").strip()
    if raw and raw not in {o.code for o in q.choices} and not (q.other and raw == "other"):
        return None, N_("Choose one of the options.")
    return raw or None, ""


def _parse_multiple(q: Question, form: FormData) -> tuple[Any, str]:
    picked = [v.strip() for v in form.getlist(q.id) if v.strip()]
    allowed = {o.code for o in q.choices} | ({"other"} if q.other else set())
    if any(p not in allowed for p in picked):
        return None, N_("Choose among the options shown.")
    order = [o.code for o in q.choices] + ["other"]
    return [c for c in order if c in picked], ""


def _level(q: Question, raw: str | None) -> tuple[int | None, bool]:
    raw = (raw or "").strip()
    if not raw:
        return None, True
    return (int(raw), True) if raw in {o.code for o in q.choices} else (None, False)


def _parse_likert(q: Question, form: FormData) -> tuple[Any, str]:
    if not q.items:
        value, ok = _level(q, form.get(q.id))
        return (value, "") if ok else (None, N_("Choose one point of the scale."))
    matrix: dict[str, int | None] = {}
    for item in q.items:
        value, ok = _level(q, form.get(f"{q.id}__{item.id}"))
        if not ok:
            return None, N_("Choose one point of the scale for each statement.")
        matrix[item.id] = value
    return matrix, ""


def _likert_incomplete(q: Question, value: Any) -> str:
    if q.items and isinstance(value, dict) and any(v is None for v in value.values()):
        return N_("Answer every statement.")
    return ""


SINGLE_CHOICE = QuestionType(
    "single_choice", frozenset({"choices", "other"}), _read_choice, _parse_single, COMPARE,
    columns="value", summary="choice", cells="choice")
MULTIPLE_CHOICE = QuestionType(
    "multiple_choice", frozenset({"choices", "other"}), _read_choice, _parse_multiple, COMPARE | {"includes"},
    columns="flags", summary="multi", cells="choices", needs_answer=N_("Choose at least one option."))
LIKERT = QuestionType(
    "likert", frozenset({"scale", "items"}), _read_likert, _parse_likert, COMPARE,
    columns="levels", summary="likert", cells="choice", incomplete=_likert_incomplete)
