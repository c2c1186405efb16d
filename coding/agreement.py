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
pairs share each subset of codes) by binomial inversion. That turns De into a few sparse sums, cheap enough to
redo for every bootstrap replicate.
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
# Bootstrap replicates are processed in chunks so the (replicates x units) weight matrix stays small.
_BOOTSTRAP_CHUNK = 20


@dataclass(frozen=True)
class _Table:
    """Codings as arrays: ``present[u, c]`` coder c coded unit u, ``applied[u, c, k]`` and applied code k."""

    units: list[str]
    coders: list[str]
    codes: list[str]
    present: np.ndarray
    applied: np.ndarray

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
        return self.applied.sum(axis=2, dtype=np.int64)

    @cached_property
    def value_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Id of each (unit, coder) code set among the distinct sets (-1 where absent), and those sets."""
        n_units, n_coders, n_codes = self.applied.shape
        flat = self.applied.reshape(n_units * n_coders, n_codes)[self.present.ravel()]
        if n_codes == 0:
            flat = np.zeros((flat.shape[0], 1), dtype=bool)
        packed = np.ascontiguousarray(np.packbits(flat, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        ids = np.full(n_units * n_coders, -1, dtype=np.int64)
        ids[self.present.ravel()] = inverse.ravel()
        sets = flat[first] if n_codes else np.zeros((len(first), 0), dtype=bool)
        return ids.reshape(n_units, n_coders), sets

    @cached_property
    def single_code(self) -> bool:
        """Tell whether every coder gave exactly one code on every unit they coded."""
        return bool(np.all(self.sizes[self.present] == 1))


def _table(codings: Codings) -> _Table:
    """Turn a Codings mapping into arrays."""
    units = list(codings)
    coders = sorted({coder for per_unit in codings.values() for coder in per_unit})
    codes = sorted({code for per_unit in codings.values() for s in per_unit.values() for code in s})
    coder_ix = {c: i for i, c in enumerate(coders)}
    code_ix = {c: i for i, c in enumerate(codes)}
    pu: list[int] = []
    pc: list[int] = []
    au: list[int] = []
    ac: list[int] = []
    ak: list[int] = []
    for u, per_unit in enumerate(codings.values()):
        for coder, applied in per_unit.items():
            if isinstance(applied, str):
                # A bare string would be iterated letter by letter and silently give nonsense.
                raise TypeError(f"unit {units[u]!r}, coder {coder!r}: expected a set of codes, got a string")
            c = coder_ix[coder]
            pu.append(u)
            pc.append(c)
            for code in applied:
                au.append(u)
                ac.append(c)
                ak.append(code_ix[code])
    present = np.zeros((len(units), len(coders)), dtype=bool)
    present[pu, pc] = True
    applied_arr = np.zeros((len(units), len(coders), len(codes)), dtype=bool)
    applied_arr[au, ac, ak] = True
    return _Table(units, coders, codes, present, applied_arr)


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
        # Pairable (unit, value id) incidences, used to rebuild value counts for resampled units.
        unit_of, coder_of = np.nonzero(present)
        self.values_of_units = sparse.csr_matrix(
            (np.ones(len(unit_of)), (ids[unit_of, coder_of], unit_of)), shape=(len(sets), len(m))
        )
        self.mass = _ExpectedMass(sets, similarity) if len(m) else None

    @property
    def n_units(self) -> int:
        """Number of pairable units."""
        return len(self.m)

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

    def alpha(self) -> float | None:
        """Return alpha on the data as given."""
        if self.n_units == 0:
            return None
        return _finite(self._alpha_columns(np.ones((self.n_units, 1)))[0])

    def bootstrap(self, reps: int, seed: int) -> tuple[float, float] | None:
        """Return the 2.5 and 97.5 percentiles of alpha over units resampled with replacement."""
        if reps <= 0 or self.n_units == 0:
            return None
        rng = np.random.default_rng(seed)
        n = self.n_units
        values: list[np.ndarray] = []
        for start in range(0, reps, _BOOTSTRAP_CHUNK):
            r = min(_BOOTSTRAP_CHUNK, reps - start)
            # Unit u drawn k times in replicate j gets weight k: bincount over (u, j) cells, units as rows.
            cells = rng.integers(0, n, size=(r, n)) * r + np.arange(r)[:, None]
            weights = np.bincount(cells.ravel(), minlength=n * r).reshape(n, r).astype(float)
            values.append(self._alpha_columns(weights))
        alphas = np.concatenate(values)
        alphas = alphas[~np.isnan(alphas)]
        if len(alphas) == 0:
            return None
        lo, hi = np.percentile(alphas, [2.5, 97.5])
        return float(lo), float(hi)


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
    codings: Codings, *, distance: str = "masi", reps: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Bootstrap a 95% percentile interval for alpha by resampling units with replacement."""
    return _SetAlpha(_table(codings), distance).bootstrap(reps, seed)


def _binary_alpha(n1: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Return alpha per code from counts of coders applying it (units x codes) and coders per unit."""
    keep = m >= 2
    n1 = n1[keep].astype(float)
    m = m[keep].astype(float)
    n0 = m[:, None] - n1
    n = m.sum()
    ones = n1.sum(axis=0)
    zeros = n - ones
    observed = (n0 * n1 / (m - 1)[:, None]).sum(axis=0)
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


def agreement_report(codings: Codings, *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Compute every agreement statistic as a JSON-ready dict (None where a coefficient is undefined)."""
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
        "alpha_ci": list(ci) if (ci := set_alpha.bootstrap(bootstrap, seed)) else None,
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
        agree = ((n1[keep] == 0) | (n1[keep] == m[keep][:, None])).mean(axis=0)
    else:
        agree = np.full(len(table.codes), np.nan)

    n_all = int(everyone.sum())
    if len(coders) >= 2 and n_all:
        ones = n1[everyone].astype(float)
        counts = np.stack([len(coders) - ones, ones], axis=1)
        fleiss = _fleiss_from_counts(counts)
    else:
        fleiss = np.full(len(table.codes), np.nan)

    cohen: dict[str, np.ndarray] = {}
    cohen_units: dict[str, int] = {}
    for p, q in pairs:
        both = table.present[:, p] & table.present[:, q]
        key = _pair_key(coders[p], coders[q])
        cohen_units[key] = int(both.sum())
        x = table.applied[both, p, :]
        y = table.applied[both, q, :]
        if not both.any():
            cohen[key] = np.full(len(table.codes), np.nan)
            continue
        observed = (x == y).mean(axis=0)
        pa = x.mean(axis=0)
        pb = y.mean(axis=0)
        # Chance agreement is P(yes)P(yes') + P(no)P(no'), not P(yes)P(no): QualCoder once got this wrong.
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
