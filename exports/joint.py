"""The cells a workbook publishes more than once, and the lines that tie them, hidden together (shared reports).

A single-choice question's table gives each option's count; a cross-tab of it by department repeats those
counts as its Total column, and its column sizes (n=) repeat the department question's own table. Hidden
table by table, a count hidden in one place can be read, or added up, in another ("x" in the table, 7 + 0
in the cross-tab). Here every such cell gets one key, every table its lines, and :func:`exports.suppress.protect`
hides them all at once, so a cell is hidden wherever it appears and no combination of lines gives it back.

Keys: ``("q", question, option)`` a question table's count (option ``NO_ANSWER`` for "No answer");
``("x", question, by, option, group)`` a cross-tab cell; ``("n", question, by, group)`` a cross-tab column's size
(the grouping question's own count when both are shown to everyone).
"""

from __future__ import annotations

from collections.abc import Hashable

from instrument import Question

from .stats import NO_GROUP, ChoiceSummary, Collector
from .suppress import Suppression, protect

NO_ANSWER = "No answer"


def column_key(q: Question, by: Question, group: str) -> Hashable:
    """Return the key of a cross-tab column's size (shared with *by*'s table when both are always shown)."""
    if q.show_if is None and by.show_if is None:
        return ("q", by.id, NO_ANSWER if group == NO_GROUP else group)
    return ("n", q.id, by.id, group)


def _rows(s: ChoiceSummary) -> list[str]:
    return [*s.codes(), NO_ANSWER]


def _count(s: ChoiceSummary, row: str) -> int:
    return s.unanswered if row == NO_ANSWER else s.counts.get(row, 0)


def joint_hidden(collector: Collector, rule: Suppression) -> set[Hashable]:
    """Return every hidden key of the single-choice tables and their cross-tabs, protected together."""
    if not rule.enabled:
        return set()
    counts: dict[Hashable, int] = {}
    lines: list[tuple[int, Hashable | None, list[Hashable]]] = []
    total = collector.total
    for q in collector.instrument.questions:
        s = total[q.id]
        if isinstance(s, ChoiceSummary):
            for r in _rows(s):
                counts["q", q.id, r] = _count(s, r)
            lines.append((s.shown, None, [("q", q.id, r) for r in _rows(s)]))
    for crosstab in collector.crosstabs:
        by = crosstab.by
        groups = crosstab.group_codes()
        for q in collector.instrument.questions:
            s = total[q.id]
            if q.id == by.id or not isinstance(s, ChoiceSummary):
                continue
            rows = _rows(s)
            for g in groups:
                part = crosstab.groups[g][q.id]
                assert isinstance(part, ChoiceSummary)
                col = column_key(q, by, g)
                counts[col] = part.shown
                for r in rows:
                    counts["x", q.id, by.id, r, g] = _count(part, r)
                lines.append((part.shown, col, [("x", q.id, by.id, r, g) for r in rows]))
            for r in rows:
                lines.append((counts["q", q.id, r], ("q", q.id, r), [("x", q.id, by.id, r, g) for g in groups]))
            lines.append((s.shown, None, [column_key(q, by, g) for g in groups]))
    return protect(counts, lines, rule)
