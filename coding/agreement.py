"""Inter-coder agreement for two or more coders, vectorised with NumPy.

Input is :data:`Codings`: unit id -> coder name -> the set of codes that coder applied to the unit. A coder
missing from a unit did not code it; an empty set means the coder read it and applied no code.

Krippendorff's alpha follows the coincidence-matrix formulation (Krippendorff 2011, "Computing
Krippendorff's Alpha-Reliability"): only pairable values count, i.e. units coded by at least two coders, and
``alpha = 1 - Do/De`` with

    Do = 1/n        * sum_u sum_{i != j coders of u} delta(v_ui, v_uj) / (m_u - 1)
    De = 1/(n(n-1)) * sum_{c,k} n_c n_k delta(c, k)

where the "values" are the distinct code sets that occur. The expected term is a quadratic form over every
pair of distinct values; with 50 codes there can be tens of thousands of distinct sets, so the V x V distance
matrix is never built. Instead the set similarity ``1 - delta`` depends only on (|A & B|, |A|, |B|), and the
number of value pairs with each intersection size is recovered exactly from "binomial moments" (how many
pairs share each subset of codes) by binomial inversion. That turns De into a few sparse sums.

The bootstrap interval holds De at its full-sample value, as Krippendorff's own algorithm does, so a replicate
is a weighted sum of per-unit observed disagreements; ``method="full"`` recomputes De per replicate as well.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse

Codings = Mapping[str, Mapping[str, frozenset[str]]]

DISTANCES = ("masi", "jaccard", "nominal")
MASI_LABEL = "masi (Passonneau, as nltk)"

# Enumerating every subset of every distinct code set costs sum(2**|set|); beyond this the data is not
# qualitative coding any more (someone applied dozens of codes to one answer) and we refuse rather than hang.
_SUBSET_BUDGET = 20_000_000
# The full bootstrap processes replicates in chunks so the (units x replicates) weight matrix stays small; the
# fixed-De bootstrap bounds its (replicates x unit classes) count matrix the same way.
_BOOTSTRAP_CHUNK = 20
_BOOTSTRAP_CELLS = 2_000_000
CI_METHODS = ("fixed_de", "full")


@dataclass(frozen=True)
class _Table:
    """Codings as arrays: ``present[u, c]`` coder c coded unit u, ``applied[u, c, k]`` and applied code k.

    ``value_index[u, c]`` is the id of that coder's code set among the distinct sets ``value_sets`` (-1 where
    absent), so statistics over whole sets never compare code lists unit by unit.
    """

    units: list[str]
    coders: list[str]
    codes: list[str]
    present: np.ndarray
    applied: np.ndarray
    value_index: np.ndarray
    value_sets: np.ndarray

    @cached_property
    def m(self) -> np.ndarray:
        """Number of coders per unit."""
        return self.present.sum(axis=1)

    @cached_property
    def pairable(self) -> np.ndarray:
        """Mask of units coded by at least two coders."""
        return self.m >= 2

    @cached_property
    def n_applied(self) -> np.ndarray:
        """Number of coders applying each code, units x codes."""
        return self.applied.sum(axis=1, dtype=np.int64)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Number of codes each coder applied, units x coders (0 where absent)."""
        set_sizes = np.append(self.value_sets.sum(axis=1, dtype=np.int64), 0)
        return set_sizes[self.value_index]

    @property
    def value_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Id of each (unit, coder) code set among the distinct sets (-1 where absent), and those sets."""
        return self.value_index, self.value_sets

    @cached_property
    def single_code(self) -> bool:
        """Tell whether every coder gave exactly one code on every unit they coded."""
        return bool(np.all(self.sizes[self.present] == 1))


def _table(codings: Codings) -> _Table:
    """Turn a Codings mapping into arrays."""
    units = list(codings)
    # Python only gathers coder names and code sets (list.extend runs in C) and numbers them through dicts;
    # 50 codes x 100,000 units repeat a few thousand distinct sets, so all per-code work is done once per
    # distinct set and then gathered.
    n_coded: list[int] = []
    coder_names: list[str] = []
    values: list[Any] = []
    for per_unit in codings.values():
        n_coded.append(len(per_unit))
        coder_names.extend(per_unit)
        values.extend(per_unit.values())
    coders = sorted(set(coder_names))
    coder_ix = {c: i for i, c in enumerate(coders)}
    set_ix: dict[Any, int] = {}
    try:
        set_of = [set_ix.setdefault(v, len(set_ix)) for v in values]
    except TypeError:  # plain sets or lists are unhashable: key every value by its frozenset
        set_ix.clear()
        set_of = [set_ix.setdefault(v if isinstance(v, str) else frozenset(v), len(set_ix)) for v in values]
    for key, first_use in set_ix.items():
        if isinstance(key, str):
            # A bare string would be iterated letter by letter and silently give nonsense.
            at = set_of.index(first_use)
            unit = units[int(np.searchsorted(np.cumsum(n_coded), at, side="right"))]
            raise TypeError(f"unit {unit!r}, coder {coder_names[at]!r}: expected a set of codes, got a string")
    # set_ix numbers its keys in insertion order, so key i is row i.
    members = [code for key in set_ix for code in key]
    codes = sorted(set(members))
    code_ix = {c: i for i, c in enumerate(codes)}
    rows = np.zeros((len(set_ix), len(codes)), dtype=bool)
    rows[
        np.repeat(np.arange(len(set_ix)), [len(key) for key in set_ix]),
        np.fromiter(map(code_ix.__getitem__, members), dtype=np.int64, count=len(members)),
    ] = True
    # Keys that differ but hold the same codes (a tuple in another order, say) are one value.
    width = max(len(codes), 1)
    packed = np.ascontiguousarray(np.packbits(np.pad(rows, ((0, 0), (0, width - len(codes)))), axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, canonical = np.unique(keys, return_index=True, return_inverse=True)
    value_sets = rows[first]

    unit_of = np.repeat(np.arange(len(units)), n_coded)
    col = np.fromiter(map(coder_ix.__getitem__, coder_names), dtype=np.int64, count=len(coder_names))
    present = np.zeros((len(units), len(coders)), dtype=bool)
    present[unit_of, col] = True
    value_index = np.full((len(units), len(coders)), -1, dtype=np.int64)
    value_index[unit_of, col] = canonical.ravel()[np.fromiter(set_of, dtype=np.int64, count=len(set_of))]
    # Index -1 (absent) picks the appended all-false row.
    applied = np.concatenate([value_sets, np.zeros((1, len(codes)), dtype=bool)])[value_index]
    return _Table(units, coders, codes, present, applied, value_index, value_sets)


def _similarity_table(distance: str, max_size: int) -> np.ndarray:
    """Return ``1 - delta`` indexed by [intersection size, size of A, size of B]."""
    i, a, b = np.ogrid[0 : max_size + 1, 0 : max_size + 1, 0 : max_size + 1]
    union = a + b - i
    identical = (i == a) & (i == b)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Two empty sets are identical (nltk would divide by zero there).
        jaccard = np.where(union > 0, i / np.where(union > 0, union, 1), 1.0)
    if distance == "nominal":
        return identical.astype(float)
    if distance == "jaccard":
        return jaccard
    if distance == "masi":
        # Passonneau 2006 as in nltk >= 3.9: 2/3 for a subset, 1/3 for an overlap (older nltk used 0.67/0.33).
        weight = np.where(identical, 1.0, np.where(i == np.minimum(a, b), 2 / 3, np.where(i > 0, 1 / 3, 0.0)))
        return jaccard * weight
    raise ValueError(f"unknown distance {distance!r}; expected one of {', '.join(DISTANCES)}")


class _ExpectedMass:
    """Compute ``sum_{c,k} n_c n_k (1 - delta(c, k))`` for many count vectors n over the distinct sets."""

    def __init__(self, sets: np.ndarray, similarity: np.ndarray) -> None:
        sizes = sets.sum(axis=1)
        budget = int(np.sum(2.0 ** sizes.astype(float)))
        if budget > _SUBSET_BUDGET:
            largest = int(sizes.max())
            raise ValueError(f"too many codes per unit to compute set agreement ({largest} on one unit)")
        self.max_size = int(sizes.max()) if len(sizes) else 0
        n_codes = max(sets.shape[1], 1)
        self.size_rows = {a: np.flatnonzero(sizes == a) for a in np.unique(sizes).tolist()}
        # H[t, a, b] folds the binomial inversion and the similarity table together: the mass equals
        # sum_{t,a,b} H[t,a,b] * M[t,a,b], with M the number of (value of size a, value of size b) pairs
        # counted once per shared t-subset of codes.
        s = self.max_size
        self.h = np.zeros((s + 1, s + 1, s + 1))
        for t in range(s + 1):
            for i in range(t + 1):
                self.h[t] += similarity[i] * (-1) ** (t - i) * math.comb(t, i)
        # For each subset size t: per size class a, the value rows and the id of each of their t-subsets,
        # sorted by subset id so np.add.reduceat can sum them.
        self.groups: list[dict[int, sparse.csr_matrix]] = []
        for t in range(s + 1):
            rows_by_a: dict[int, list[np.ndarray]] = {}
            subsets: list[np.ndarray] = []
            owners: list[tuple[int, int]] = []
            for a, rows in self.size_rows.items():
                if a < t:
                    continue
                members = np.nonzero(sets[rows])[1].reshape(len(rows), a)
                for positions in itertools.combinations(range(a), t):
                    subsets.append(members[:, list(positions)])
                    rows_by_a.setdefault(a, []).append(rows)
                    owners.append((a, len(rows)))
            if not subsets:
                self.groups.append({})
                continue
            stacked = np.concatenate(subsets)
            if t == 0:
                subset_id = np.zeros(len(stacked), dtype=np.int64)
            elif float(n_codes) ** t < 2.0**62:
                # A t-subset of sorted code indices read as a base-n_codes number: a 1-d unique is many times
                # faster than np.unique(axis=0), which sorts rows as opaque records.
                number = stacked @ (n_codes ** np.arange(t, dtype=np.int64))
                _, subset_id = np.unique(number, return_inverse=True)
            else:
                _, subset_id = np.unique(stacked, axis=0, return_inverse=True)
            subset_id = subset_id.ravel()
            n_subsets = int(subset_id.max()) + 1
            group: dict[int, sparse.csr_matrix] = {}
            offset = 0
            ids_by_a: dict[int, list[np.ndarray]] = {}
            for a, count in owners:
                ids_by_a.setdefault(a, []).append(subset_id[offset : offset + count])
                offset += count
            for a in rows_by_a:
                rows = np.concatenate(rows_by_a[a])
                ids = np.concatenate(ids_by_a[a])
                group[a] = sparse.csr_matrix(
                    (np.ones(len(rows)), (ids, rows)), shape=(n_subsets, len(sets))
                )
            self.groups.append(group)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        """Return the similarity mass for each column of ``counts`` (distinct sets x replicates)."""
        # Items run down the rows and replicates across the columns so every gather copies whole rows.
        total = np.zeros(counts.shape[1])
        for t, group in enumerate(self.groups):
            z: dict[int, np.ndarray] = {}
            for a, subsets_of in group.items():
                # Row j: how many values of size a contain subset j, per replicate.
                z[a] = subsets_of @ counts
            for a, za in z.items():
                for b, zb in z.items():
                    if b < a or self.h[t, a, b] == 0:
                        continue
                    factor = self.h[t, a, b] * (1 if a == b else 2)
                    total += factor * np.einsum("jr,jr->r", za, zb)
        return total


class _SetAlpha:
    """Per-unit pieces of alpha over code sets, so the point estimate and the bootstrap share them."""

    def __init__(self, table: _Table, distance: str) -> None:
        keep = table.pairable
        present = table.present[keep]
        applied = table.applied[keep]
        sizes = table.sizes[keep]
        ids, sets = table.value_ids
        ids = ids[keep]
        similarity = _similarity_table(distance, int(sets.sum(axis=1).max()) if len(sets) else 0)
        m = present.sum(axis=1)
        disagreement = np.zeros(len(m))
        for p, q in itertools.combinations(range(present.shape[1]), 2):
            both = present[:, p] & present[:, q]
            inter = np.count_nonzero(applied[:, p, :] & applied[:, q, :], axis=1)
            delta = 1.0 - similarity[inter, sizes[:, p], sizes[:, q]]
            disagreement += np.where(both, 2.0 * delta, 0.0)
        self.m = m.astype(float)
        self.d = disagreement / np.maximum(m - 1, 1)
        self.n_values = len(sets)
        self._ids = ids
        self._present = present
        self.mass = _ExpectedMass(sets, similarity) if len(m) else None

    @property
    def n_units(self) -> int:
        """Number of pairable units."""
        return len(self.m)

    @cached_property
    def values_of_units(self) -> sparse.csr_matrix:
        """Pairable (unit, value id) incidences: value counts of reweighted units are one product away."""
        unit_of, coder_of = np.nonzero(self._present)
        return sparse.csr_matrix(
            (np.ones(len(unit_of)), (self._ids[unit_of, coder_of], unit_of)), shape=(self.n_values, self.n_units)
        )

    @cached_property
    def _point(self) -> tuple[float, float, float]:
        """Return n (pairable values), the summed observed term and the expected term on the data as given."""
        counts = np.bincount(self._ids[self._present], minlength=self.n_values).astype(float)
        n = float(self.m.sum())
        assert self.mass is not None
        expected = n * n - float(self.mass(counts[:, None])[0])
        return n, float(self.d.sum()), expected

    def alpha_from_weights(self, weights: np.ndarray) -> np.ndarray:
        """Return alpha for each row of unit weights (replicates x pairable units); NaN where undefined."""
        return self._alpha_columns(np.ascontiguousarray(weights.T, dtype=float))

    def _alpha_columns(self, weights: np.ndarray) -> np.ndarray:
        """Return alpha for each column of unit weights (pairable units x replicates)."""
        n = self.m @ weights
        observed = self.d @ weights
        counts = self.values_of_units @ weights
        assert self.mass is not None
        similar = self.mass(counts)
        expected = n * n - similar
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1.0 - (n - 1.0) * observed / expected
        # Expected disagreement zero (one value only) leaves alpha undefined; allow for rounding in `similar`.
        return np.where((n >= 2) & (expected > 1e-12 * n * n), alpha, np.nan)

    def _expected_disagreement(self) -> float | None:
        """Return De on the data as given, None when it is zero (a single value throughout) or undefined."""
        if self.n_units == 0:
            return None
        n, _, expected = self._point
        if n < 2 or expected <= 1e-12 * n * n:
            return None
        return expected / (n * (n - 1.0))

    def alpha(self) -> float | None:
        """Return alpha on the data as given."""
        expected = self._expected_disagreement()
        if expected is None:
            return None
        n, observed, _ = self._point
        return _finite(1.0 - observed / n / expected)

    def bootstrap(self, reps: int, seed: int, method: str = "fixed_de") -> tuple[float, float] | None:
        """Return the 2.5 and 97.5 percentiles of alpha over units resampled with replacement."""
        if method not in CI_METHODS:
            raise ValueError(f"unknown bootstrap method {method!r}; expected one of {', '.join(CI_METHODS)}")
        if reps <= 0 or self.n_units == 0:
            return None
        if method == "fixed_de":
            alphas = self._replicates_fixed_de(reps, seed)
        else:
            alphas = self._replicates_full(reps, seed)
        alphas = alphas[~np.isnan(alphas)]
        if len(alphas) == 0:
            return None
        lo, hi = np.percentile(alphas, [2.5, 97.5])
        return float(lo), float(hi)

    def _replicates_fixed_de(self, reps: int, seed: int) -> np.ndarray:
        """Return alpha per replicate with De held at its full-sample value, as Krippendorff's algorithm does."""
        expected = self._expected_disagreement()
        if expected is None:
            return np.empty(0)
        # Do only needs each resampled unit's (m_u, d_u). Units sharing both are interchangeable, so drawing
        # units with replacement is, in distribution, drawing how many fall in each such class from a
        # multinomial: a few hundred classes instead of 100,000 draws per replicate.
        order = np.lexsort((self.d, self.m))
        m, d = self.m[order], self.d[order]
        starts = np.flatnonzero(np.r_[True, (m[1:] != m[:-1]) | (d[1:] != d[:-1])])
        classes = np.column_stack([m[starts], d[starts]])
        counts = np.diff(np.r_[starts, len(m)])
        shares = counts / self.n_units
        rng = np.random.default_rng(seed)
        chunk = max(1, _BOOTSTRAP_CELLS // len(classes))
        values: list[np.ndarray] = []
        for start in range(0, reps, chunk):
            draws = rng.multinomial(self.n_units, shares, size=min(chunk, reps - start)).astype(float)
            n = draws @ classes[:, 0]
            observed = draws @ classes[:, 1]
            values.append(1.0 - observed / n / expected)
        return np.concatenate(values)

    def _replicates_full(self, reps: int, seed: int) -> np.ndarray:
        """Return alpha per replicate, observed and expected disagreement both recomputed on the resample."""
        rng = np.random.default_rng(seed)
        n = self.n_units
        values: list[np.ndarray] = []
        for start in range(0, reps, _BOOTSTRAP_CHUNK):
            r = min(_BOOTSTRAP_CHUNK, reps - start)
            # Unit u drawn k times in replicate j gets weight k: bincount over (u, j) cells, units as rows.
            cells = rng.integers(0, n, size=(r, n)) * r + np.arange(r)[:, None]
            weights = np.bincount(cells.ravel(), minlength=n * r).reshape(n, r).astype(float)
            values.append(self._alpha_columns(weights))
        return np.concatenate(values)


def _finite(x: float) -> float | None:
    """Return x as a float, or None when it is NaN or infinite."""
    return float(x) if math.isfinite(x) else None


def krippendorff_alpha_sets(codings: Codings, distance: str = "masi") -> float | None:
    """Compute Krippendorff's alpha over code sets with MASI (Passonneau 2006, as nltk) or another distance.

    MASI distance is ``1 - J * m`` with J the Jaccard index and m = 1 for identical sets, 2/3 when one set
    contains the other, 1/3 when they overlap otherwise and 0 when disjoint; exactly
    ``nltk.metrics.distance.masi_distance`` (nltk >= 3.9; older nltk rounded to 0.67/0.33). Two empty sets
    are identical. ``distance`` may also be "jaccard" or "nominal" (a set is one category). Returns None
    when alpha is undefined (fewer than two pairable values, or a single value throughout).
    """
    return _SetAlpha(_table(codings), distance).alpha()


def krippendorff_alpha_nominal(codings: Codings) -> float | None:
    """Compute Krippendorff's nominal alpha, each coder's code set on a unit being one category.

    For single-code data (each coder gives one code per unit) this is the textbook nominal alpha of the codes.
    """
    return krippendorff_alpha_sets(codings, distance="nominal")


def krippendorff_alpha_ci(
    codings: Codings, *, distance: str = "masi", reps: int = 1000, seed: int = 0, method: str = "fixed_de"
) -> tuple[float, float] | None:
    """Bootstrap a 95% percentile interval for alpha by resampling units with replacement.

    ``method="fixed_de"`` (the default) follows Krippendorff's bootstrap (Krippendorff, "Algorithm for
    bootstrapping a distribution of alpha", 2006, rev. 2011; used by Hayes & Krippendorff 2007's KALPHA
    macro): each replicate recomputes only the observed disagreement Do and divides by the expected
    disagreement De of the data as given. Where we differ: Krippendorff draws pairable value pairs from the
    coincidence matrix (and sets how many by a rule of his own); we resample whole units with replacement,
    which keeps the values of one unit together, and the replicate's Do is its units' disagreement over its
    units' pairable values. ``method="full"`` recomputes De on every replicate too (Efron's plain
    nonparametric bootstrap of the whole statistic); it costs a few times more on large data and gives
    nearly the same interval when there are many units.

    Returns None when alpha is undefined, or ``reps`` is 0. Replicates where alpha is undefined are dropped.
    """
    return _SetAlpha(_table(codings), distance).bootstrap(reps, seed, method)


def _binary_alpha(n1: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Return alpha per code from counts of coders applying it (units x codes) and coders per unit."""
    keep = m >= 2
    n1 = n1[keep].astype(float)
    m = m[keep].astype(float)
    n = m.sum()
    ones = n1.sum(axis=0)
    zeros = n - ones
    # sum_u n0 n1 / (m_u - 1) with n0 = m_u - n1, as two vector-matrix products instead of three
    # units x codes temporaries.
    observed = (m / (m - 1)) @ n1 - (1 / (m - 1)) @ (n1 * n1)
    expected = zeros * ones
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 0, alpha, np.nan)


def krippendorff_alpha_per_code(codings: Codings) -> dict[str, float | None]:
    """Compute binary nominal alpha for each code (applied or not, per coder and unit)."""
    table = _table(codings)
    alphas = _binary_alpha(table.n_applied, table.m)
    return {code: _finite(a) for code, a in zip(table.codes, alphas, strict=True)}


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
    return _finite(_fleiss_from_counts(counts[:, :, None])[0])


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


def _fleiss_binary(ones: np.ndarray, raters: int) -> np.ndarray:
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
    return _percent_agreement(_table(codings))


def _percent_agreement(table: _Table) -> float | None:
    ids, _ = table.value_ids
    keep = table.pairable
    if not keep.any():
        return None
    ids = ids[keep]
    present = table.present[keep]
    high = np.where(present, ids, -1).max(axis=1)
    low = np.where(present, ids, np.iinfo(np.int64).max).min(axis=1)
    return float(np.mean(high == low))


def _pair_key(a: str, b: str) -> str:
    return f"{a}|{b}"


def agreement_report(
    codings: Codings, *, bootstrap: int = 1000, seed: int = 0, ci_method: str = "fixed_de"
) -> dict[str, Any]:
    """Compute every agreement statistic as a JSON-ready dict (None where a coefficient is undefined).

    ``bootstrap`` replicates (0 for none) and ``ci_method`` are as in :func:`krippendorff_alpha_ci`.
    """
    table = _table(codings)
    coders = table.coders
    pairs = list(itertools.combinations(range(len(coders)), 2))
    set_alpha = _SetAlpha(table, "masi")
    n_pairable = int(table.pairable.sum())
    # Units coded by every coder (none with fewer than two coders: nothing to compare).
    everyone = np.asarray(table.present.all(axis=1), dtype=bool) & (len(coders) >= 2)
    n_everyone = int(everyone.sum())

    overall: dict[str, Any] = {
        "n_units": n_pairable,
        "percent_agreement": _percent_agreement(table),
        "krippendorff_alpha": set_alpha.alpha(),
        "alpha_ci": list(ci) if (ci := set_alpha.bootstrap(bootstrap, seed, ci_method)) else None,
        "alpha_ci_method": ci_method,
        "alpha_distance": MASI_LABEL,
    }
    if table.single_code and len(coders) >= 2:
        codes = single_codes(codings)
        rated_by_all = {u: codes[u] for u, e in zip(table.units, everyone, strict=True) if e}
        overall["fleiss_kappa"] = fleiss_kappa(rated_by_all)
        if n_everyone != n_pairable:
            overall["fleiss_n_units"] = n_everyone
        kappas: dict[str, float | None] = {}
        kappa_units: dict[str, int] = {}
        for p, q in pairs:
            a, b = coders[p], coders[q]
            both = table.present[:, p] & table.present[:, q]
            kappas[_pair_key(a, b)] = cohen_kappa(
                {u: c[a] for u, c in codes.items() if a in c}, {u: c[b] for u, c in codes.items() if b in c}
            )
            kappa_units[_pair_key(a, b)] = int(both.sum())
        overall["cohen_kappa"] = kappas
        if any(n != n_pairable for n in kappa_units.values()):
            overall["cohen_n_units"] = kappa_units

    return {
        "units": len(table.units),
        "coders": list(coders),
        "overall": overall,
        "per_code": _per_code(table, pairs, everyone),
    }


def _per_code(table: _Table, pairs: Sequence[tuple[int, int]], everyone: np.ndarray) -> dict[str, Any]:
    """Compute presence/absence statistics for every code at once."""
    coders = table.coders
    m = table.m
    n1 = table.n_applied
    keep = table.pairable
    n_pairable = int(keep.sum())
    alpha = _binary_alpha(n1, m)
    if n_pairable:
        agree = np.count_nonzero((n1[keep] == 0) | (n1[keep] == m[keep][:, None]), axis=0) / n_pairable
    else:
        agree = np.full(len(table.codes), np.nan)

    n_all = int(everyone.sum())
    if len(coders) >= 2 and n_all:
        fleiss = _fleiss_binary(n1[everyone].astype(float), len(coders))
    else:
        fleiss = np.full(len(table.codes), np.nan)

    # Per pair, everything Cohen needs is a count over the units both coded (how many had the code from A,
    # from B, from both). Counted per distinct code set, or per distinct pair of sets, then spread over codes.
    ids, sets = table.value_ids
    n_values = len(sets)
    as_float = sets.astype(float)
    cohen: dict[str, np.ndarray] = {}
    cohen_units: dict[str, int] = {}
    for p, q in pairs:
        both = table.present[:, p] & table.present[:, q]
        key = _pair_key(coders[p], coders[q])
        n_both = int(both.sum())
        cohen_units[key] = n_both
        if not n_both:
            cohen[key] = np.full(len(table.codes), np.nan)
            continue
        ip, iq = ids[both, p], ids[both, q]
        yes_a = np.bincount(ip, minlength=n_values) @ as_float
        yes_b = np.bincount(iq, minlength=n_values) @ as_float
        set_pairs, times = np.unique(ip * n_values + iq, return_counts=True)
        yes_both = times @ (sets[set_pairs // n_values] & sets[set_pairs % n_values])
        observed = (n_both - yes_a - yes_b + 2 * yes_both) / n_both
        pa = yes_a / n_both
        pb = yes_b / n_both
        # Cohen's chance agreement P(yes)P(yes') + P(no)P(no'). QualCoder's "kappa" instead multiplies the two
        # terms, over the units either coder coded (see tests/test_agreement.py).
        expected = pa * pb + (1 - pa) * (1 - pb)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = (observed - expected) / (1 - expected)
        cohen[key] = np.where(1 - expected > 1e-12, kappa, np.nan)

    out: dict[str, Any] = {}
    for k, code in enumerate(table.codes):
        entry: dict[str, Any] = {
            "n_units": n_pairable,
            "percent_agreement": _finite(agree[k]),
            "krippendorff_alpha": _finite(alpha[k]),
            "fleiss_kappa": _finite(fleiss[k]) if len(coders) >= 2 else None,
            "cohen_kappa": {key: _finite(v[k]) for key, v in cohen.items()},
        }
        if n_all != n_pairable:
            entry["fleiss_n_units"] = n_all
        if any(n != n_pairable for n in cohen_units.values()):
            entry["cohen_n_units"] = dict(cohen_units)
        out[code] = entry
    return out
