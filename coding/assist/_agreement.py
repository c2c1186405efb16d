"""Krippendorff's alpha over code sets (MASI distance) and per code (binary).

TO BE REPLACED by ``coding/agreement.py`` (``krippendorff_alpha_sets``, binary per-code alpha), which
another engineer is writing; this private stand-in exists only so that evaluation works meanwhile. Same
inputs: unit -> coder -> frozenset of codes (a missing coder did not code the unit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

V = TypeVar("V", bound=Hashable)


def masi_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """Return the MASI distance between two code sets (0 when equal, two empty sets included)."""
    if a == b:
        return 0.0
    union = len(a | b)
    inter = len(a & b)
    jaccard = inter / union
    monotonicity = 2 / 3 if (a <= b or b <= a) else (1 / 3 if inter else 0.0)
    return 1.0 - jaccard * monotonicity


def _nominal(a: object, b: object) -> float:
    return 0.0 if a == b else 1.0


def alpha(values_by_unit: Iterable[list[V]], distance: Callable[[V, V], float]) -> float | None:
    """Return Krippendorff's alpha for the values each unit received, or None when it is undefined.

    Units with fewer than two values are not pairable and are ignored; alpha is undefined when fewer than
    two values remain or when all values are alike (no expected disagreement).
    """
    cache: dict[tuple[V, V], float] = {}

    def d(a: V, b: V) -> float:
        key = (a, b)
        if key not in cache:
            cache[key] = distance(a, b)
        return cache[key]

    observed = 0.0
    totals: Counter[V] = Counter()
    n = 0
    for values in values_by_unit:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        pair_sum = sum(ca * cb * d(a, b) for a, ca in counts.items() for b, cb in counts.items() if a != b)
        observed += pair_sum / (m - 1)
        totals.update(counts)
        n += m
    if n < 2:
        return None
    expected = sum(ca * cb * d(a, b) for a, ca in totals.items() for b, cb in totals.items() if a != b)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def krippendorff_alpha_sets(codings: Mapping[str, Mapping[str, frozenset[str]]]) -> float | None:
    """Return alpha over the code sets coders gave each unit, with the MASI distance."""
    return alpha((list(by_coder.values()) for by_coder in codings.values()), masi_distance)


def krippendorff_alpha_code(codings: Mapping[str, Mapping[str, frozenset[str]]], code: str) -> float | None:
    """Return alpha for one code, each coder's value being whether they applied it."""
    return alpha(([code in s for s in by_coder.values()] for by_coder in codings.values()), _nominal)
