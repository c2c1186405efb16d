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

This protects the tables of one export; it cannot protect against differencing across exports of
different subsets, which is why opting out is recorded on the summary sheet.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

SECONDARY_MARK = "x"


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
            return ("OFF: small-cell suppression was turned off for this export (--no-suppression); "
                    "counts below the threshold are shown. Do not share these tables outside the study team.")
        return (f"on (k = {self.k}): counts from 1 to {self.k - 1} are shown as '{self.mark}', and others "
                f"as '{SECONDARY_MARK}' where needed so that none can be worked out from totals")


OFF = Suppression(enabled=False)


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
          rule: Suppression) -> set[Hashable]:
    """Hide small counts, then more until no line (total, the total's cell or None, cells) has one unknown."""
    if not rule.enabled:
        return set()
    hidden = {cell for cell, n in counts.items() if rule.hides(n)}
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
