"""Benchmark coding.agreement against the krippendorff package and nltk.

Run ``python bench/agreement.py`` (full sizes: 3 coders x 50 codes x 100,000 units, MASI on 10,000 units)
or ``python bench/agreement.py --quick`` for a smaller run. Times are wall-clock seconds, best of --repeat.

Target: every coefficient of `agreement_report` *with* its 1000-replicate bootstrap CI (default method) in no
more time than the krippendorff package takes for binary alpha per code on the same data, in the same run
(ratio <= 1.0x), per-code alphas within 1e-9 of the package's; our MASI alpha at least 100x faster than nltk's
AnnotationTask, within 1e-9. The full-recompute bootstrap (`ci_method="full"`) is timed for comparison.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coding.agreement import (  # noqa: E402
    Codings,
    agreement_report,
    krippendorff_alpha_per_code,
    krippendorff_alpha_sets,
)


def synthetic_codings(
    n_units: int, n_codes: int, coders: tuple[str, ...], *, missing: float, seed: int
) -> Codings:
    """Make realistic codings: skewed code use, 1-3 codes per answer, coders who mostly agree."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_codes + 1)  # Zipf: a few codes carry most answers
    size = rng.choice([1, 2, 3], size=n_units, p=[0.6, 0.3, 0.1])
    # Gumbel top-k draws `size` distinct codes per unit in proportion to popularity, without a Python loop.
    keys = np.log(popularity)[None, :] + rng.gumbel(size=(n_units, n_codes))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    truth = rank < size[:, None]
    names = [f"Domain {k % 5}/Theme {k}" for k in range(n_codes)]
    codings: dict[str, dict[str, frozenset[str]]] = {}
    per_coder = []
    for _ in coders:
        kept = truth & (rng.random(truth.shape) > 0.15)
        added = ~truth & (rng.random(truth.shape) < 0.01)
        applied = kept | added
        empty = ~applied.any(axis=1)
        # Coders here always apply something, so nltk's masi_distance (which divides by zero on two empty
        # sets) can score the same data.
        applied[empty, np.argmax(truth[empty], axis=1)] = True
        per_coder.append(applied)
    absent = rng.random((n_units, len(coders))) < missing
    for u in range(n_units):
        codings[f"u{u}"] = {
            coder: frozenset(names[k] for k in np.flatnonzero(per_coder[c][u]))
            for c, coder in enumerate(coders)
            if not absent[u, c]
        }
    return codings


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Return the best wall time over `repeat` runs and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def theirs_per_code(
    codings: Codings, codes: list[str], coders: tuple[str, ...], repeat: int
) -> tuple[float, list[float]]:
    """Time krippendorff.alpha per code on 0/1 reliability data (arrays built outside the timer)."""
    units = list(codings)
    data = []
    for code in codes:
        rows = np.full((len(coders), len(units)), np.nan)
        for j, u in enumerate(units):
            for i, coder in enumerate(coders):
                if coder in codings[u]:
                    rows[i, j] = float(code in codings[u][coder])
        data.append(rows)

    def run() -> list[float]:
        return [krippendorff.alpha(reliability_data=r, level_of_measurement="nominal") for r in data]

    return timed(run, repeat)


def nltk_masi_alpha(codings: Codings) -> float:
    """Compute MASI alpha with nltk's AnnotationTask, as a reference."""
    # `import nltk.metrics.agreement` can resolve to nltk.translate.metrics (nltk's own name clash).
    agreement = importlib.import_module("nltk.metrics.agreement")
    distance = importlib.import_module("nltk.metrics.distance")
    data = [(coder, unit, codes) for unit, per in codings.items() for coder, codes in per.items()]
    return float(agreement.AnnotationTask(data, distance=distance.masi_distance).alpha())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (10,000 / 2,000 units)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for our timings")
    args = parser.parse_args(argv)

    coders = ("alice", "bob", "carol")
    n_units, n_codes, n_masi, reps = (10_000, 50, 2_000, 1000) if args.quick else (100_000, 50, 10_000, 1000)

    codings = synthetic_codings(n_units, n_codes, coders, missing=0.05, seed=args.seed)
    codes = sorted({c for per in codings.values() for s in per.values() for c in s})
    distinct = len({s for per in codings.values() for s in per.values()})
    print(f"data: {n_units:,} units x {len(coders)} coders x {len(codes)} codes, 5% missing, "
          f"{distinct:,} distinct code sets")

    t_theirs, theirs = theirs_per_code(codings, codes, coders, args.repeat)
    t_ours, ours = timed(lambda: krippendorff_alpha_per_code(codings), args.repeat)
    diff_binary = max(abs(ours[c] - t) for c, t in zip(codes, theirs, strict=True))
    t_report, report = timed(lambda: agreement_report(codings, bootstrap=reps, seed=0), args.repeat)
    per_code = report["per_code"]
    diff_report = max(abs(per_code[c]["krippendorff_alpha"] - t) for c, t in zip(codes, theirs, strict=True))
    t_report0, _ = timed(lambda: agreement_report(codings, bootstrap=0), args.repeat)
    t_full, report_full = timed(lambda: agreement_report(codings, bootstrap=reps, seed=0, ci_method="full"), 1)

    masi_data = synthetic_codings(n_masi, n_codes, coders, missing=0.05, seed=args.seed + 1)
    masi_distinct = len({s for per in masi_data.values() for s in per.values()})
    t_nltk, nltk_alpha = timed(lambda: nltk_masi_alpha(masi_data), 1)
    t_masi, our_alpha = timed(lambda: krippendorff_alpha_sets(masi_data), args.repeat)

    method = report["overall"]["alpha_ci_method"]
    rows = [
        ("per-code binary alpha, 50 codes: krippendorff pkg", t_theirs, "", ""),
        (f"all coefficients + bootstrap {reps} ({method}): ours", t_report, f"{t_report / t_theirs:.3f} x theirs",
         f"per-code alpha max |diff| {diff_report:.2e}"),
        ("all coefficients, no bootstrap: ours", t_report0, f"{t_report0 / t_theirs:.3f} x theirs", ""),
        (f"all coefficients + bootstrap {reps} (full): ours", t_full, f"{t_full / t_theirs:.3f} x theirs", ""),
        ("per-code binary alpha only: ours (from Codings)", t_ours,
         f"{t_ours / t_theirs:.3f} x theirs", f"max |diff| {diff_binary:.2e}"),
        (f"MASI alpha, {n_masi:,} units ({masi_distinct:,} sets): nltk", t_nltk, "", ""),
        (f"MASI alpha, {n_masi:,} units: ours", t_masi, f"{t_nltk / t_masi:,.0f} x faster",
         f"|diff| {abs(our_alpha - nltk_alpha):.2e}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'seconds':>9}  {'ratio':<20} check")
    for name, seconds, ratio, check in rows:
        print(f"{name:<{width}}  {seconds:9.3f}  {ratio:<20} {check}")
    overall = report["overall"]
    ci, ci_full = overall["alpha_ci"], report_full["overall"]["alpha_ci"]
    print(f"overall MASI alpha {overall['krippendorff_alpha']:.4f}, 95% CI [{ci[0]:.4f}, {ci[1]:.4f}] ({method}), "
          f"[{ci_full[0]:.4f}, {ci_full[1]:.4f}] (full); nltk MASI alpha {nltk_alpha:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
