"""Krippendorff's alpha over code sets, per code, and its bootstrap interval.

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
from functools import cached_property

import numpy as np
from scipy import sparse

from coding.agreement.table import Codings, CodingTable, coding_table, finite

DISTANCES = ("masi", "jaccard", "nominal")
MASI_LABEL = "masi (Passonneau, as nltk)"
CI_METHODS = ("fixed_de", "full")

# Enumerating every subset of every distinct code set costs sum(2**|set|); beyond this the data is not
# qualitative coding any more (someone applied dozens of codes to one answer) and we refuse rather than hang.
_SUBSET_BUDGET = 20_000_000
# The full bootstrap processes replicates in chunks so the (units x replicates) weight matrix stays small; the
# fixed-De bootstrap bounds its (replicates x unit classes) count matrix the same way.
_BOOTSTRAP_CHUNK = 20
_BOOTSTRAP_CELLS = 2_000_000


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


class SetAlpha:
    """Per-unit pieces of alpha over code sets, so the point estimate and the bootstrap share them."""

    def __init__(self, table: CodingTable, distance: str) -> None:
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
        return finite(1.0 - observed / n / expected)

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


def krippendorff_alpha_sets(codings: Codings, distance: str = "masi") -> float | None:
    """Compute Krippendorff's alpha over code sets with MASI (Passonneau 2006, as nltk) or another distance.

    MASI distance is ``1 - J * m`` with J the Jaccard index and m = 1 for identical sets, 2/3 when one set
    contains the other, 1/3 when they overlap otherwise and 0 when disjoint; exactly
    ``nltk.metrics.distance.masi_distance`` (nltk >= 3.9; older nltk rounded to 0.67/0.33). Two empty sets
    are identical. ``distance`` may also be "jaccard" or "nominal" (a set is one category). Returns None
    when alpha is undefined (fewer than two pairable values, or a single value throughout).
    """
    return SetAlpha(coding_table(codings), distance).alpha()


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
    return SetAlpha(coding_table(codings), distance).bootstrap(reps, seed, method)


def binary_alpha(n1: np.ndarray, m: np.ndarray) -> np.ndarray:
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
    table = coding_table(codings)
    alphas = binary_alpha(table.n_applied, table.m)
    return {code: finite(a) for code, a in zip(table.codes, alphas, strict=True)}
