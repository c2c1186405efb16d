"""Turn summaries into the tables a manuscript shows: plain rows of cells, small cells already suppressed.

Each table is a title (question id and text), a note stating the denominators, a header and rows; count
columns hold numbers (or "<k"/"x" when hidden), percentage columns numbers rounded to 0.1, and an
"n (%)" column holds the text to paste ("66 (88.0%)").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from instrument import Question, UnsupportedType

from .joint import column_key
from .stats import (
    NO_GROUP,
    ChoiceSummary,
    CrossTab,
    DateSummary,
    Descriptives,
    LevelCounts,
    LikertSummary,
    MultiSummary,
    NumberSummary,
    RankingSummary,
    Summary,
    TextSummary,
)
from .suppress import Suppression, hidden_cells
from .tabular.percent import n_pct, percent

NO_ANSWER = "No answer"


@dataclass
class Table:
    """One table: where it comes from, what its denominators are, and its cells."""

    question_id: str
    title: str
    note: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _title(q: Question, item_text: str = "") -> str:
    text = f"{q.id}: {q.text}"
    if item_text:
        text += f" — {item_text}"
    return text + (f" ({q.unit})" if q.unit else "")


def _base(s: Summary, respondents: int, rule: Suppression) -> str:
    hidden = respondents - s.shown
    if rule.enabled:  # "no answer" is a cell of the table, hidden there when small: never repeated here
        return f"Shown to {s.shown} of {respondents} respondents (not shown: {hidden})."
    return (f"Shown to {s.shown} of {respondents} respondents (not shown: {hidden}); answered {s.answered}, "
            f"no answer {s.unanswered}.")


def count_cells(n: int, denominator: int, hidden: bool, rule: Suppression) -> list[Any]:
    """Return the n, % and "n (%)" cells of one count, or its marks when hidden."""
    if hidden:
        mark = rule.mark_for(n)
        return [mark, None, mark]
    return [n, percent(n, denominator), n_pct(n, denominator)]


def _counted_rows(labels: Sequence[tuple[Hashable, str]], counts: dict[Hashable, int], denominator: int,
                  hidden: set[Hashable], rule: Suppression) -> list[list[Any]]:
    return [[label, *count_cells(counts[key], denominator, key in hidden, rule)] for key, label in labels]


def choice_table(s: ChoiceSummary, respondents: int, rule: Suppression,
                 joint: set[Hashable] | None = None) -> Table:
    """Return a single-choice question's table: n (%) of those shown, 'No answer' included.

    *joint*: the cells hidden across every table of the export (exports.joint), when it protects them together.
    """
    q = s.question
    labels: list[tuple[Hashable, str]] = [(code, q.label_of(code)) for code in s.codes()]
    counts: dict[Hashable, int] = {code: s.counts.get(str(code), 0) for code, _ in labels}
    labels.append((NO_ANSWER, NO_ANSWER))
    counts[NO_ANSWER] = s.unanswered
    if joint is not None:
        hidden: set[Hashable] = {code for code in counts if ("q", q.id, code) in joint}
    else:
        hidden = hidden_cells(counts, [(s.shown, list(counts))], rule)
    table = Table(q.id, _title(q), _base(s, respondents, rule) + f" Percentages of the {s.shown} shown the question.",
                  ["Answer", "n", "%", "n (%)"])
    table.rows = _counted_rows(labels, counts, s.shown, hidden, rule)
    return table


def multi_table(s: MultiSummary, respondents: int, rule: Suppression) -> Table:
    """Return a multiple-choice question's table: each option as n (%) of the respondents shown it."""
    q = s.question
    labels: list[tuple[Hashable, str]] = [(code, q.label_of(code)) for code in s.codes()]
    counts: dict[Hashable, int] = {code: s.counts.get(str(code), 0) for code, _ in labels}
    labels.append((NO_ANSWER, "No option chosen"))
    counts[NO_ANSWER] = s.unanswered
    # Options overlap (several answers possible), so no line adds up to a total: primary suppression only.
    hidden = hidden_cells(counts, [], rule)
    table = Table(q.id, _title(q), _base(s, respondents, rule) + f" Several answers possible: percentages of the "
                  f"{s.shown} respondents shown the question.", ["Answer", "n", "% of respondents", "n (%)"])
    table.rows = _counted_rows(labels, counts, s.shown, hidden, rule)
    return table


def _level_lines(levels: Sequence[str], counts: dict[Hashable, int], answered: int
                 ) -> list[tuple[int, list[Hashable]]]:
    top = list(levels[-2:])
    return [(answered, list(levels)), (counts["top2"], list(top)), (answered, [*levels[:-2], "top2"])]


def likert_hidden(item: LevelCounts, levels: Sequence[str], rule: Suppression
                  ) -> tuple[dict[Hashable, int], set[Hashable]]:
    """Return a likert statement's counts per level (plus "top2") and the cells its table hides.

    The Likert sheet and its chart ask this too, so a count (or its percentage) hidden in the table is hidden
    on the chart as well, and the other way round.
    """
    counts: dict[Hashable, int] = {code: item.counts.get(code, 0) for code in levels}
    counts["top2"] = item.top(levels)
    return counts, hidden_cells(counts, _level_lines(levels, counts, item.answered), rule)


def likert_item_table(s: LikertSummary, item_id: str, item_text: str, rule: Suppression) -> Table:
    """Return one likert statement's table: n (%) per level of those who answered, top-two-box, median."""
    q = s.question
    levels = s.levels()
    item: LevelCounts = s.items[item_id]
    counts, hidden = likert_hidden(item, levels, rule)
    shown = s.shown
    note = (f"Shown to {shown}; answered {item.answered} (no answer {shown - item.answered}). "
            f"Percentages of the {item.answered} who answered.")
    title = _title(q, item_text)
    table = Table(f"{q.id}.{item_id}" if item_id else q.id, title, note, ["Level", "n", "%", "n (%)"])
    table.rows = _counted_rows([(code, f"{code} {q.label_of(code)}") for code in levels], counts,
                               item.answered, hidden, rule)
    top_label = "Top two boxes (" + " or ".join(q.label_of(c) for c in levels[-2:]) + ")"
    table.rows.append([top_label, *count_cells(counts["top2"], item.answered, "top2" in hidden, rule)])
    median = item.median(levels)
    table.rows.append(["Median level", median, None, "" if median is None else f"{median:g}"])
    return table


def likert_tables(s: LikertSummary, rule: Suppression) -> list[Table]:
    """Return the tables of a likert question: one, or one per statement of a matrix."""
    if not s.question.items:
        return [likert_item_table(s, "", "", rule)]
    return [likert_item_table(s, item.id, item.text, rule) for item in s.question.items]


NUMBER_ROWS = (("mean", "Mean"), ("sd", "SD"), ("median", "Median"), ("q1", "Lower quartile (Q1)"),
               ("q3", "Upper quartile (Q3)"), ("iqr", "IQR (Q3 - Q1)"), ("min", "Minimum"), ("max", "Maximum"))


def number_table(s: NumberSummary, respondents: int, rule: Suppression) -> Table:
    """Return a number question's table: n, mean, SD, median, quartiles, IQR, range."""
    q = s.question
    table = Table(q.id, _title(q), _base(s, respondents, rule), ["Statistic", "Value"])
    stats = s.describe()
    if rule.hides(s.answered):
        table.rows = [["Answered", rule.mark]]
        table.note += f" Fewer than {rule.k} answers: statistics not shown."
        return table
    table.rows = [["Answered", s.answered]]
    if stats is not None:
        for key, label in NUMBER_ROWS:
            value = stats[key]
            table.rows.append([label, None if value != value else round(value, 2)])  # NaN: SD of one value
    return table


def date_table(s: DateSummary, respondents: int, rule: Suppression) -> Table:
    """Return a date question's table: answers by year, then by month (n and % of those who answered)."""
    q = s.question
    years = sorted(s.years)
    months = sorted(s.months)
    counts: dict[Hashable, int] = {("y", y): s.years[y] for y in years}
    counts.update({("m", m): s.months[m] for m in months})
    lines = [(s.answered, [("y", y) for y in years]), (s.answered, [("m", m) for m in months])]
    hidden = hidden_cells(counts, lines, rule)
    table = Table(q.id, _title(q), _base(s, respondents, rule) + f" Percentages of the {s.answered} who answered.",
                  ["Year / month", "n", "%", "n (%)"])
    labels = [(("y", y), y) for y in years] + [(("m", m), m) for m in months]
    table.rows = _counted_rows(labels, counts, s.answered, hidden, rule)
    return table


def text_table(s: Summary, respondents: int, rule: Suppression) -> Table:
    """Return an open-ended question's table: how many answered (texts are on the raw data sheet in full)."""
    q = s.question
    counts: dict[Hashable, int] = {"answered": s.answered, NO_ANSWER: s.unanswered}
    hidden = hidden_cells(counts, [(s.shown, list(counts))], rule)
    table = Table(q.id, _title(q), _base(s, respondents, rule) + " The answers themselves are on the 'Raw data' sheet "
                  "of the team's export (never in a shared report).",
                  ["", "n", "%", "n (%)"])
    table.rows = _counted_rows([("answered", "Answered"), (NO_ANSWER, NO_ANSWER)], counts, s.shown, hidden, rule)
    return table


def ranking_table(s: RankingSummary, respondents: int, rule: Suppression) -> Table:
    """Return a ranking question's table: per option, ranked n (%), mean rank, ranked first n (%)."""
    q = s.question
    codes = s.codes()
    counts: dict[Hashable, int] = {("ranked", c): s.ranked.get(c, 0) for c in codes}
    counts.update({("first", c): s.first.get(c, 0) for c in codes})
    # Options overlap (each respondent ranks several), so no line adds up to a total: primary suppression only.
    hidden = hidden_cells(counts, [], rule)
    table = Table(q.id, _title(q), _base(s, respondents, rule) + f" Percentages of the {s.answered} who ranked at "
                  "least one option; mean rank (1 = first) among those who ranked the option.",
                  ["Option", "Ranked n", "% ranked", "Ranked n (%)", "Mean rank", "Ranked first n (%)"])
    for code in codes:
        ranked_hidden = ("ranked", code) in hidden
        mean = s.mean_rank(code)
        first = counts[("first", code)]
        table.rows.append([
            q.label_of(code), *count_cells(counts[("ranked", code)], s.answered, ranked_hidden, rule),
            None if ranked_hidden or mean is None else round(mean, 2),
            rule.mark_for(first) if ("first", code) in hidden else n_pct(first, s.answered),
        ])
    return table


TABLES: dict[type[Summary], Callable[[Any, int, Suppression], list[Table]]] = {
    ChoiceSummary: lambda s, respondents, rule: [choice_table(s, respondents, rule)],
    MultiSummary: lambda s, respondents, rule: [multi_table(s, respondents, rule)],
    LikertSummary: lambda s, respondents, rule: likert_tables(s, rule),
    NumberSummary: lambda s, respondents, rule: [number_table(s, respondents, rule)],
    DateSummary: lambda s, respondents, rule: [date_table(s, respondents, rule)],
    TextSummary: lambda s, respondents, rule: [text_table(s, respondents, rule)],
    RankingSummary: lambda s, respondents, rule: [ranking_table(s, respondents, rule)],
}


def question_tables(s: Summary, respondents: int, rule: Suppression,
                    joint: set[Hashable] | None = None) -> list[Table]:
    """Return the tables of one question's summary; raise UnsupportedType for a summary with no tables."""
    if joint is not None and isinstance(s, ChoiceSummary):
        return [choice_table(s, respondents, rule, joint)]
    build = TABLES.get(type(s))
    if build is None:
        raise UnsupportedType(f"question '{s.question.id}': no tables for a {type(s).__name__}")
    return build(s, respondents, rule)


# Cross-tabulations ---------------------------------------------------------------------------------------


def _group_label(by: Question, code: str) -> str:
    return "No answer / not shown" if code == NO_GROUP else by.label_of(code)


def _grid(rows: list[tuple[Hashable, str]], groups: list[str], count: Any, denominators: dict[str, int],
          totals: dict[Hashable, int], total_denominator: int, rule: Suppression, add_lines: bool
          ) -> list[list[Any]]:
    """Return rows of "n (%)" cells, one column per group plus Total, suppressed along columns and rows."""
    counts: dict[Hashable, int] = {(r, g): count(r, g) for r, _ in rows for g in groups}
    lines: list[tuple[int, list[Hashable]]] = [(totals[r], [(r, g) for g in groups]) for r, _ in rows]
    if add_lines:
        lines += [(denominators[g], [(r, g) for r, _ in rows]) for g in groups]
    else:
        # Overlapping rows (multiple choice): a small group still hides its whole column.
        lines += [(denominators[g], [(r, g) for r, _ in rows]) for g in groups if rule.hides(denominators[g])]
    hidden = hidden_cells(counts, lines, rule)
    total_hidden = hidden_cells(totals, [(total_denominator, [r for r, _ in rows])] if add_lines else [], rule)
    out = []
    for r, label in rows:
        cells: list[Any] = [label]
        for g in groups:
            n = counts[(r, g)]
            cells.append(rule.mark_for(n) if (r, g) in hidden else n_pct(n, denominators[g]))
        cells.append(rule.mark_for(totals[r]) if r in total_hidden else n_pct(totals[r], total_denominator))
        out.append(cells)
    return out


def _joint_grid(q: Question, by: Question, rows: list[tuple[Hashable, str]], groups: list[str], count: Any,
                denominators: dict[str, int], totals: dict[Hashable, int], total_denominator: int,
                rule: Suppression, joint: set[Hashable]) -> list[list[Any]]:
    out = []
    for r, label in rows:
        cells: list[Any] = [label]
        for g in groups:
            n = count(r, g)
            cells.append(rule.mark_for(n) if ("x", q.id, by.id, r, g) in joint else n_pct(n, denominators[g]))
        hidden_total = ("q", q.id, r) in joint
        cells.append(rule.mark_for(totals[r]) if hidden_total else n_pct(totals[r], total_denominator))
        out.append(cells)
    return out


def crosstab_tables(crosstab: CrossTab, total: Descriptives, rule: Suppression,
                    joint: set[Hashable] | None = None) -> list[Table]:
    """Return one table per question (except the grouping one), its answers compared across the groups.

    With *joint* (exports.joint), single-choice tables hide exactly the cells, totals and column sizes hidden
    across the whole export.
    """
    by = crosstab.by
    groups = crosstab.group_codes()
    tables: list[Table] = []
    for q in crosstab.instrument.questions:
        if q.id == by.id:
            continue  # only choice, likert and number questions are compared across groups (below)
        overall = total[q.id]
        parts = {g: crosstab.groups[g][q.id] for g in groups}

        def header(denominators: dict[str, int], overall_n: int) -> list[str]:
            names = [_group_label(by, g) for g in groups]
            cells = [f"{name} (n={rule.mark if rule.hides(denominators[g]) else denominators[g]})"
                     for name, g in zip(names, groups, strict=True)]
            return ["Answer", *cells, f"Total (n={overall_n})"]

        if isinstance(overall, ChoiceSummary | MultiSummary):
            codes = overall.codes()
            rows: list[tuple[Hashable, str]] = [(c, q.label_of(c)) for c in codes]
            choice_parts: dict[str, Any] = parts
            denominators = {g: choice_parts[g].shown for g in groups}
            totals: dict[Hashable, int] = {c: overall.counts.get(str(c), 0) for c in codes}
            is_choice = isinstance(overall, ChoiceSummary)
            rows.append((NO_ANSWER, NO_ANSWER if is_choice else "No option chosen"))
            totals[NO_ANSWER] = overall.unanswered

            def count(r: Hashable, g: str, parts: dict[str, Any] = choice_parts) -> int:
                p = parts[g]
                return p.unanswered if r == NO_ANSWER else p.counts.get(str(r), 0)

            table = Table(q.id, _title(q), f"By {by.id}: n (% of those shown the question in each group).",
                          header(denominators, overall.shown))
            if joint is not None and is_choice:
                sizes = [rule.mark_for(denominators[g]) if column_key(q, by, g) in joint else denominators[g]
                         for g in groups]
                table.header = ["Answer", *[f"{_group_label(by, g)} (n={size})" for g, size in
                                            zip(groups, sizes, strict=True)], f"Total (n={overall.shown})"]
                table.rows = _joint_grid(q, by, rows, groups, count, denominators, totals, overall.shown, rule,
                                         joint)
            else:
                table.rows = _grid(rows, groups, count, denominators, totals, overall.shown, rule, is_choice)
            tables.append(table)
        elif isinstance(overall, LikertSummary):
            levels = overall.levels()
            for item_id in overall.items:
                item_text = next((i.text for i in q.items if i.id == item_id), "")
                item_parts = {g: parts[g].items[item_id] for g in groups}  # type: ignore[attr-defined]
                denominators = {g: item_parts[g].answered for g in groups}
                totals = {c: overall.items[item_id].counts.get(c, 0) for c in levels}
                rows = [(c, f"{c} {q.label_of(c)}") for c in levels]

                def level_count(r: Hashable, g: str, parts: dict[str, LevelCounts] = item_parts) -> int:
                    return parts[g].counts.get(str(r), 0)

                table = Table(f"{q.id}.{item_id}" if item_id else q.id, _title(q, item_text),
                              f"By {by.id}: n (% of those who answered, in each group).",
                              header(denominators, overall.items[item_id].answered))
                table.rows = _grid(rows, groups, level_count, denominators, totals,
                                   overall.items[item_id].answered, rule, True)
                medians = [item_parts[g].median(levels) for g in groups]
                table.rows.append(["Median level", *medians, overall.items[item_id].median(levels)])
                tables.append(table)
        elif isinstance(overall, NumberSummary):
            table = Table(q.id, _title(q), f"By {by.id}: statistics of those who answered, in each group.",
                          header({g: parts[g].answered for g in groups}, overall.answered))
            described = {g: parts[g].describe() for g in groups}  # type: ignore[attr-defined]
            table.rows.append(["Answered", *[rule.mark if rule.hides(parts[g].answered) else parts[g].answered
                                            for g in groups], overall.answered])
            whole = overall.describe()
            for key, label in NUMBER_ROWS:
                cells: list[Any] = [label]
                for g in groups:
                    stats = described[g]
                    small = rule.hides(parts[g].answered)
                    cells.append(None if small or stats is None or stats[key] != stats[key]
                                 else round(stats[key], 2))
                cells.append(None if whole is None or whole[key] != whole[key] else round(whole[key], 2))
                table.rows.append(cells)
            tables.append(table)
    return tables
