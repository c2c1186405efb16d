"""Percentages as journals print them: rounded half up to one decimal, computed exactly.

Binary floats cannot hold most tenths, so ``round(100 * 18 / 32, 1)`` (56.25 stored as 56.2499...) prints
56.2 where a reader expects 56.3. Every percentage the project prints comes from here, so the same
figure reads the same in every workbook, table and page.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def percent(n: float, denominator: float) -> float | None:
    """Return n as a percentage of *denominator* rounded half up to 0.1 (None when the denominator is 0).

    Counts are whole numbers; a change of a mean (follow-up minus baseline over baseline) is not, and is rounded
    by the same rule from its exact binary value.
    """
    if not denominator:
        return None
    exact = Decimal(100 * n) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def n_pct(n: int, denominator: int) -> str:
    """Return "n (x.x%)" as the paper writes it ("n" alone when the denominator is 0)."""
    share = percent(n, denominator)
    return f"{n}" if share is None else f"{n} ({share:.1f}%)"
