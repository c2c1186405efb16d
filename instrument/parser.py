"""Turn an instrument's YAML text into a validated :class:`Instrument`, or one clear error."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from .model import QUESTION_TYPES, Condition, Instrument, Item, Option, Question, Scale, Section
from .scales import BUILTIN_CHOICES, BUILTIN_SCALES
from .yamlsource import LineDict, load_yaml

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INSTRUMENT_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DEFAULT_TEXT_LIMIT = 2000

_TOP_KEYS = {"id", "version", "title", "intro", "consent", "thanks", "choices", "scales", "sections", "meta"}
_SECTION_KEYS = {"id", "title", "intro", "questions"}
_COMMON_KEYS = {"id", "type", "text", "help", "required", "show_if"}
_TYPE_KEYS = {
    "single_choice": {"choices", "other"},
    "multiple_choice": {"choices", "other"},
    "likert": {"scale", "items"},
    "text": {"long", "max_length", "coding"},
    "number": {"integer", "min", "max", "unit"},
    "date": set(),
}


class InvalidInstrument(ValueError):
    """An instrument file that cannot be served; the message says where and what."""


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int, what: str, question: str | None = None) -> InvalidInstrument:
        where = f"{self.source}:{line}"
        if question:
            return InvalidInstrument(f"{where}: question '{question}': {what}")
        return InvalidInstrument(f"{where}: {what}")


def _as_mapping(ctx: _Ctx, value: Any, line: int, what: str, qid: str | None = None) -> LineDict:
    if not isinstance(value, LineDict):
        raise ctx.fail(line, f"{what} must be a mapping", qid)
    return value


def _text(ctx: _Ctx, node: LineDict, key: str, *, required: bool = False, qid: str | None = None) -> str:
    value = node.get(key)
    if value is None:
        if required:
            raise ctx.fail(node.line, f"'{key}' is required", qid)
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ctx.fail(node.line_of(key), f"'{key}' must be text", qid)
    return str(value).strip()


def _bool(ctx: _Ctx, node: LineDict, key: str, qid: str | None = None) -> bool:
    value = node.get(key, False)
    if not isinstance(value, bool):
        raise ctx.fail(node.line_of(key), f"'{key}' must be true or false", qid)
    return value


def _unknown_keys(ctx: _Ctx, node: LineDict, allowed: set[str], what: str, qid: str | None = None) -> None:
    for key in node:
        if key not in allowed:
            raise ctx.fail(node.line_of(key), f"unknown key '{key}' in {what}", qid)


def _options(ctx: _Ctx, raw: Any, line: int, qid: str | None) -> tuple[Option, ...]:
    """Read a list of options: plain labels, or mappings with code and label."""
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(line, "choices must be a non-empty list or the name of a choice list", qid)
    options: list[Option] = []
    for entry in raw:
        if isinstance(entry, LineDict):
            _unknown_keys(ctx, entry, {"code", "label"}, "a choice", qid)
            code = _text(ctx, entry, "code", required=True, qid=qid)
            label = _text(ctx, entry, "label", required=True, qid=qid)
            where = entry.line
        elif isinstance(entry, str | int) and not isinstance(entry, bool):
            label = str(entry).strip()
            code = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            where = line
        else:
            raise ctx.fail(line, "each choice must be a label or a mapping with code and label", qid)
        if not CODE_RE.match(code):
            raise ctx.fail(where, f"choice code '{code}' must be letters, digits, '_', '-' or '.'", qid)
        if code == "other":
            raise ctx.fail(where, "the code 'other' is reserved: use 'other: true' instead", qid)
        if any(o.code == code for o in options):
            raise ctx.fail(where, f"duplicate choice code '{code}'", qid)
        options.append(Option(code, label))
    return tuple(options)


def _condition(ctx: _Ctx, raw: Any, line: int, qid: str, earlier: dict[str, Question]) -> Condition:
    node = _as_mapping(ctx, raw, line, "show_if", qid)
    for combiner in ("all", "any"):
        if combiner in node:
            if len(node) != 1:
                raise ctx.fail(node.line, f"show_if with '{combiner}' takes nothing else", qid)
            parts = node[combiner]
            if not isinstance(parts, list) or not parts:
                raise ctx.fail(node.line, f"show_if '{combiner}' needs a list of conditions", qid)
            return Condition(combiner, parts=tuple(_condition(ctx, p, node.line, qid, earlier) for p in parts))
    _unknown_keys(ctx, node, {"question", "equals", "not_equals", "in", "includes", "answered"},
                  "show_if", qid)
    target = _text(ctx, node, "question", required=True, qid=qid)
    if target not in earlier:
        raise ctx.fail(node.line_of("question"),
                       f"show_if refers to '{target}', which is not an earlier question", qid)
    ops = [k for k in ("equals", "not_equals", "in", "includes", "answered") if k in node]
    if len(ops) != 1:
        raise ctx.fail(node.line, "show_if needs exactly one of equals, not_equals, in, includes, answered", qid)
    op = ops[0]
    if op == "answered":
        if node["answered"] is not True:
            raise ctx.fail(node.line_of(op), "'answered' can only be true", qid)
        return Condition(op, target)
    raw_values = node[op] if isinstance(node[op], list) else [node[op]]
    values = tuple(str(v) for v in raw_values)
    ref = earlier[target]
    if ref.type == "likert" and ref.items:
        raise ctx.fail(node.line_of(op), f"show_if cannot test the likert matrix '{target}'", qid)
    if op == "includes" and ref.type != "multiple_choice":
        raise ctx.fail(node.line_of(op), "'includes' works on multiple_choice questions only", qid)
    if ref.choices:
        known = {o.code for o in ref.choices} | ({"other"} if ref.other else set())
        for value in values:
            if value not in known:
                raise ctx.fail(node.line_of(op), f"show_if value '{value}' is not an option of '{target}'", qid)
    return Condition(op, target, values)


def _number(ctx: _Ctx, node: LineDict, key: str, qid: str) -> float | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(node.line_of(key), f"'{key}' must be a number", qid)
    return float(value)


def _question(ctx: _Ctx, raw: Any, line: int, section: str, lists: dict[str, tuple[Option, ...]],
              scales: dict[str, Scale], earlier: dict[str, Question]) -> Question:
    node = _as_mapping(ctx, raw, line, "each question")
    qid = _text(ctx, node, "id", required=True)
    if not ID_RE.match(qid):
        raise ctx.fail(node.line_of("id"), "ids are lower-case letters, digits and '_', starting with a letter",
                       qid)
    if qid in earlier:
        raise ctx.fail(node.line_of("id"), "duplicate question id", qid)
    qtype = _text(ctx, node, "type", required=True, qid=qid)
    if qtype not in QUESTION_TYPES:
        raise ctx.fail(node.line_of("type"), f"unknown type '{qtype}' (one of: {', '.join(QUESTION_TYPES)})",
                       qid)
    _unknown_keys(ctx, node, _COMMON_KEYS | _TYPE_KEYS[qtype], f"a {qtype} question", qid)
    fields: dict[str, Any] = {
        "id": qid, "type": qtype, "line": node.line, "section": section,
        "text": _text(ctx, node, "text", required=True, qid=qid),
        "help": _text(ctx, node, "help", qid=qid),
        "required": _bool(ctx, node, "required", qid),
    }
    if "show_if" in node:
        fields["show_if"] = _condition(ctx, node["show_if"], node.line_of("show_if"), qid, earlier)
    if qtype in ("single_choice", "multiple_choice"):
        raw_choices = node.get("choices")
        if isinstance(raw_choices, str):
            if raw_choices not in lists:
                raise ctx.fail(node.line_of("choices"), f"unknown choice list '{raw_choices}'", qid)
            fields["options"] = lists[raw_choices]
        else:
            fields["options"] = _options(ctx, raw_choices, node.line_of("choices"), qid)
        fields["other"] = _bool(ctx, node, "other", qid)
    elif qtype == "likert":
        scale_name = node.get("scale")
        if isinstance(scale_name, list):
            labels = _options(ctx, scale_name, node.line_of("scale"), qid)
            fields["scale"] = Scale(f"{qid}_scale", tuple(Option(str(i), o.label)
                                                          for i, o in enumerate(labels, start=1)))
        elif isinstance(scale_name, str) and scale_name in scales:
            fields["scale"] = scales[scale_name]
        else:
            raise ctx.fail(node.line_of("scale"), f"unknown scale '{scale_name}' (built in: "
                           f"{', '.join(BUILTIN_SCALES)}; or define it under 'scales:')", qid)
        items = node.get("items", [])
        if not isinstance(items, list):
            raise ctx.fail(node.line_of("items"), "items must be a list", qid)
        parsed: list[Item] = []
        for raw_item in items:
            item = _as_mapping(ctx, raw_item, node.line_of("items"), "each item", qid)
            _unknown_keys(ctx, item, {"id", "text"}, "an item", qid)
            iid = _text(ctx, item, "id", required=True, qid=qid)
            if not ID_RE.match(iid) or any(i.id == iid for i in parsed):
                raise ctx.fail(item.line, f"item id '{iid}' is malformed or repeated", qid)
            parsed.append(Item(iid, _text(ctx, item, "text", required=True, qid=qid)))
        fields["items"] = tuple(parsed)
    elif qtype == "text":
        fields["long"] = _bool(ctx, node, "long", qid)
        fields["coding"] = _bool(ctx, node, "coding", qid)
        limit = node.get("max_length", DEFAULT_TEXT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise ctx.fail(node.line_of("max_length"), "max_length must be a whole number from 1 to 100000", qid)
        fields["max_length"] = limit
    elif qtype == "number":
        fields["integer"] = _bool(ctx, node, "integer", qid)
        fields["minimum"] = _number(ctx, node, "min", qid)
        fields["maximum"] = _number(ctx, node, "max", qid)
        fields["unit"] = _text(ctx, node, "unit", qid=qid)
        lo, hi = fields["minimum"], fields["maximum"]
        if lo is not None and hi is not None and lo > hi:
            raise ctx.fail(node.line_of("min"), "min is greater than max", qid)
    return Question(**fields)


def parse_instrument(text: str, source: str = "<instrument>") -> Instrument:
    """Parse and validate an instrument; raise :class:`InvalidInstrument` naming file, line and question."""
    ctx = _Ctx(source)
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ctx.fail(line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ctx.fail(1, f"not valid YAML: {exc}") from None
    top = _as_mapping(ctx, data, 1, "an instrument file")
    _unknown_keys(ctx, top, _TOP_KEYS, "the instrument")
    iid = _text(ctx, top, "id", required=True)
    if not INSTRUMENT_ID_RE.match(iid):
        raise ctx.fail(top.line_of("id"), f"instrument id '{iid}' must be lower-case letters, digits and '-'")
    version = top.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ctx.fail(top.line_of("version"), "'version' is required: a whole number from 1")

    lists = dict(BUILTIN_CHOICES)
    if "choices" in top:
        raw_lists = _as_mapping(ctx, top["choices"], top.line_of("choices"), "'choices'")
        for name, raw in raw_lists.items():
            lists[name] = _options(ctx, raw, raw_lists.line_of(name), None)
    scales = dict(BUILTIN_SCALES)
    if "scales" in top:
        raw_scales = _as_mapping(ctx, top["scales"], top.line_of("scales"), "'scales'")
        for name, raw in raw_scales.items():
            labels = _options(ctx, raw, raw_scales.line_of(name), None)
            scales[name] = Scale(name, tuple(Option(str(i), o.label) for i, o in enumerate(labels, start=1)))

    raw_sections = top.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise ctx.fail(top.line_of("sections"), "'sections' must be a non-empty list")
    earlier: dict[str, Question] = {}
    sections: list[Section] = []
    for raw_section in raw_sections:
        snode = _as_mapping(ctx, raw_section, top.line_of("sections"), "each section")
        _unknown_keys(ctx, snode, _SECTION_KEYS, "a section")
        sid = _text(ctx, snode, "id", required=True)
        if not ID_RE.match(sid) or any(s.id == sid for s in sections):
            raise ctx.fail(snode.line_of("id"), f"section id '{sid}' is malformed or repeated")
        raw_questions = snode.get("questions")
        if not isinstance(raw_questions, list) or not raw_questions:
            raise ctx.fail(snode.line, f"section '{sid}' needs a non-empty list of questions")
        questions = []
        for raw_q in raw_questions:
            q = _question(ctx, raw_q, snode.line, sid, lists, scales, earlier)
            earlier[q.id] = q
            questions.append(q)
        sections.append(Section(sid, _text(ctx, snode, "title") or sid.replace("_", " ").capitalize(),
                                tuple(questions), _text(ctx, snode, "intro")))
    meta = top.get("meta", {})
    return Instrument(
        id=iid, version=version, title=_text(ctx, top, "title", required=True), sections=tuple(sections),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), source=source,
        intro=_text(ctx, top, "intro"), consent=_text(ctx, top, "consent"),
        thanks=_text(ctx, top, "thanks") or Instrument.thanks, meta=dict(meta) if isinstance(meta, dict) else {},
    )


def load_instrument(path: Path, display: str | None = None) -> Instrument:
    """Read and parse the instrument file at *path*."""
    source = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInstrument(f"{source}:1: cannot be read: {exc}") from None
    return parse_instrument(text, source)


def instrument_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the .yaml/.yml files they hold, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found
