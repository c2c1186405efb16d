"""Cohen's and Fleiss' kappa, and percent agreement."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from coding.agreement.table import Codings, CodingTable, coding_table, finite


def cohen_kappa(a: Mapping[str, str], b: Mapping[str, str]) -> float | None:
    """Compute Cohen's kappa between two coders (unit -> category) on the units both coded."""
    common = [u for u in a if u in b]
    if not common:
        return None
    categories = {c: i for i, c in enumerate(sorted({a[u] for u in common} | {b[u] for u in common}))}
    k = len(categories)
    xa = np.array([categories[a[u]] for u in common])
    xb = np.array([categories[b[u]] for u in common])
    confusion = np.bincount(xa * k + xb, minlength=k * k).reshape(k, k) / len(common)
    return _kappa_from_confusion(confusion)


def _kappa_from_confusion(confusion: np.ndarray) -> float | None:
    """Return Cohen's kappa from a table of proportions (rows coder A, columns coder B)."""
    observed = float(np.trace(confusion))
    # Chance agreement sums, per category, the product of both coders' marginal shares (Cohen 1960).
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0))
    if 1.0 - expected <= 1e-12:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(ratings: Mapping[str, Mapping[str, str]]) -> float | None:
    """Compute Fleiss' kappa (unit -> coder -> category) on the units rated by every coder."""
    coders = {c for per_unit in ratings.values() for c in per_unit}
    rows = [per_unit for per_unit in ratings.values() if coders <= per_unit.keys()]
    if not rows or len(coders) < 2:
        return None
    categories = {c: i for i, c in enumerate(sorted({v for r in rows for v in r.values()}))}
    counts = np.zeros((len(rows), len(categories)))
    for i, r in enumerate(rows):
        for coder in coders:
            counts[i, categories[r[coder]]] += 1
    return finite(_fleiss_from_counts(counts[:, :, None])[0])


def _fleiss_from_counts(counts: np.ndarray) -> np.ndarray:
    """Return Fleiss' kappa per slice of counts (subjects x categories x slices), NaN where undefined."""
    raters = counts.sum(axis=1)[0]
    subjects = counts.shape[0]
    per_subject = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    observed = per_subject.mean(axis=0)
    shares = counts.sum(axis=0) / (subjects * raters)
    expected = (shares**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1.0 - expected)
    return np.where(1.0 - expected > 1e-12, kappa, np.nan)


def fleiss_binary(ones: np.ndarray, raters: int) -> np.ndarray:
    """Return Fleiss' kappa per code from how many of ``raters`` applied it (subjects x codes)."""
    # _fleiss_from_counts on (raters - ones, ones), with its sums of squares expanded so nothing of the size
    # of the data is built: sum_u (r - o)^2 + o^2 = N r^2 - 2 r S1 + 2 S2.
    subjects = ones.shape[0]
    s1 = ones.sum(axis=0)
    s2 = np.einsum("uk,uk->k", ones, ones)
    observed = (subjects * raters**2 - 2 * raters * s1 + 2 * s2 - subjects * raters) / (
        subjects * raters * (raters - 1)
    )
    share = s1 / (subjects * raters)
    expected = share**2 + (1 - share) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1.0 - expected)
    return np.where(1.0 - expected > 1e-12, kappa, np.nan)


def single_codes(codings: Codings) -> dict[str, dict[str, str]]:
    """Return unit -> coder -> its one code; raise ValueError if a coder gave zero or several codes."""
    out: dict[str, dict[str, str]] = {}
    for unit, per_unit in codings.items():
        out[unit] = {}
        for coder, codes in per_unit.items():
            if len(codes) != 1:
                raise ValueError(f"unit {unit!r}, coder {coder!r}: {len(codes)} codes, expected exactly one")
            (out[unit][coder],) = codes
    return out


def percent_agreement(codings: Codings) -> float | None:
    """Return the share of units, among those coded by two or more coders, where all their code sets match."""
    return table_percent_agreement(coding_table(codings))


def table_percent_agreement(table: CodingTable) -> float | None:
    """Return percent agreement (identical code sets) over a coding table's pairable units; None if none."""
    ids, _ = table.value_ids
    keep = table.pairable
    if not keep.any():
        return None
    ids = ids[keep]
    present = table.present[keep]
    high = np.where(present, ids, -1).max(axis=1)
    low = np.where(present, ids, np.iinfo(np.int64).max).min(axis=1)
    return float(np.mean(high == low))
