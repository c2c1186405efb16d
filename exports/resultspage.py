"""What a survey's results page shows: the workbook's tables and charts, computed by the workbook's own functions.

The pages (investigators' and the shared link's) read everything from here, in one pass over the answers,
and the tables come from :mod:`exports.tables` with the joint protection of :mod:`exports.joint`, the Likert
bars from :mod:`exports.likertbars`, a report file's figures from :mod:`exports.results`: a page and the
workbook written with the same rule show the same cells, hidden in the same places. Plain data out, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from instrument import Instrument
from instrument.reportfile import ReportFile

from .joint import joint_hidden
from .likertbars import LikertChart, exact_bar, likert_charts
from .model import Answers, SurveyInfo
from .results import Results, ResultsCollector
from .scores import score_table
from .stats import Collector
from .suppress import Suppression, is_mark
from .tables import Table, question_tables


@dataclass
class Section:
    """A section's title and the tables of its questions."""

    title: str
    tables: list[Table]


@dataclass
class PageResults:
    """Everything a results page shows, and how many counts it hides."""

    info: SurveyInfo
    rule: Suppression
    respondents: int
    sections: list[Section] = field(default_factory=list)
    scores: list[Table] = field(default_factory=list)
    charts: list[LikertChart] = field(default_factory=list)
    report: Results | None = None
    report_charts: list[LikertChart] = field(default_factory=list)
    hidden: int = 0  # cells shown as '<k' or 'x', counted as the workbook counts them


def _hidden_in(tables: Iterable[Table]) -> int:
    return sum(1 for t in tables for row in t.rows for v in row if is_mark(v))


def report_charts(results: Results) -> list[LikertChart]:
    """Return a report file's charts (several questions, one bar each statement) as exact bars."""
    charts = []
    for chart in results.charts:
        bars = [exact_bar(text, counts, answered) for _q, text, answered, counts in chart.bars]
        scales = [" / ".join(o.label for o in q.choices) for q, _t, _a, _c in chart.bars]
        charts.append(LikertChart(chart.chart.id, chart.chart.title, chart.legend, bars,
                                  "Each bar is 100% of its n (those who answered the question); levels line up by "
                                  "position, most negative first.", scales))
    return charts


def page_results(instrument: Instrument, info: SurveyInfo, responses: Iterable[Answers], rule: Suppression,
                 report: ReportFile | None = None) -> PageResults:
    """Count *responses* once and return the page's tables, charts and (with *report*) the report's results."""
    collector = Collector(instrument)
    counted = ResultsCollector(report, instrument) if report is not None else None
    for answers in responses:
        collector.add(answers)
        if counted is not None:
            counted.add(answers)
    total = collector.total
    joint = joint_hidden(collector, rule) if rule.enabled else None
    page = PageResults(info, rule, total.respondents)
    for section in instrument.sections:
        tables = [t for q in section.questions for t in question_tables(total[q.id], total.respondents, rule, joint)]
        page.sections.append(Section(section.title, tables))
    page.scores = [score_table(score, rule) for score in total.scores]
    page.charts = likert_charts(collector, rule)
    if counted is not None:
        page.report = counted.results(info.invited, rule)
        page.report_charts = report_charts(page.report)
    page.hidden = (sum(_hidden_in(s.tables) for s in page.sections) + _hidden_in(page.scores)
                   + sum(1 for c in page.charts for b in c.bars for v in b.counts if is_mark(v)))
    return page
