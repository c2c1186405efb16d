"""A report file: the figures, tables and charts a paper takes from one instrument's answers, declared once.

An optional ``<instrument id>.report.yaml`` next to the instrument (``instruments/README.md`` shows the
format) holds

- **figures**: a count and its denominator as conditions in the ``show_if`` language (``count`` and ``of``),
  so derived figures such as "accepted when reached" (had of had or declined), groups of options ("2 or
  more": ``in: [two, three_plus]``) and merged categories (``in: [anesthesia, icu]``) are declared, never
  worked out by hand; one figure may be the response rate (``response_rate: true``);
- **tables**: rows are questions, columns the options of a grouping question (some merged), n (%) per
  column and overall (the paper's Table 1);
- **charts**: several Likert questions (a matrix gives a bar per statement), even on different scales of the
  same length, as one 100% stacked chart with n per bar (the paper's Figs 3 and 4).

Pure: read with the one YAML loader and the instrument's own condition parser; every error is one
:class:`InvalidReport` reading ``file:line: what``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import Condition, Instrument, Question
from .parser import parse_condition
from .yamlcheck import Ctx, InvalidInstrument, as_mapping, text, unknown_keys
from .yamlsource import MAX_CHARS, LineDict, YamlLimit, load_yaml

SUFFIX = ".report.yaml"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ENTRIES = 500
_TOP_KEYS = {"instrument", "figures", "tables", "charts"}
_FIGURE_KEYS = {"id", "text", "count", "of", "of_text", "response_rate"}
_TABLE_KEYS = {"id", "title", "rows", "by", "merge"}
_CHART_KEYS = {"id", "title", "questions", "of"}


class InvalidReport(ValueError):
    """A report file that cannot be used; the message reads ``file:line: what``."""


@dataclass(frozen=True)
class Figure:
    """One published figure: n of those in *of* for whom *count* holds (or the response rate)."""

    id: str
    text: str  # the end of its sentence: "were aware of the POST program"
    count: Condition | None = None
    of: Condition | None = None  # None: every respondent
    of_text: str = "respondents"
    response_rate: bool = False
    line: int = 0

    def questions(self) -> set[str]:
        """Return the questions the count reads: their answers decide the "of those who answered" base."""
        return self.count.questions() if self.count is not None else set()


@dataclass(frozen=True)
class ReportTable:
    """Rows: the options of each question in *rows*; columns: the options of *by* (merged where asked)."""

    id: str
    title: str
    rows: tuple[str, ...]
    by: str
    columns: tuple[tuple[str, tuple[str, ...]], ...]  # (label, option codes of *by*) in order
    line: int = 0


@dataclass(frozen=True)
class ReportChart:
    """Likert questions in one 100% stacked chart: a bar per question, or per statement of a matrix."""

    id: str
    title: str
    questions: tuple[str, ...]
    levels: int
    of: Condition | None = None
    line: int = 0


@dataclass(frozen=True)
class ReportFile:
    """What one report file declares for its instrument."""

    source: str
    figures: tuple[Figure, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    charts: tuple[ReportChart, ...] = ()


def report_path(folder: Path, instrument_id: str) -> Path:
    """Return where the report file of *instrument_id* lives in the instruments *folder*."""
    return folder / f"{instrument_id}{SUFFIX}"


def load_report(folder: Path, instrument: Instrument) -> ReportFile | None:
    """Return the report file of *instrument* in *folder*, None when there is none; raise InvalidReport."""
    path = report_path(folder, instrument.id)
    if not path.is_file():
        return None
    name = f"{folder.name}/{path.name}" if folder.name else path.name  # never the server's whole path
    try:
        if path.stat().st_size > MAX_CHARS * 4:
            raise InvalidReport(f"{name}:1: the file is larger than {MAX_CHARS} characters")
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidReport(f"{name}:1: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidReport(f"{name}: cannot be read ({exc.strerror})") from None
    return parse_report(source, name, instrument)


def parse_report(source: str, name: str, instrument: Instrument) -> ReportFile:
    """Parse a report file's text against *instrument*; raise InvalidReport naming file and line."""
    ctx = Ctx(name)
    try:
        return _parse(ctx, source, instrument)
    except InvalidInstrument as exc:
        raise InvalidReport(str(exc)) from None


def _parse(ctx: Ctx, source: str, instrument: Instrument) -> ReportFile:
    try:
        data = load_yaml(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem if isinstance(exc, YamlLimit) else f"not valid YAML: {exc.problem or exc.context}"
        raise ctx.fail(mark.line + 1 if mark else 1, str(what)) from None
    top = as_mapping(ctx, data, 1, "a report file")
    unknown_keys(ctx, top, _TOP_KEYS, "the report file")
    named = text(ctx, top, "instrument")
    if named and named != instrument.id:
        raise ctx.fail(top.line_of("instrument"), f"this report file is for '{named}', not '{instrument.id}'")
    taken: dict[str, int] = {}
    figures = tuple(_figure(ctx, node, instrument, taken) for node in _entries(ctx, top, "figures"))
    tables = tuple(_table(ctx, node, instrument, taken) for node in _entries(ctx, top, "tables"))
    charts = tuple(_chart(ctx, node, instrument, taken) for node in _entries(ctx, top, "charts"))
    if not (figures or tables or charts):
        raise ctx.fail(top.line, "a report file needs at least one of figures, tables, charts")
    return ReportFile(ctx.source, figures, tables, charts)


def _entries(ctx: Ctx, top: LineDict, key: str) -> list[LineDict]:
    if key not in top:
        return []
    raw = top[key]
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(top.line_of(key), f"'{key}' must be a non-empty list")
    if len(raw) > MAX_ENTRIES:
        raise ctx.fail(top.line_of(key), f"{len(raw)} {key}; the limit is {MAX_ENTRIES}")
    return [as_mapping(ctx, item, top.line_of(key), f"each of '{key}'") for item in raw]


def _name(ctx: Ctx, node: LineDict, taken: dict[str, int]) -> str:
    name = text(ctx, node, "id", required=True)
    if not NAME_RE.match(name):
        raise ctx.fail(node.line_of("id"), f"id '{name}': use up to 40 lower-case letters, digits and '_', "
                                           "starting with a letter (it names cells in the workbook)")
    if name in taken:
        raise ctx.fail(node.line_of("id"), f"id '{name}' is used already on line {taken[name]}")
    taken[name] = node.line_of("id")
    return name


def _condition(ctx: Ctx, node: LineDict, key: str, instrument: Instrument) -> Condition | None:
    return parse_condition(ctx, node[key], node.line_of(key), instrument) if key in node else None


def _question(ctx: Ctx, node: LineDict, key: str, raw: Any, instrument: Instrument,
              summaries: tuple[str, ...]) -> Question:
    if not isinstance(raw, str):
        raise ctx.fail(node.line_of(key), f"'{key}' names questions by their id")
    try:
        question = instrument.question(raw)
    except KeyError:
        raise ctx.fail(node.line_of(key), f"'{raw}' is not a question of '{instrument.id}'") from None
    if question.type not in summaries:
        raise ctx.fail(node.line_of(key), f"'{raw}' is a {question.type} question; '{key}' takes "
                                          f"{' or '.join(summaries)} questions")
    return question


def _figure(ctx: Ctx, node: LineDict, instrument: Instrument, taken: dict[str, int]) -> Figure:
    unknown_keys(ctx, node, _FIGURE_KEYS, "a figure")
    name = _name(ctx, node, taken)
    sentence = text(ctx, node, "text", required=True)
    rate = node.get("response_rate", False)
    if not isinstance(rate, bool):
        raise ctx.fail(node.line_of("response_rate"), "'response_rate' must be true or false")
    if rate:
        if "count" in node or "of" in node:
            raise ctx.fail(node.line, f"figure '{name}': the response rate is answered of invited; it takes "
                                      "no 'count' or 'of'")
        return Figure(name, sentence, response_rate=True, of_text="invited", line=node.line)
    if "count" not in node:
        raise ctx.fail(node.line, f"figure '{name}' needs 'count' (a condition), or 'response_rate: true'")
    of = _condition(ctx, node, "of", instrument)
    of_text = text(ctx, node, "of_text") or ("respondents" if of is None else of.describe())
    return Figure(name, sentence, _condition(ctx, node, "count", instrument), of, of_text, line=node.line)


def _ids(ctx: Ctx, node: LineDict, key: str) -> list[Any]:
    raw = node.get(key)
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(node.line_of(key), f"'{key}' must be a non-empty list of question ids")
    return raw


def _table(ctx: Ctx, node: LineDict, instrument: Instrument, taken: dict[str, int]) -> ReportTable:
    unknown_keys(ctx, node, _TABLE_KEYS, "a table")
    name = _name(ctx, node, taken)
    rows = [_question(ctx, node, "rows", r, instrument, ("single_choice", "multiple_choice"))
            for r in _ids(ctx, node, "rows")]
    by = _question(ctx, node, "by", text(ctx, node, "by", required=True), instrument, ("single_choice",))
    codes = [o.code for o in by.choices]
    merged: dict[str, tuple[str, ...]] = {}
    if "merge" in node:
        merge = as_mapping(ctx, node["merge"], node.line_of("merge"), "'merge' (label: [codes of the 'by' question])")
        for label, raw in merge.items():
            parts = raw if isinstance(raw, list) else [raw]
            if len(parts) < 2 or any(str(p) not in codes for p in parts):
                raise ctx.fail(merge.line_of(label), f"merge '{label}': list two or more options of '{by.id}' "
                                                     f"({', '.join(codes)})")
            if any(str(p) in c for c in merged.values() for p in parts):
                raise ctx.fail(merge.line_of(label), f"merge '{label}': an option is merged twice")
            merged[str(label)] = tuple(str(p) for p in parts)
    columns: list[tuple[str, tuple[str, ...]]] = []
    placed: set[str] = set()
    for code in codes:  # in the question's order, a merged column where its first option stands
        if code in placed:
            continue
        group = next(((label, group) for label, group in merged.items() if code in group), None)
        if group is None:
            columns.append((by.label_of(code), (code,)))
            placed.add(code)
        else:
            columns.append(group)
            placed.update(group[1])
    title = text(ctx, node, "title") or f"Respondents by {by.text}"
    return ReportTable(name, title, tuple(q.id for q in rows), by.id, tuple(columns), node.line)


def _chart(ctx: Ctx, node: LineDict, instrument: Instrument, taken: dict[str, int]) -> ReportChart:
    unknown_keys(ctx, node, _CHART_KEYS, "a chart")
    name = _name(ctx, node, taken)
    questions = [_question(ctx, node, "questions", q, instrument, ("likert",)) for q in _ids(ctx, node, "questions")]
    lengths = {len(q.choices) for q in questions}
    if len(lengths) != 1:
        raise ctx.fail(node.line_of("questions"), "the questions' scales differ in length "
                                                  f"({', '.join(f'{q.id}: {len(q.choices)}' for q in questions)}); "
                                                  "a bar's levels must line up")
    title = text(ctx, node, "title", required=True)
    return ReportChart(name, title, tuple(q.id for q in questions), lengths.pop(), _condition(ctx, node, "of",
                                                                                            instrument), node.line)
