"""Every agreement statistic at once, as the JSON-ready report the CLI, the page and the workbook show."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from coding.agreement.alpha import MASI_LABEL, SetAlpha, binary_alpha
from coding.agreement.kappa import cohen_kappa, fleiss_binary, fleiss_kappa, single_codes, table_percent_agreement
from coding.agreement.table import Codings, CodingTable, coding_table, finite


def _pair_key(a: str, b: str) -> str:
    return f"{a}|{b}"


def agreement_report(
    codings: Codings, *, bootstrap: int = 1000, seed: int = 0, ci_method: str = "fixed_de"
) -> dict[str, Any]:
    """Compute every agreement statistic as a JSON-ready dict (None where a coefficient is undefined).

    ``bootstrap`` replicates (0 for none) and ``ci_method`` are as in :func:`krippendorff_alpha_ci`.
    """
    table = coding_table(codings)
    coders = table.coders
    pairs = list(itertools.combinations(range(len(coders)), 2))
    set_alpha = SetAlpha(table, "masi")
    n_pairable = int(table.pairable.sum())
    # Units coded by every coder (none with fewer than two coders: nothing to compare).
    everyone = np.asarray(table.present.all(axis=1), dtype=bool) & (len(coders) >= 2)
    n_everyone = int(everyone.sum())

    overall: dict[str, Any] = {
        "n_units": n_pairable,
        "percent_agreement": table_percent_agreement(table),
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


def _per_code(table: CodingTable, pairs: Sequence[tuple[int, int]], everyone: np.ndarray) -> dict[str, Any]:
    """Compute presence/absence statistics for every code at once."""
    coders = table.coders
    m = table.m
    n1 = table.n_applied
    keep = table.pairable
    n_pairable = int(keep.sum())
    alpha = binary_alpha(n1, m)
    if n_pairable:
        agree = np.count_nonzero((n1[keep] == 0) | (n1[keep] == m[keep][:, None]), axis=0) / n_pairable
    else:
        agree = np.full(len(table.codes), np.nan)

    n_all = int(everyone.sum())
    if len(coders) >= 2 and n_all:
        fleiss = fleiss_binary(n1[everyone].astype(float), len(coders))
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
            "percent_agreement": finite(agree[k]),
            "krippendorff_alpha": finite(alpha[k]),
            "fleiss_kappa": finite(fleiss[k]) if len(coders) >= 2 else None,
            "cohen_kappa": {key: finite(v[k]) for key, v in cohen.items()},
        }
        if n_all != n_pairable:
            entry["fleiss_n_units"] = n_all
        if any(n != n_pairable for n in cohen_units.values()):
            entry["cohen_n_units"] = dict(cohen_units)
        out[code] = entry
    return out
