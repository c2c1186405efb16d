"""Small-cell suppression: counts from 1 to k-1 are shown as "<k", and enough others that none can be worked out.

Primary suppression hides every count with 0 < n < k. A hidden count could still be recovered by
subtraction when its table also shows the total and every other cell of the same line (row or column), so
secondary suppression then hides the smallest other non-zero count of that line, repeating until no line
has exactly one hidden cell. A line whose published total is itself below k is hidden entirely (zeros too:
"none of the 3 anaesthetists said yes" is as telling as "1 did"). Zeros are otherwise shown.

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
    if not rule.enabled:
        return set()
    lines = [(total, list(cells)) for total, cells in lines]
    hidden = {cell for cell, n in counts.items() if rule.hides(n)}
    for total, cells in lines:
        if rule.hides(total):
            hidden.update(cells)
    changed = True
    while changed:
        changed = False
        for _total, cells in lines:
            inside = [c for c in cells if c in hidden]
            if len(inside) != 1:
                continue
            others = [c for c in cells if c not in hidden and counts[c] > 0]
            if others:
                hidden.add(min(others, key=lambda c: counts[c]))
                changed = True
    return hidden
