"""The reach report of a peer support program, from its interaction records (the `interaction-record` instrument).

As the paper reports reach: interactions by department (n, %), interactions per month over the period
(mean, median, range; months without any count as 0), per program year (counted from the start date, in
12-month blocks), and length in minutes (mean, median, range, how many records give a length).

Records are answer dicts (one per interaction); one pass, keeping a counter per month and department and
the lengths in an ``array('d')`` (8 bytes per record).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import statistics
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from instrument import Option
from instrument.types.free import FIRST_DAY, LAST_DAY

from .charts import month_chart
from .model import Answers, SurveyInfo
from .suppress import Suppression, hidden_cells, protect
from .tabular.cells import sheet_title
from .tabular.percent import n_pct, percent
from .tabular.saving import save_atomically
from .workbook import BOLD, ITALIC, TITLE, Sheet

DATE_QUESTION, DEPARTMENT_QUESTION, LENGTH_QUESTION = "interaction_date", "department", "length_minutes"


def month_of(day: dt.date) -> dt.date:
    """Return the first day of *day*'s month."""
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """Return the first day of the month *n* months after *month*."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Return the first days of every month from *first*'s month to *last*'s, inclusive."""
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(frozen=True)
class Spread:
    """n, mean, median and range of some values."""

    n: int
    mean: float
    median: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        """Return the spread of *values* (None when there are none)."""
        if not values:
            return None
        return cls(len(values), math.fsum(values) / len(values), float(statistics.median(values)),
                   float(min(values)), float(max(values)))


@dataclass(frozen=True)
class ProgramYear:
    """One 12-month block from the start date (the last one may be shorter)."""

    number: int
    first_month: dt.date
    last_month: dt.date
    months: int
    interactions: int

    @property
    def per_month(self) -> float:
        """Return the mean number of interactions per month of this year."""
        return self.interactions / self.months if self.months else 0.0


@dataclass
class ReachReport:
    """Everything the reach workbook shows."""

    start: dt.date
    end: dt.date
    interactions: int
    outside_period: int
    by_department: list[tuple[str, str, int]]
    by_month: list[tuple[dt.date, int]]
    per_month: Spread | None
    by_year: list[ProgramYear]
    length: Spread | None
    length_recorded: int
    undated: int = 0
    implausible: int = 0  # dated before FIRST_DAY or after LAST_DAY (imported data, a placeholder like 9999-12-31)
    notes: list[str] = field(default_factory=list)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def reach_report(records: Iterable[Answers], departments: Sequence[Option], *, start: dt.date | None = None,
                 end: dt.date | None = None, date_question: str = DATE_QUESTION,
                 department_question: str = DEPARTMENT_QUESTION, length_question: str = LENGTH_QUESTION
                 ) -> ReachReport:
    """Tabulate interaction records over [start, end] (default: the first to the last record's date)."""
    if start is not None and end is not None and end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    for bound in (start, end):
        if bound is not None and not FIRST_DAY <= bound <= LAST_DAY:
            raise ValueError(f"the period ({bound}) must lie within {FIRST_DAY} to {LAST_DAY}")
    months: Counter[dt.date] = Counter()
    by_department: Counter[str] = Counter()
    lengths = array("d")
    outside = undated = implausible = 0
    implausible_days: set[dt.date] = set()
    first = last = None
    for answers in records:
        day = _date(answers.get(date_question))
        if day is None:
            undated += 1
            continue
        if not FIRST_DAY <= day <= LAST_DAY:
            implausible += 1
            if len(implausible_days) < 3:
                implausible_days.add(day)
            continue
        if (start is not None and day < start) or (end is not None and day > end):
            outside += 1
            continue
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
        months[month_of(day)] += 1
        department = answers.get(department_question)
        by_department[str(department) if department is not None else ""] += 1
        length = answers.get(length_question)
        if isinstance(length, int | float) and not isinstance(length, bool):
            lengths.append(float(length))
    period_start = start or first or dt.date.today()
    period_end = end or last or period_start
    month_list = months_between(period_start, period_end)
    by_month = [(m, months.get(m, 0)) for m in month_list]
    total = sum(months.values())

    rows = [(o.code, o.label, by_department.get(o.code, 0)) for o in departments]
    known = {o.code for o in departments}
    rows += [(code, code or "Not recorded", n) for code, n in sorted(by_department.items()) if code not in known]

    years: list[ProgramYear] = []
    for number, offset in enumerate(range(0, len(month_list), 12), start=1):
        block = by_month[offset: offset + 12]
        years.append(ProgramYear(number, block[0][0], block[-1][0], len(block), sum(n for _, n in block)))

    report = ReachReport(
        start=period_start, end=period_end, interactions=total, outside_period=outside, by_department=rows,
        by_month=by_month, per_month=Spread.of([float(n) for _, n in by_month]), by_year=years,
        length=Spread.of(sorted(lengths)), length_recorded=len(lengths), undated=undated, implausible=implausible)
    if outside:
        report.notes.append(f"{outside} records dated outside {period_start} to {period_end} are left out.")
    if undated:
        report.notes.append(f"{undated} records without a valid date are left out.")
    if implausible:
        shown = ", ".join(d.isoformat() for d in sorted(implausible_days))
        report.notes.append(f"{implausible} records dated before {FIRST_DAY} or after {LAST_DAY} (such as {shown}) "
                            "are left out: correct their date in the data.")
    if years and years[-1].months < 12:
        report.notes.append(f"Program year {years[-1].number} covers only {years[-1].months} months so far.")
    return report


def _month_label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def _time_lines(report: ReachReport) -> list[tuple[int, Hashable | None, list[Hashable]]]:
    """Return the lines months and program years publish: each year's months, the years, all months."""
    lines: list[tuple[int, Hashable | None, list[Hashable]]] = []
    for year in report.by_year:
        months: list[Hashable] = [("m", m) for m, _n in report.by_month if year.first_month <= m <= year.last_month]
        lines.append((year.interactions, ("y", year.number), months))
    lines.append((report.interactions, None, [("y", year.number) for year in report.by_year]))
    lines.append((report.interactions, None, [("m", m) for m, _n in report.by_month]))
    return lines


def write_reach_workbook(path: str | os.PathLike[str], report: ReachReport, info: SurveyInfo,
                         rule: Suppression | None = None) -> None:
    """Write the reach report to *path*: a Summary sheet, the Reach tables, and the month-by-month counts."""
    rule = rule or Suppression()
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    summary = Sheet(wb, sheet_title("Summary", taken), (30, 90))
    reach = Sheet(wb, sheet_title("Reach", taken), (36, 14, 14, 18, 14, 16))
    monthly = Sheet(wb, sheet_title("Months", taken), (14, 14, 14, 18))

    summary.append([f"Reach: {info.title}"], TITLE)
    for key, value in (
        ("Survey id", info.slug),
        ("Instrument", f"{info.instrument_id}, version {info.instrument_version}"),
        ("Period", f"{report.start.isoformat()} to {report.end.isoformat()} ({len(report.by_month)} months)"),
        ("Interactions in the period", report.interactions),
        ("Exported on", info.exported_on or dt.date.today()),
        ("Small-cell suppression", rule.describe()),
    ):
        summary.append([summary.styled(key, BOLD), value])
    for note in report.notes:
        summary.append(["Note", note])

    # By department: one line (the total) over the departments.
    counts: dict[Hashable, int] = {code: n for code, _label, n in report.by_department}
    hidden = hidden_cells(counts, [(report.interactions, list(counts))], rule)
    reach.append(["Interactions by department"], TITLE)
    reach.append([f"n (%) of the {report.interactions} interactions in the period."], ITALIC)
    reach.append(["Department", "n", "%", "n (%)"], BOLD)
    for code, label, n in report.by_department:
        if code in hidden:
            reach.append([label, rule.mark_for(n), None, rule.mark_for(n)])
        else:
            share = percent(n, report.interactions)
            reach.append([label, n, share, n_pct(n, report.interactions)])
    reach.append(["Total", report.interactions, 100.0 if report.interactions else None, ""], BOLD)
    reach.blank()

    month_counts: dict[Hashable, int] = {("m", m): n for m, n in report.by_month}
    month_counts.update({("y", year.number): year.interactions for year in report.by_year})
    month_hidden = protect(month_counts, _time_lines(report), rule)

    reach.append(["Interactions per month"], TITLE)
    reach.append([f"Over the {len(report.by_month)} months of the period; months without any count as 0."],
                 ITALIC)
    reach.append(["Statistic", "Value"], BOLD)
    spread = report.per_month
    reach.append(["Months", len(report.by_month)])
    if spread is not None and month_hidden:
        # The median and the range are months' counts: they would name a hidden month's count.
        reach.append(["Mean", round(spread.mean, 1)])
        reach.append(["Median, minimum, maximum", "not shown: some months are hidden (small counts)"])
    elif spread is not None:
        reach.append(["Mean", round(spread.mean, 1)])
        reach.append(["Median", spread.median])
        reach.append(["Minimum", spread.minimum])
        reach.append(["Maximum", spread.maximum])
        reach.append(["Range", f"{spread.minimum:g} to {spread.maximum:g}"])
    reach.blank()

    reach.append(["Interactions per program year"], TITLE)
    reach.append([f"12-month blocks from {report.start.isoformat()}."], ITALIC)
    reach.append(["Program year", "From", "To", "Months", "Interactions", "Mean per month"], BOLD)
    for year in report.by_year:
        if ("y", year.number) in month_hidden:
            reach.append([year.number, _month_label(year.first_month), _month_label(year.last_month), year.months,
                          rule.mark_for(year.interactions), None])
            continue
        reach.append([year.number, _month_label(year.first_month), _month_label(year.last_month), year.months,
                      year.interactions, round(year.per_month, 1)])
    reach.blank()

    reach.append(["Length of interactions (minutes)"], TITLE)
    reach.append([f"Records giving a length: {report.length_recorded} of {report.interactions}."], ITALIC)
    reach.append(["Statistic", "Value"], BOLD)
    length = report.length
    reach.append(["n with length recorded", report.length_recorded])
    if length is not None:
        reach.append(["Mean", round(length.mean, 1)])
        reach.append(["Median", length.median])
        reach.append(["Minimum", length.minimum])
        reach.append(["Maximum", length.maximum])
        reach.append(["Range", f"{length.minimum:g} to {length.maximum:g}"])

    # The chart reads its own numeric column: a hidden month is an empty cell (a gap, never a zero bar) and
    # its label says it is hidden; the "<5"/"x" text stays in the table column only.
    monthly.append(["Month", "Interactions", "Chart: interactions", "Chart: month"], BOLD, wrap=True)
    for month, n in report.by_month:
        shown = ("m", month) not in month_hidden
        monthly.append([_month_label(month), n if shown else rule.mark_for(n), n if shown else None,
                        _month_label(month) if shown else f"{_month_label(month)} (hidden)"])
    if report.by_month:
        last = len(report.by_month) + 1
        title = "Interactions per month" + (" (hidden months left empty, labelled 'hidden')" if month_hidden else "")
        monthly.ws.add_chart(month_chart(monthly.ws, title, 2, last, 3, 4), "F2")
    save_atomically(wb, path)
