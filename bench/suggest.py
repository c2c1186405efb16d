"""Benchmark coding assistance: index build, similar-answer and suggestion latency, evaluation quality.

Run ``python bench/suggest.py`` (50,000 answers) or ``python bench/suggest.py --quick`` (5,000).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from coding.assist.evaluate import evaluate
from coding.assist.similar import SimilarityIndex
from coding.assist.suggest import CodeSuggester
from coding.assist.synthetic import THEMES, make_answer, make_dataset


def _latencies(call: Callable[[str], object], probes: list[str]) -> tuple[float, float]:
    """Return the median and 95th percentile, in milliseconds, of ``call`` over ``probes``."""
    times = []
    for probe in probes:
        began = time.perf_counter()
        call(probe)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 answers instead of 50,000")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency measure")
    args = parser.parse_args()
    n_units = 5_000 if args.quick else 50_000
    n_eval = 600 if args.quick else 3_000

    rows: list[tuple[str, str]] = []
    began = time.perf_counter()
    data = make_dataset(n_units, seed=11)
    rows.append((f"generate {n_units:,} answers", f"{time.perf_counter() - began:.2f} s"))

    index = SimilarityIndex()
    seconds = _timed(lambda: index.add(data.units, data.truth))
    rows.append(("index: analyse + hash all answers", f"{seconds:.2f} s"))
    seconds = _timed(lambda: index.query("u000000"))
    rows.append(("index: first query (builds TF-IDF matrix)", f"{seconds * 1000:.0f} ms"))

    rng = random.Random(5)
    probes = [make_answer(rng, [rng.choice(THEMES)[3]]) for _ in range(args.queries)]
    ids = rng.sample(sorted(data.units), args.queries)
    med, p95 = _latencies(lambda t: index.query(t, k=10), probes)
    rows.append(("similar: query by new text, k=10", f"median {med:.2f} ms, p95 {p95:.2f} ms"))
    med, p95 = _latencies(lambda u: index.query(u, k=10), ids)
    rows.append(("similar: query by unit id, k=10", f"median {med:.2f} ms, p95 {p95:.2f} ms"))
    extra = make_dataset(100, seed=12)
    index.add({f"new{u}": t for u, t in extra.units.items()})
    seconds = _timed(lambda: index.query(probes[0]))
    rows.append(("similar: add 100 answers, then first query", f"{seconds * 1000:.0f} ms"))

    suggester = CodeSuggester(data.codebook, seed=0)
    seconds = _timed(lambda: suggester.fit(data.units, data.truth))
    rows.append((f"suggest: fit on {n_units:,} coded answers", f"{seconds:.2f} s"))
    med, p95 = _latencies(lambda t: suggester.suggest(t), probes)
    rows.append(("suggest: one answer", f"median {med:.2f} ms, p95 {p95:.2f} ms"))
    future = suggester.refit_async(data.units, data.truth)
    med, p95 = _latencies(lambda t: suggester.suggest(t), probes)
    during = "yes" if not future.done() else "no (refit finished first)"
    future.result()
    rows.append(("suggest: one answer during refit_async", f"median {med:.2f} ms, p95 {p95:.2f} ms"))
    rows.append(("  (refit still running after the queries?)", during))

    width = max(len(name) for name, _ in rows)
    print(f"\nSpeed ({n_units:,} synthetic answers, 6 codes)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")

    quality = make_dataset(n_eval, error_rate=0.15, seed=13)
    began = time.perf_counter()
    report = evaluate(quality.units, quality.codings, folds=5, seed=0, codebook=quality.codebook)
    seconds = time.perf_counter() - began
    print(f"\nQuality ({n_eval:,} answers, 3 coders at error rate 0.15, target = {report['target']}, "
          f"5-fold CV, {seconds:.1f} s)")
    print(f"  {'':<24}{'micro-F1':>10}{'macro-F1':>10}{'alpha':>10}")
    for block in ("human_vs_human", "suggestions_vs_humans", "baseline_vs_humans"):
        figures = report[block]
        cells = "".join(f"{figures[m]:>10.3f}" if figures[m] is not None else f"{'-':>10}"
                        for m in ("micro_f1", "macro_f1", "alpha"))
        print(f"  {block:<24}{cells}")
    print(f"  alpha among all 3 coders: {report['human_vs_human']['alpha_all_coders']:.3f}")
    print(f"\n{report['verdict']}")


if __name__ == "__main__":
    main()
