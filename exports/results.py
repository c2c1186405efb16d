"""The figures, tables and charts of a report file (:mod:`instrument.reportfile`), counted in one pass.

A figure is n of a base: the respondents for whom its ``of`` condition holds (every respondent without one),
and of those, how many satisfy ``count``. Where the count reads questions that some of the base left
empty, a second base is kept: those of the base who answered them (the paper's "55 (83.3%) of 66" is of
those shown the question, its "18 out of 64" of those who answered), and both are given, each said which.
Percentages come from :func:`exports.tabular.percent.percent`, hidden counts from :mod:`exports.suppress`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from instrument import Instrument, Question, condition_holds
from instrument.reportfile import Figure, ReportChart, ReportFile, ReportTable

from .model import Answers
from .stats import option_codes
from .suppress import TOTAL, Suppression, hidden_cells, table_hidden
from .tabular.percent import percent

NO_ANSWER = "No answer"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass
class FigureResult:
    """One figure's numbers (a hidden count is its mark, '<5' or 'x') and its sentence."""

    figure: Figure
    n: int | str
    base: int | str
    pct: float | None
    answered: int | str | None = None  # of the base, those who answered (None: the same as the base)
    pct_answered: float | None = None
    sentence: str = ""
    which: str = ""


@dataclass
class _FigureCount:
    figure: Figure
    n: int = 0
    base: int = 0
    answered: int = 0
    n_answered: int = 0

    def add(self, answers: Answers) -> None:
        f = self.figure
        if f.of is not None and not condition_holds(f.of, answers):
            return
        self.base += 1
        # A second base only for a count on one question: "answered" of several questions means nothing.
        questions = f.questions()
        given = len(questions) != 1 or not _empty(answers.get(next(iter(questions))))
        holds = f.count is not None and condition_holds(f.count, answers)
        self.answered += given
        self.n += holds
        self.n_answered += holds and given


@dataclass
class TableResult:
    """A table's header and rows of cells: a label, then "n (%)" per column and overall."""

    table: ReportTable
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class ChartResult:
    """A chart's bars: per statement (a question, or one item of a matrix) its text, n answered, level counts
    (lowest level first), and the question it belongs to."""

    chart: ReportChart
    bars: list[tuple[Question, str, int, list[int]]]
    legend: list[str]


@dataclass
class Results:
    """Everything a report file asks for, computed."""

    report: ReportFile
    respondents: int
    figures: list[FigureResult]
    tables: list[TableResult]
    charts: list[ChartResult]


class ResultsCollector:
    """Counts what a report file needs, one response at a time (counters only)."""

    def __init__(self, report: ReportFile, instrument: Instrument) -> None:
        self.report, self.instrument = report, instrument
        self.respondents = 0
        self.figures = [_FigureCount(f) for f in report.figures if not f.response_rate]
        # table id -> (row question, column label, code) -> n; and respondents shown each row question per column
        self.cells: dict[str, Counter[tuple[str, str, str]]] = {t.id: Counter() for t in report.tables}
        self.shown: dict[str, Counter[tuple[str, str]]] = {t.id: Counter() for t in report.tables}
        self.columns: dict[str, Counter[str]] = {t.id: Counter() for t in report.tables}
        self.levels: dict[str, Counter[tuple[str, str]]] = {c.id: Counter() for c in report.charts}

    def add(self, answers: Answers) -> None:
        """Count one response."""
        self.respondents += 1
        for count in self.figures:
            count.add(answers)
        for table in self.report.tables:
            self._add_table(table, answers)
        for chart in self.report.charts:
            if chart.of is not None and not condition_holds(chart.of, answers):
                continue
            for qid in chart.questions:
                value = answers.get(qid)
                if isinstance(value, dict):  # a matrix: one bar per statement
                    for item, level in value.items():
                        if not _empty(level):
                            self.levels[chart.id][f"{qid}.{item}", str(level)] += 1
                elif not _empty(value):
                    self.levels[chart.id][qid, str(value)] += 1

    def _add_table(self, table: ReportTable, answers: Answers) -> None:
        group = answers.get(table.by)
        column = next((label for label, codes in table.columns if group in codes), NO_ANSWER)
        self.columns[table.id][column] += 1
        for qid in table.rows:
            if qid not in answers:
                continue
            self.shown[table.id][qid, column] += 1
            value = answers[qid]
            values = value if isinstance(value, list) else [value]
            if _empty(value):
                values = [NO_ANSWER]
            for v in values:
                self.cells[table.id][qid, column, str(v)] += 1

    def results(self, invited: int | None, rule: Suppression) -> Results:
        """Return the figures, tables and charts, hiding counts by *rule* (OFF: exact)."""
        figures: list[FigureResult] = []
        counted = iter(self.figures)
        for f in self.report.figures:
            if f.response_rate:
                figures.append(_rate(f, self.respondents, invited, rule))
            else:
                figures.append(_figure(next(counted), rule))
        tables = [self._table(t, rule) for t in self.report.tables]
        charts = [self._chart(c) for c in self.report.charts]
        return Results(self.report, self.respondents, figures, tables, charts)

    def _table(self, table: ReportTable, rule: Suppression) -> TableResult:
        columns = [label for label, _ in table.columns]
        if self.columns[table.id][NO_ANSWER]:
            columns.append(NO_ANSWER)
        sizes = self.columns[table.id]
        header = ["Characteristic", *[f"{c} (n = {sizes[c]})" for c in columns], f"Overall (n = {self.respondents})"]
        result = TableResult(table, header, note="n (%) of the respondents in each column who were shown the "
                                                 "question; 'No answer': shown it and left it empty.")
        for qid in table.rows:
            q = self.instrument.question(qid)
            cells = self.cells[table.id]
            codes = option_codes(q, {code for (r, _c, code) in cells if r == qid and code != NO_ANSWER})
            if any(cells[qid, c, NO_ANSWER] for c in columns):
                codes.append(NO_ANSWER)
            counts: dict[Hashable, dict[Hashable, int]] = {code: {c: cells[qid, c, code] for c in columns}
                                                           for code in codes}
            hidden = table_hidden(counts, rule) if q.type == "single_choice" else set()
            if q.type != "single_choice" and rule.enabled:  # several answers each: every cell against its column
                hidden = {(code, c) for code in codes for c in columns if rule.hides(counts[code][c])}
            result.rows.append([q.text, *[""] * (len(columns) + 1)])
            for code in codes:
                label = code if code == NO_ANSWER else q.label_of(code)
                row: list[Any] = [f"    {label}"]
                for c in columns:
                    n, base = counts[code][c], self.shown[table.id][qid, c]
                    row.append(rule.mark_for(n) if (code, c) in hidden else _n_pct(n, base))
                overall, base = sum(counts[code].values()), sum(self.shown[table.id][qid, c] for c in columns)
                row.append(rule.mark_for(overall) if (code, TOTAL) in hidden else _n_pct(overall, base))
                result.rows.append(row)
        return result

    def _chart(self, chart: ReportChart) -> ChartResult:
        questions = [self.instrument.question(qid) for qid in chart.questions]
        bars = []
        for q in questions:
            statements = [(f"{q.id}.{i.id}", f"{q.text} {i.text}".replace("… ", "")) for i in q.items] or \
                [(q.id, q.text)]
            for key, text in statements:
                counts = [self.levels[chart.id][key, o.code] for o in q.choices]
                bars.append((q, text, sum(counts), counts))
        label_sets = {tuple(o.label for o in q.choices) for q in questions}
        if len(label_sets) == 1:
            legend = list(label_sets.pop())
        else:  # different scales of one length: the levels line up by position, each row says its labels
            legend = [f"Level {i} of {chart.levels}" + (" (most negative)" if i == 1 else " (most positive)"
                                                         if i == chart.levels else "")
                      for i in range(1, chart.levels + 1)]
        return ChartResult(chart, bars, legend)


def _n_pct(n: int, base: int) -> str:
    share = percent(n, base)
    return f"{n}" if share is None else f"{n} ({share:.1f}%)"


def _figure(count: _FigureCount, rule: Suppression) -> FigureResult:
    f = count.figure
    hidden = _hidden(count.n, count.base, rule)
    n: int | str = rule.mark_for(count.n) if "n" in hidden else count.n
    base: int | str = rule.mark_for(count.base) if "base" in hidden else count.base
    pct = None if hidden else percent(count.n, count.base)
    result = FigureResult(f, n, base, pct, which=f"of the {base} {f.of_text}")
    result.sentence = _sentence(f"Of the {base} {f.of_text}", n, pct, f.text)
    if count.answered == count.base:
        return result
    a_hidden = hidden | _hidden(count.n_answered, count.answered, rule)
    result.answered = rule.mark_for(count.answered) if rule.hides(count.answered) else count.answered
    result.pct_answered = None if a_hidden else percent(count.n_answered, count.answered)
    result.which += f"; and of the {result.answered} of them who answered"
    shown_n = rule.mark_for(count.n_answered) if a_hidden else count.n_answered
    result.sentence += f" Of the {result.answered} who answered, {_share(shown_n, result.pct_answered)}."
    return result


def _hidden(n: int, base: int, rule: Suppression) -> set[str]:
    """Return which of n and the base to hide: the one rule on the line base = n + the rest."""
    hidden = {str(c) for c in hidden_cells({"n": n, "rest": base - n}, [(base, ["n", "rest"])], rule)}
    if rule.hides(base):
        hidden.add("base")
    return hidden


def _share(n: int | str, pct: float | None) -> str:
    return f"{n} ({pct:.1f}%)" if pct is not None else f"{n} (% not shown: small counts)"


def _sentence(opening: str, n: int | str, pct: float | None, text: str) -> str:
    return f"{opening}, {_share(n, pct)} {text}."


def _rate(f: Figure, respondents: int, invited: int | None, rule: Suppression) -> FigureResult:
    if not invited:
        return FigureResult(f, respondents, "not known", None, sentence="The number invited is not known "
                            "(record it with 'surveykit surveys invited'), so there is no response rate.",
                            which="of those invited (not known)")
    hidden = _hidden(respondents, invited, rule)
    n: int | str = rule.mark_for(respondents) if "n" in hidden else respondents
    pct = None if hidden else percent(respondents, invited)
    return FigureResult(f, n, invited, pct, which=f"of the {invited} invited",
                        sentence=_sentence(f"Of the {invited} invited", n, pct, f.text))


def collect(report: ReportFile, instrument: Instrument, responses: Iterable[Answers]) -> ResultsCollector:
    """Count *responses* for *report* (tests and callers without a workbook)."""
    collector = ResultsCollector(report, instrument)
    for answers in responses:
        collector.add(answers)
    return collector
