"""Turn an instrument's YAML text into a validated :class:`Instrument`, or one clear error."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any, cast

import yaml

from .model import LANGUAGE_QUESTION, Condition, Instrument, Option, Question, Scale, Score, Section
from .prose import check_prose
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
    words,
)
from .yamlcheck import text as text_of
from .yamlsource import MAX_CHARS, LineDict, YamlLimit, load_yaml

INSTRUMENT_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")

_TOP_KEYS = {"id", "version", "title", "intro", "consent", "thanks", "choices", "scales", "sections", "meta", "scores",
             "language", "languages"}
# A BCP 47 tag as instruments write it: a language subtag and optional region or script subtags (es, pt-BR).
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
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
    if qid == LANGUAGE_QUESTION and len(ctx.languages) > 1:
        raise ctx.fail(node.line_of("id"), "the id 'language' is kept for the built-in question recording the "
                       "language each response was given in", qid)
    name = text_of(ctx, node, "type", required=True, qid=qid)
    if name not in TYPES:
        raise ctx.fail(node.line_of("type"), f"unknown type '{name}' (one of: {', '.join(TYPES)})", qid)
    qtype = TYPES[name]
    unknown_keys(ctx, node, _COMMON_KEYS | qtype.keys, f"a {name} question", qid)
    fields: dict[str, Any] = {
        "id": qid, "type": name, "line": node.line, "section": section,
        "text": words(ctx, node, "text", required=True, qid=qid),
        "help": words(ctx, node, "help", qid=qid),
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
    # Every text is checked against the languages: with those wrong, each text would add an error that only
    # follows from them, so a wrong language header is reported with the errors found so far, and alone.
    try:
        languages = _languages(ctx, top)
    except InvalidInstrument as exc:
        ctx.errors.extend(exc.errors)
        ctx.raise_collected()
        raise
    # The file is read once per language: each reading picks that language's texts, and the first one checks
    # that every text has them all (and reports the top level's errors with its own). Ids, codes, conditions
    # and the hash are the same in every copy.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    copies = {}
    for lang in languages:
        reading = Ctx(source, lang, languages)
        reading.errors.extend(ctx.errors)
        ctx.errors.clear()
        copies[lang] = _build(reading, top, digest)
    own = languages[0]
    return dataclasses.replace(copies[own], translations={k: v for k, v in copies.items() if k != own})


def _languages(ctx: Ctx, top: LineDict) -> tuple[str, ...]:
    """Return the instrument's languages, its own ('language:', default en) first."""
    own = text_of(ctx, top, "language") or "en"
    if not LANGUAGE_RE.match(own):
        raise ctx.fail(top.line_of("language"), f"language '{own}' is not a BCP 47 tag such as en, es or pt-BR")
    raw = top.get("languages", [own])
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(top.line_of("languages"), "'languages' must be a list of BCP 47 tags, such as [en, es]")
    found: list[str] = []
    for tag in raw:
        if not isinstance(tag, str) or not LANGUAGE_RE.match(tag) or tag in found:
            raise ctx.fail(top.line_of("languages"), f"'languages': '{tag}' is not a BCP 47 tag such as en, es or "
                           "pt-BR, or is repeated")
        found.append(tag)
    if own not in found:
        raise ctx.fail(top.line_of("languages"), f"'languages' must include the instrument's language '{own}'")
    return (own, *(tag for tag in found if tag != own))


def _build(ctx: Ctx, top: LineDict, digest: str) -> Instrument:
    """Read the instrument in *ctx*'s language, collecting every error; raise them all at the end."""
    iid = title = ""
    with ctx.collecting():
        iid = text_of(ctx, top, "id", required=True)
        if not INSTRUMENT_ID_RE.match(iid):
            raise ctx.fail(top.line_of("id"), f"instrument id '{iid}' must be lower-case letters, digits and '-'")
    version = top.get("version")
    with ctx.collecting():
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
            raise ctx.fail(top.line_of("version"), f"'version' is required: a whole number from 1 to {MAX_VERSION}")
    with ctx.collecting():
        title = words(ctx, top, "title", required=True)

    lists = dict(BUILTIN_CHOICES)
    if "choices" in top:
        with ctx.collecting():
            raw_lists = as_mapping(ctx, top["choices"], top.line_of("choices"), "'choices'")
            for name, raw in raw_lists.items():
                with ctx.collecting(f"choices:{name}"):
                    lists[name] = options(ctx, raw, raw_lists.line_of(name), None)
    scales = dict(BUILTIN_SCALES)
    if "scales" in top:
        with ctx.collecting():
            raw_scales = as_mapping(ctx, top["scales"], top.line_of("scales"), "'scales'")
            for name, raw in raw_scales.items():
                with ctx.collecting(f"scales:{name}"):
                    labels = options(ctx, raw, raw_scales.line_of(name), None)
                    scales[name] = Scale(name, tuple(Option(str(i), o.label)
                                                     for i, o in enumerate(labels, start=1)))

    catalog = Catalog(lists, scales)
    earlier: dict[str, Question] = {}
    sections: list[Section] = []
    with ctx.collecting():
        sections = _sections(ctx, top, catalog, earlier)
    with ctx.collecting():
        check_prose(ctx, top)
    scores: tuple[Score, ...] = ()
    with ctx.collecting():
        scores = read_scores(ctx, top, earlier)
    ctx.raise_collected()
    meta = top.get("meta", {})
    return Instrument(
        id=iid, version=cast(int, version), title=title, sections=tuple(sections),
        sha256=digest, source=ctx.source,
        intro=words(ctx, top, "intro"), consent=words(ctx, top, "consent"),
        thanks=words(ctx, top, "thanks") or Instrument.thanks, meta=dict(meta) if isinstance(meta, dict) else {},
        scores=scores, language=ctx.language, languages=ctx.languages, translations={},
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
                sections.append(Section(sid, words(ctx, snode, "title") or sid.replace("_", " ").capitalize(),
                                        tuple(questions), words(ctx, snode, "intro")))
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
