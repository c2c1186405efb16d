"""Turn an instrument's YAML text into a validated :class:`Instrument`, or one clear error."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, cast

import yaml

from .model import Condition, Instrument, Option, Question, Scale, Score, Section
from .qtype import Catalog
from .scales import BUILTIN_CHOICES, BUILTIN_SCALES
from .scores import read_scores
from .types import TYPES, question_type
from .yamlcheck import (
    ID_RE,
    MAX_QUESTIONS,
    MAX_SECTIONS,
    MAX_VERSION,
    Ctx,
    InvalidInstrument,
    as_mapping,
    flag,
    options,
    unknown_keys,
)
from .yamlcheck import text as text_of
from .yamlsource import MAX_CHARS, LineDict, YamlLimit, load_yaml

INSTRUMENT_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")

_TOP_KEYS = {"id", "version", "title", "intro", "consent", "thanks", "choices", "scales", "sections", "meta", "scores"}
_SECTION_KEYS = {"id", "title", "intro", "questions"}
_COMMON_KEYS = frozenset({"id", "type", "text", "help", "required", "show_if"})
_OPS = ("equals", "not_equals", "in", "includes", "answered")


def _condition(ctx: Ctx, raw: Any, line: int, qid: str, earlier: dict[str, Question],
               codes: dict[str, set[str]]) -> Condition:
    node = as_mapping(ctx, raw, line, "show_if", qid)
    for combiner in ("all", "any"):
        if combiner in node:
            if len(node) != 1:
                raise ctx.fail(node.line, f"show_if with '{combiner}' takes nothing else", qid)
            parts = node[combiner]
            if not isinstance(parts, list) or not parts:
                raise ctx.fail(node.line, f"show_if '{combiner}' needs a list of conditions", qid)
            return Condition(combiner, parts=tuple(_condition(ctx, p, node.line, qid, earlier, codes) for p in parts))
    unknown_keys(ctx, node, {"question", *_OPS}, "show_if", qid)
    target = text_of(ctx, node, "question", required=True, qid=qid)
    if target not in earlier:
        ctx.knock_on(f"q:{target}")
        raise ctx.fail(node.line_of("question"),
                       f"show_if refers to '{target}', which is not an earlier question", qid)
    ops = [k for k in _OPS if k in node]
    if len(ops) != 1:
        raise ctx.fail(node.line, "show_if needs exactly one of equals, not_equals, in, includes, answered", qid)
    op = ops[0]
    ref = earlier[target]
    allowed = question_type(ref.type).conditions
    if op not in allowed:
        if op == "includes":
            raise ctx.fail(node.line_of(op), "'includes' works on multiple_choice and ranking questions only", qid)
        raise ctx.fail(node.line_of(op), f"show_if cannot use '{op}' on the {ref.type} question '{target}' "
                       f"(use {', '.join(o for o in _OPS if o in allowed)})", qid)
    if op == "answered":
        if node["answered"] is not True:
            raise ctx.fail(node.line_of(op), "'answered' can only be true", qid)
        return Condition(op, target)
    raw_values = node[op] if isinstance(node[op], list) else [node[op]]
    values = tuple(str(v) for v in raw_values)
    if ref.items:
        raise ctx.fail(node.line_of(op), f"show_if cannot test the likert matrix '{target}'", qid)
    if ref.choices:
        # Kept per file: many conditions may test one long choice list, and each check must stay cheap.
        known = codes.get(target)
        if known is None:
            known = codes[target] = {o.code for o in ref.choices} | ({"other"} if ref.other else set())
        for value in values:
            if value not in known:
                raise ctx.fail(node.line_of(op), f"show_if value '{value}' is not an option of '{target}'", qid)
    return Condition(op, target, values)


def parse_condition(ctx: Ctx, raw: Any, line: int, instrument: Instrument) -> Condition:
    """Read a condition in the ``show_if`` language about any question of *instrument* (report files use it)."""
    earlier = {q.id: q for q in instrument.questions}
    try:
        return _condition(ctx, raw, line, "", earlier, {})
    except InvalidInstrument as exc:
        raise InvalidInstrument(str(exc).replace(", which is not an earlier question",
                                                 f", which is not a question of '{instrument.id}'")) from None


def _question(ctx: Ctx, raw: Any, line: int, section: str, catalog: Catalog,
              earlier: dict[str, Question], codes: dict[str, set[str]]) -> Question:
    node = as_mapping(ctx, raw, line, "each question")
    qid = text_of(ctx, node, "id", required=True)
    if not ID_RE.match(qid):
        raise ctx.fail(node.line_of("id"), "ids are lower-case letters, digits and '_', starting with a letter",
                       qid)
    if qid in earlier:
        raise ctx.fail(node.line_of("id"), "duplicate question id", qid)
    name = text_of(ctx, node, "type", required=True, qid=qid)
    if name not in TYPES:
        raise ctx.fail(node.line_of("type"), f"unknown type '{name}' (one of: {', '.join(TYPES)})", qid)
    qtype = TYPES[name]
    unknown_keys(ctx, node, _COMMON_KEYS | qtype.keys, f"a {name} question", qid)
    fields: dict[str, Any] = {
        "id": qid, "type": name, "line": node.line, "section": section,
        "text": text_of(ctx, node, "text", required=True, qid=qid),
        "help": text_of(ctx, node, "help", qid=qid),
        "required": flag(ctx, node, "required", qid),
    }
    if "show_if" in node:
        fields["show_if"] = _condition(ctx, node["show_if"], node.line_of("show_if"), qid, earlier, codes)
    fields.update(qtype.read(ctx, node, qid, catalog))
    return Question(**fields)


def parse_instrument(text: str, source: str = "<instrument>") -> Instrument:
    """Parse and validate an instrument; raise :class:`InvalidInstrument` naming file, line and question.

    Every independent error is collected (one per choice list, scale, section header, question and score), so
    the message holds them all, one ``file:line: question 'id': what`` per line, in line order; an error that
    only follows from another (a condition on a broken question) is left out.
    """
    ctx = Ctx(source)
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem if isinstance(exc, YamlLimit) else f"not valid YAML: {exc.problem or exc.context}"
        raise ctx.fail(line, str(what)) from None
    top = as_mapping(ctx, data, 1, "an instrument file")
    ctx.errors.extend(str(ctx.fail(top.line_of(key), f"unknown key '{key}' in the instrument"))
                      for key in top if key not in _TOP_KEYS)
    iid = title = ""
    with ctx.collecting():
        iid = text_of(ctx, top, "id", required=True)
        if not INSTRUMENT_ID_RE.match(iid):
            raise ctx.fail(top.line_of("id"), f"instrument id '{iid}' must be lower-case letters, digits and '-'")
    raw_version = top.get("version")
    with ctx.collecting():
        if isinstance(raw_version, bool) or not isinstance(raw_version, int) or not 1 <= raw_version <= MAX_VERSION:
            raise ctx.fail(top.line_of("version"),
                           f"'version' is required: a whole number from 1 to {MAX_VERSION}")
    with ctx.collecting():
        title = text_of(ctx, top, "title", required=True)

    lists = dict(BUILTIN_CHOICES)
    with ctx.collecting():
        raw_lists = as_mapping(ctx, top.get("choices", LineDict()), top.line_of("choices"), "'choices'")
        for name, raw in raw_lists.items():
            with ctx.collecting(f"choices:{name}"):
                lists[name] = options(ctx, raw, raw_lists.line_of(name), None)
    scales = dict(BUILTIN_SCALES)
    with ctx.collecting():
        raw_scales = as_mapping(ctx, top.get("scales", LineDict()), top.line_of("scales"), "'scales'")
        for name, raw in raw_scales.items():
            with ctx.collecting(f"scales:{name}"):
                labels = options(ctx, raw, raw_scales.line_of(name), None)
                scales[name] = Scale(name, tuple(Option(str(i), o.label) for i, o in enumerate(labels, start=1)))

    catalog = Catalog(lists, scales)
    earlier: dict[str, Question] = {}
    sections: list[Section] = []
    with ctx.collecting():
        sections = _sections(ctx, top, catalog, earlier)
    scores: tuple[Score, ...] = ()
    with ctx.collecting():
        scores = read_scores(ctx, top, earlier)
    ctx.raise_collected()
    meta = top.get("meta", {})
    return Instrument(
        id=iid, version=cast(int, raw_version), title=title, sections=tuple(sections),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), source=source,
        intro=text_of(ctx, top, "intro"), consent=text_of(ctx, top, "consent"),
        thanks=text_of(ctx, top, "thanks") or Instrument.thanks, meta=dict(meta) if isinstance(meta, dict) else {},
        scores=scores,
    )


def _sections(ctx: Ctx, top: LineDict, catalog: Catalog, earlier: dict[str, Question]) -> list[Section]:
    """Read every section and its questions, collecting each one's error and carrying on."""
    raw_sections = top.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise ctx.fail(top.line_of("sections"), "'sections' must be a non-empty list")
    if len(raw_sections) > MAX_SECTIONS:
        raise ctx.fail(top.line_of("sections"), f"{len(raw_sections)} sections; the limit is {MAX_SECTIONS}")
    codes: dict[str, set[str]] = {}
    sections: list[Section] = []
    section_ids: set[str] = set()
    for raw_section in raw_sections:
        with ctx.collecting():
            snode = as_mapping(ctx, raw_section, top.line_of("sections"), "each section")
            sid = str(snode.get("id", ""))
            with ctx.collecting():
                unknown_keys(ctx, snode, _SECTION_KEYS, "a section")
            with ctx.collecting():
                sid = text_of(ctx, snode, "id", required=True)
                if not ID_RE.match(sid) or sid in section_ids:
                    raise ctx.fail(snode.line_of("id"), f"section id '{sid}' is malformed or repeated")
            section_ids.add(sid)
            raw_questions = snode.get("questions")
            if not isinstance(raw_questions, list) or not raw_questions:
                raise ctx.fail(snode.line, f"section '{sid}' needs a non-empty list of questions")
            if len(earlier) + len(raw_questions) > MAX_QUESTIONS:
                raise ctx.fail(snode.line, f"more than {MAX_QUESTIONS} questions; that is the limit")
            questions = []
            for raw_q in raw_questions:
                qid = raw_q.get("id") if isinstance(raw_q, LineDict) else None
                with ctx.collecting(f"q:{qid}" if isinstance(qid, str) and qid not in earlier else ""):
                    q = _question(ctx, raw_q, snode.line, sid, catalog, earlier, codes)
                    earlier[q.id] = q
                    questions.append(q)
            with ctx.collecting():
                sections.append(Section(sid, text_of(ctx, snode, "title") or sid.replace("_", " ").capitalize(),
                                        tuple(questions), text_of(ctx, snode, "intro")))
    return sections


def load_instrument(path: Path, display: str | None = None) -> Instrument:
    """Read and parse the instrument file at *path*."""
    source = display or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CHARS + 1)  # never more, whatever the file's size
        if len(raw) > MAX_CHARS:
            raise InvalidInstrument(f"{source}:1: larger than {MAX_CHARS:,} bytes, the limit for an instrument")
        content = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInstrument(f"{source}:1: cannot be read: {exc}") from None
    return parse_instrument(content, source)


def instrument_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the .yaml/.yml files they hold, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            # A report file (<id>.report.yaml, instrument.reportfile) lives beside its instrument; it is not one.
            found.extend(sorted(p for p in path.iterdir()
                                if p.suffix in (".yaml", ".yml") and not p.name.endswith(".report.yaml")))
        else:
            found.append(path)
    return found
