"""Benchmark coding assistance: index build, similar-answer and suggestion latency, evaluation quality.

Run ``python bench/suggest.py`` (50,000 answers) or ``python bench/suggest.py --quick`` (5,000).
``python bench/suggest.py --quality [--data NAME ...] [--backend tfidf|embeddings ...] [--folds K]`` instead
evaluates suggestions leave-one-coder-out (``coding.assist.evaluate``) on the multi-coder data sets of
``bench/suggest_data.py`` (two public ones, skipped with a message when absent from bench/data/, and a
generated one), with each text backend, and prints per data set: humans vs the held-out coder, suggestions
vs the held-out coder and the baseline (micro-F1, macro-F1, alpha), and what routing at precision 0.9 shows.

Each speed figure is printed next to a floor measured in the same run on the same texts and probes, the
plain scikit-learn code anyone would write for the same result, and as a ratio ("x floor"):

* index build (analyse + hash, then the first query's TF-IDF matrix) vs
  ``TfidfVectorizer(analyzer=analyze, sublinear_tf=True).fit_transform`` of the same answers;
* similar-answer queries vs a brute-force sparse product of the query's TF-IDF vector with the whole matrix,
  then ``argpartition`` for the top k (sorted);
* fitting suggestions vs ``OneVsRestClassifier(LogisticRegression)`` on that TF-IDF matrix (its fit only;
  ours is calibrated (sigmoid, 3-fold), so the plain-regression fit is printed too, to show the cost);
* one suggestion vs vectorising the answer with that TfidfVectorizer and ``predict_proba`` of the
  one-vs-rest model (the same work: text in, a probability per code out). The cost of ``predict_proba``
  alone on a pre-vectorised row is printed below the table.

The quality section also prints the Brier score and expected calibration error of the out-of-fold model
probabilities, calibrated (the default) and plain.

The stem cache (``coding.assist.text.stem``) is cleared before each build and fit, ours and the floor's, so
neither profits from the other's warm cache.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from coding.assist.evaluate import evaluate
from coding.assist.similar import SimilarityIndex
from coding.assist.suggest import CodeSuggester
from coding.assist.synthetic import THEMES, make_answer, make_dataset
from coding.assist.text import analyze, stem

Latency = tuple[float, float]  # median, 95th percentile (ms)


def _latencies(call: Callable[[str], object], probes: list[str]) -> Latency:
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


def _cold(action: Callable[[], object]) -> float:
    """Time *action* with an empty stem cache."""
    stem.cache_clear()
    return _timed(action)


def _lat(figures: Latency) -> str:
    return f"median {figures[0]:.2f} ms, p95 {figures[1]:.2f} ms"


def _ratio(ours: float, floor: float) -> str:
    return f"{ours / floor:.2f}x" if floor > 0 else "-"


def _top_k(matrix: Any, vector: Any, k: int, exclude: int | None = None) -> np.ndarray:
    """Brute force: score every row against *vector*, keep the k best (sorted), optionally not row *exclude*."""
    scores = np.asarray((matrix @ vector.T).todense()).ravel()
    if exclude is not None:
        scores[exclude] = -np.inf
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def _f(value: float | None, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def quality_report(names: list[str], backends: list[str], folds: int, precision: float) -> None:
    """Evaluate leave-one-coder-out on each data set and backend, and print the figures."""
    from suggest_data import LOADERS, Missing

    from coding.assist.embeddings import available, missing

    for name in names:
        try:
            data = LOADERS[name]()
        except Missing as exc:
            print(f"\n{name}: skipped: {exc}")
            continue
        coders = sorted({c for by in data.codings.values() for c in by})
        print(f"\n{data.name}: {len(data.units):,} units, {len(coders)} coders, {len(data.codebook)} codes in the "
              f"codebook; {folds}-fold, leave one coder out; source: {data.source}")
        for backend in backends:
            if backend == "embeddings" and not available():
                print(f"  embeddings: skipped: {missing()}")
                continue
            began = time.perf_counter()
            report = evaluate(data.units, data.codings, folds=folds, seed=0, codebook=data.codebook,
                              backend=backend, precision=precision)
            seconds = time.perf_counter() - began
            routing = report["routing"]
            print(f"  backend {report['backend']}: {report['suggestions_vs_humans']['pairs']:,} (coder, unit) pairs, "
                  f"{seconds:.1f} s (one BLAS thread)")
            print(f"    {'vs held-out coder':<22}{'micro-F1':>10}{'macro-F1':>10}{'alpha':>10}")
            for block, label in (("human_vs_human", "other coders"), ("suggestions_vs_humans", "suggestions"),
                                 ("baseline_vs_humans", "baseline")):
                figures = report[block]
                print(f"    {label:<22}" + "".join(f"{_f(figures[m]):>10}" for m in ("micro_f1", "macro_f1", "alpha")))
            print(f"    routed at precision {precision}: shown on {_f(routing['coverage'])} of pairs "
                  f"({routing['covered']:,}), {routing['shown']:,} suggestions, precision {_f(routing['precision'])}")
            for row in report["curve"]:
                print(f"      score >= {row['threshold']:.2f}: coverage {_f(row['coverage'])}, "
                      f"precision {_f(row['precision'])}, alpha on covered {_f(row['alpha'])}")


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="5,000 answers instead of 50,000")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency measure")
    parser.add_argument("--quality", action="store_true", help="leave-one-coder-out on multi-coder data sets")
    parser.add_argument("--data", action="append", choices=["convabuse", "hs-brexit", "generated"],
                        help="data set for --quality (repeatable; default all)")
    parser.add_argument("--backend", action="append", choices=["tfidf", "embeddings"],
                        help="text backend for --quality (repeatable; default both)")
    parser.add_argument("--folds", type=int, default=5, help="folds for --quality")
    parser.add_argument("--precision", type=float, default=0.9, help="routing precision for --quality")
    args = parser.parse_args()
    if args.quality:
        quality_report(args.data or ["convabuse", "hs-brexit", "generated"], args.backend or ["tfidf", "embeddings"],
                args.folds, args.precision)
        return
    n_units = 5_000 if args.quick else 50_000
    n_eval = 600 if args.quick else 3_000

    rows: list[tuple[str, str, str, str]] = []  # measure, ours, floor, ours / floor
    began = time.perf_counter()
    data = make_dataset(n_units, seed=11)
    rows.append((f"generate {n_units:,} answers", f"{time.perf_counter() - began:.2f} s", "", ""))
    texts = list(data.units.values())
    unit_ids = list(data.units)

    index = SimilarityIndex("tfidf")  # the floor is TF-IDF too
    add_seconds = _cold(lambda: index.add(data.units, data.truth))
    first_seconds = _timed(lambda: index.query("u000000"))
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True)
    matrix: Any = None

    def floor_build() -> None:
        nonlocal matrix
        matrix = vectorizer.fit_transform(texts).tocsr()

    floor_seconds = _cold(floor_build)
    build = add_seconds + first_seconds
    rows.append(("index: build (analyse + hash, then TF-IDF)", f"{build:.2f} s", f"{floor_seconds:.2f} s",
                 _ratio(build, floor_seconds)))
    rows.append(("  of which analyse + hash all answers", f"{add_seconds:.2f} s", "", ""))
    rows.append(("  of which first query (builds TF-IDF matrix)", f"{first_seconds * 1000:.0f} ms", "", ""))

    rng = random.Random(5)
    probes = [make_answer(rng, [rng.choice(THEMES)[3]]) for _ in range(args.queries)]
    ids = rng.sample(sorted(data.units), args.queries)
    row_of = {u: i for i, u in enumerate(unit_ids)}
    ours = _latencies(lambda t: index.query(t, k=10), probes)
    floor = _latencies(lambda t: _top_k(matrix, vectorizer.transform([t]), 10), probes)
    rows.append(("similar: query by new text, k=10", _lat(ours), _lat(floor), _ratio(ours[0], floor[0])))
    ours = _latencies(lambda u: index.query(u, k=10), ids)
    floor = _latencies(lambda u: _top_k(matrix, matrix[row_of[u]], 10, exclude=row_of[u]), ids)
    rows.append(("similar: query by unit id, k=10", _lat(ours), _lat(floor), _ratio(ours[0], floor[0])))
    extra = make_dataset(100, seed=12)
    index.add({f"new{u}": t for u, t in extra.units.items()})
    seconds = _timed(lambda: index.query(probes[0]))
    rows.append(("similar: add 100 answers, then first query", f"{seconds * 1000:.0f} ms", "", ""))

    suggester = CodeSuggester(data.codebook, seed=0, backend="tfidf")  # the floors are TF-IDF too
    seconds = _cold(lambda: suggester.fit(data.units, data.truth))
    binarizer = MultiLabelBinarizer()
    targets = binarizer.fit_transform([sorted(data.truth[u]) for u in unit_ids])
    one_vs_rest = OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=1000, random_state=0))
    floor_vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, max_features=50_000)
    fitted: Any = None

    def floor_fit() -> None:
        nonlocal fitted
        fitted = one_vs_rest.fit(floor_vectorizer.fit_transform(texts), targets)

    floor_seconds = _cold(floor_fit)
    rows.append((f"suggest: fit on {n_units:,} coded answers", f"{seconds:.2f} s", f"{floor_seconds:.2f} s",
                 _ratio(seconds, floor_seconds)))
    plain = CodeSuggester(data.codebook, seed=0, calibration=None, backend="tfidf")
    plain_seconds = _cold(lambda: plain.fit(data.units, data.truth))
    rows.append(("  same fit without calibration (plain LR)", f"{plain_seconds:.2f} s", f"{floor_seconds:.2f} s",
                 _ratio(plain_seconds, floor_seconds)))
    floor = _latencies(lambda t: fitted.predict_proba(floor_vectorizer.transform([t])), probes)
    ours = _latencies(lambda t: suggester.suggest(t), probes)
    rows.append(("suggest: one answer", _lat(ours), _lat(floor), _ratio(ours[0], floor[0])))
    future = suggester.refit_async(data.units, data.truth)
    ours = _latencies(lambda t: suggester.suggest(t), probes)
    during = "yes" if not future.done() else "no (refit finished first)"
    future.result()
    rows.append(("suggest: one answer during refit_async", _lat(ours), _lat(floor), _ratio(ours[0], floor[0])))
    rows.append(("  (refit still running after the queries?)", during, "", ""))
    vectors = {t: floor_vectorizer.transform([t]) for t in probes}
    bare = _latencies(lambda t: fitted.predict_proba(vectors[t]), probes)

    headers = ("", "ours", "floor", "x floor")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(4)]
    print(f"\nSpeed ({n_units:,} synthetic answers, 6 codes; floors: plain scikit-learn, same run, same data)")
    for row in [headers, *rows]:
        print(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}")
    print(f"  (predict_proba alone on a pre-vectorised row, {len(binarizer.classes_)} codes: {_lat(bare)})")

    quality = make_dataset(n_eval, error_rate=0.15, seed=13)
    began = time.perf_counter()
    report = evaluate(quality.units, quality.codings, folds=5, seed=0, codebook=quality.codebook,
                      backend="tfidf")
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
    calibration = report["calibration"]
    began = time.perf_counter()
    plain = evaluate(quality.units, quality.codings, folds=5, seed=0, codebook=quality.codebook,
                     calibration=None, backend="tfidf")["calibration"]
    plain_seconds = time.perf_counter() - began
    print(f"  out-of-fold model probabilities, {calibration['pairs']} (unit, code) pairs "
          f"({calibration['bins']} equal-width bins for ECE):")
    print(f"  {'':<24}{'Brier':>10}{'ECE':>10}{'eval s':>10}")
    for name, figures, secs in ((f"{calibration['method']} (default)", calibration, seconds),
                                ("plain LR", plain, plain_seconds)):
        print(f"  {name:<24}{figures['brier']:>10.3f}{figures['ece']:>10.3f}{secs:>10.1f}")
    print(f"\n{report['verdict']}")


if __name__ == "__main__":
    main()
