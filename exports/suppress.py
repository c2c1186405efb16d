"""Small-cell suppression: counts from 1 to k-1 are shown as "<k", and enough others that none can be worked out.

Primary suppression hides every count with 0 < n < k. A hidden count could still be recovered by
subtraction when its table also shows the total and every other cell of the same line (row or column), so
secondary suppression then hides the smallest other non-zero count of that line, repeating until no line
has exactly one hidden cell. A line whose published total is itself below k is hidden entirely (zeros too:
"none of the 3 anaesthetists said yes" is as telling as "1 did"). Zeros are otherwise shown: in a line of k or
more people a zero singles nobody out, and hiding it could not protect anything (the hidden cells of a line
whose shown cells add up to its total are all zero whatever is hidden).

:func:`hidden_cells` protects cells against published totals; :func:`table_hidden` protects a whole table with
row, column and grand totals (the totals themselves may be hidden: the rates pages hide a department's
invited count below k). One rule for every workbook and page.

Two audiences, one rule (:func:`for_audience`): the research team's outputs (the CLI export, the investigators'
downloads, `surveys status`) are exact, since the team holds the raw answers anyway; an output that leaves the
team (``export --shared``, ``?shared=1``) hides small counts, and :func:`protect` hides the complements over
*every* published cell at once (a cross-tab's cells, its margins, the overall table that repeats those margins,
the grouping question's own table, months and their years), so no sum or difference of published cells gives
back a hidden one. It cannot protect against differencing across exports of different subsets.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SECONDARY_MARK = "x"
MARK = re.compile(r"^(<\d+|x)$")  # what a hidden count is published as


def is_mark(value: Any) -> bool:
    """Say whether a published cell is a hidden count's mark ('<k' or 'x')."""
    return isinstance(value, str) and MARK.match(value) is not None


@dataclass(frozen=True)
class Suppression:
    """The rule applied to one export: threshold *k*, or off (the opt-out, stated in the summary)."""

    k: int = 5
    enabled: bool = True

    @property
    def mark(self) -> str:
        """Return what a count hidden for being small is shown as."""
        return f"<{self.k}"

    def mark_for(self, n: int) -> str:
        """Return what hidden count *n* is shown as: '<k' when small, 'x' when hidden only to protect another."""
        return self.mark if self.hides(n) else SECONDARY_MARK

    def hides(self, n: int) -> bool:
        """Say whether the count *n* is hidden on its own (primary suppression)."""
        return self.enabled and 0 < n < self.k

    def describe(self) -> str:
        """Return the sentence the summary sheet states."""
        if not self.enabled:
            return ("off: exact counts, for the research team, who hold the raw answers. Do not share these "
                    "tables outside the team; share the report written with --shared (small counts hidden).")
        return (f"on (k = {self.k}): counts from 1 to {self.k - 1} are shown as '{self.mark}', and others "
                f"as '{SECONDARY_MARK}' where needed so that none can be worked out from totals")


OFF = Suppression(enabled=False)


def for_audience(shared: bool, k: int) -> Suppression:
    """Return the rule for an output: exact for the research team, small cells hidden when *shared* outside it.

    The one place that decides, for pages and files alike.
    """
    return Suppression(k=k, enabled=shared)


def protect(counts: Mapping[Hashable, int], lines: Iterable[tuple[int, Hashable | None, Sequence[Hashable]]],
            rule: Suppression) -> set[Hashable]:
    """Return the cells to hide among every published cell at once.

    *lines* are (total, the total's own cell or None when the total is published as a constant, cells that
    add up to it); a total that is itself a cell (a margin repeated in another table) can be hidden and is then
    protected like any cell. Give every table that shares cells in one call, so each hidden cell stays hidden
    wherever it is published.
    """
    listed = [(total, key, list(cells)) for total, key, cells in lines]
    hidden = _hide(counts, listed, rule)
    # Lines taken one at a time can still pin a cell when several are combined (a margin shared by two
    # tables): hide one more cell next to each cell the published ones determine, until none is.
    while True:
        pinned = determined(listed, hidden)
        if not pinned:
            return hidden
        cell = min(pinned, key=repr)
        options = [c for _t, key, cells in listed if cell in cells or cell == key
                   for c in [*cells, *([key] if key is not None else [])]
                   if c not in hidden and counts[c] > 0]
        if not options:
            return hidden  # every neighbour is a published zero: the cell is 0 - total, nothing to hide more
        hidden.add(min(options, key=lambda c: (counts[c], repr(c))))
        hidden = _hide(counts, listed, rule, hidden)


def determined(lines: Iterable[tuple[int, Hashable | None, Sequence[Hashable]]],
               hidden: set[Hashable]) -> set[Hashable]:
    """Return the hidden cells that some sum or difference of the published lines gives back exactly.

    Each line says sum(cells) = total (the total a hidden cell itself when its key is hidden); a hidden
    cell is determined when its unit vector lies in the span of the lines over the hidden cells (exact
    rational elimination to reduced row echelon form: a pivot row holding nothing but its pivot).
    """
    from fractions import Fraction

    index: dict[Hashable, int] = {}
    rows: list[dict[int, Fraction]] = []
    for _total, key, cells in lines:
        row: dict[int, Fraction] = {}
        for cell in cells:
            if cell in hidden:
                i = index.setdefault(cell, len(index))
                row[i] = row.get(i, Fraction(0)) + 1
        if key is not None and key in hidden:
            i = index.setdefault(key, len(index))
            row[i] = row.get(i, Fraction(0)) - 1
        row = {i: v for i, v in row.items() if v}
        if row:
            rows.append(row)
    pivots: list[tuple[int, dict[int, Fraction]]] = []
    for row in rows:
        for col, prow in pivots:
            factor = row.get(col)
            if factor:
                for i, v in prow.items():
                    row[i] = row.get(i, Fraction(0)) - factor * v
                row = {i: v for i, v in row.items() if v}
        if not row:
            continue
        col = min(row)
        lead = row[col]
        row = {i: v / lead for i, v in row.items()}
        for j, (pcol, prow) in enumerate(pivots):
            factor = prow.get(col)
            if factor:
                merged = dict(prow)
                for i, v in row.items():
                    merged[i] = merged.get(i, Fraction(0)) - factor * v
                pivots[j] = (pcol, {i: v for i, v in merged.items() if v})
        pivots.append((col, row))
    names = {i: cell for cell, i in index.items()}
    return {names[col] for col, row in pivots if len(row) == 1}


def hidden_cells(counts: Mapping[Hashable, int], lines: Iterable[tuple[int, Sequence[Hashable]]],
                 rule: Suppression) -> set[Hashable]:
    """Return the cells to hide, given every cell's count and the lines (published total, cells) they sum to."""
    return _hide(counts, [(total, None, list(cells)) for total, cells in lines], rule)


class _Total:
    """The key of a table's margins: (row, TOTAL), (TOTAL, column) and (TOTAL, TOTAL)."""

    def __repr__(self) -> str:
        return "TOTAL"


TOTAL: Hashable = _Total()


def table_hidden(table: Mapping[Hashable, Mapping[Hashable, int]],
                 rule: Suppression) -> set[tuple[Hashable, Hashable]]:
    """Return the cells to hide in a table of counts whose row, column and grand totals are published.

    *table* maps each row to its counts per column (a missing count is 0). The totals are summed here and
    hidden like any count, as ``(row, TOTAL)``, ``(TOTAL, column)`` and ``(TOTAL, TOTAL)``; a hidden total
    counts as unknown in its line, so it is protected too. Zeros are shown, as in every export, unless their
    line's total is below k.
    """
    rows = list(table)
    columns = list(dict.fromkeys(c for counts in table.values() for c in counts))
    counts: dict[Hashable, int] = {(r, c): table[r].get(c, 0) for r in rows for c in columns}
    for r in rows:
        counts[r, TOTAL] = sum(counts[r, c] for c in columns)
    for c in columns:
        counts[TOTAL, c] = sum(counts[r, c] for r in rows)
    counts[TOTAL, TOTAL] = sum(counts[r, TOTAL] for r in rows)
    lines: list[tuple[int, Hashable | None, list[Hashable]]] = []
    for r in rows:
        lines.append((counts[r, TOTAL], (r, TOTAL), [(r, c) for c in columns]))
    for c in columns:
        lines.append((counts[TOTAL, c], (TOTAL, c), [(r, c) for r in rows]))
    lines.append((counts[TOTAL, TOTAL], (TOTAL, TOTAL), [(r, TOTAL) for r in rows]))
    lines.append((counts[TOTAL, TOTAL], (TOTAL, TOTAL), [(TOTAL, c) for c in columns]))
    return {cell for cell in _hide(counts, lines, rule) if isinstance(cell, tuple)}


def _hide(counts: Mapping[Hashable, int], lines: list[tuple[int, Hashable | None, list[Hashable]]],
          rule: Suppression, start: set[Hashable] | None = None) -> set[Hashable]:
    """Hide small counts, then more until no line (total, the total's cell or None, cells) has one unknown."""
    if not rule.enabled:
        return set()
    hidden = {cell for cell, n in counts.items() if rule.hides(n)} | (start or set())
    for total, _key, cells in lines:
        if rule.hides(total):
            hidden.update(cells)
    changed = True
    while changed:
        changed = False
        for _total, key, cells in lines:
            unknown = [c for c in cells if c in hidden] + ([key] if key is not None and key in hidden else [])
            if len(unknown) != 1:
                continue
            others = [c for c in cells if c not in hidden and counts[c] > 0]
            if not others and key is not None and key not in hidden and counts[key] > 0:
                others = [key]  # a line of zeros is protected by hiding its total
            if others:
                hidden.add(min(others, key=lambda c: counts[c]))
                changed = True
    return hidden
