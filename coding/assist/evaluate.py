"""Cross-validate code suggestions against the human coders, their consensus and a trivial baseline.

Method (K folds over units, shuffled with ``seed``):

- Training target of a unit: the consensus if given; else the chosen ``coder``'s codes; else the codes
  applied by more than half of the coders who coded it (majority).
- For each fold a fresh ``CodeSuggester`` is trained on the other folds' targets; a test unit's predicted
  code set is every code scoring >= 0.5, or, when none does, the single best code (so every answer gets at
  least one prediction, as a reviewer would see at least one suggestion).
- Baseline: the training folds' most frequent codes, as many as the rounded mean number of codes per
  training unit (at least one), predicted for every test unit.

Every comparison is between two "raters" over the units both coded, and every block reports the mean over
its pairs: human_vs_human over pairs of coders; suggestions_vs_humans and baseline_vs_humans over (predictor,
coder) pairs. Micro-F1 pools code decisions; macro-F1 averages per-code F1 over the codes either rater used;
F1 is symmetric, so no rater is the reference. ``alpha`` is Krippendorff's alpha with the MASI distance
between the two raters' sets, averaged over pairs, so the three blocks are comparable;
human_vs_human also gives ``alpha_all_coders``, alpha among all coders at once. ``per_code`` gives, per
code, F1 and binary alpha averaged the same way. Undefined figures (no pairs, no variation) are None.

``calibration`` scores the model's out-of-fold probabilities: for every (test unit, code) whose score came
from a logistic regression (source MODEL, not a codebook similarity) and whose unit has a training target,
the Brier score and the expected calibration error (10 equal-width bins, each bin's |mean probability -
share of positives| weighted by its count) against that target, and the number of pairs scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from coding.agreement import krippendorff_alpha_per_code, krippendorff_alpha_sets
from coding.assist.suggest import DEFAULT_CALIBRATION, MODEL, CodebookEntry, CodeSuggester

Labels = Mapping[str, frozenset[str]]
Codings = Mapping[str, Mapping[str, frozenset[str]]]

PREDICT_THRESHOLD = 0.5
CALIBRATION_BINS = 10


def calibration_figures(probabilities: Sequence[float], outcomes: Sequence[bool],
                        bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Return the Brier score, expected calibration error (equal-width bins) and count of scored pairs."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    if not len(p):
        return {"pairs": 0, "brier": None, "ece": None, "bins": bins}
    # Bin i holds [i/bins, (i+1)/bins); a probability of exactly 1 goes in the last bin.
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            ece += inside.sum() / len(p) * abs(p[inside].mean() - y[inside].mean())
    return {"pairs": len(p), "brier": float(np.mean((p - y) ** 2)), "ece": float(ece), "bins": bins}


def majority(codings: Codings) -> dict[str, frozenset[str]]:
    """Return, per unit, the codes applied by more than half of the coders who coded it."""
    out = {}
    for unit, by_coder in codings.items():
        if by_coder:
            counts = Counter(code for codes in by_coder.values() for code in codes)
            out[unit] = frozenset(c for c, n in counts.items() if n * 2 > len(by_coder))
    return out


def _targets(
    codings: Codings, consensus: Labels | None, coder: str | None
) -> tuple[dict[str, frozenset[str]], str]:
    if consensus is not None:
        return dict(consensus), "consensus"
    if coder is not None:
        found = {u: by[coder] for u, by in codings.items() if coder in by}
        if not found:
            raise ValueError(f"coder {coder!r} coded no unit")
        return found, f"coder {coder}"
    return majority(codings), "majority of coders"


def _f1(tp: int, fp: int, fn: int) -> float | None:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _compare(a: Labels, b: Labels) -> dict[str, Any]:
    """Compare two raters over the units both coded."""
    common = sorted(set(a) & set(b))
    per: dict[str, list[int]] = {}
    for u in common:
        for code in a[u] | b[u]:
            counts = per.setdefault(code, [0, 0, 0])
            counts[0 if code in a[u] and code in b[u] else (1 if code in a[u] else 2)] += 1
    tp, fp, fn = (sum(c[i] for c in per.values()) for i in range(3))
    pair = {u: {"a": a[u], "b": b[u]} for u in common}
    alphas = krippendorff_alpha_per_code(pair) if pair else {}
    per_code = {code: {"f1": _f1(*per[code]), "alpha": alphas.get(code)} for code in sorted(per)}
    return {
        "units": len(common),
        "micro_f1": _f1(tp, fp, fn),
        "macro_f1": _mean(v["f1"] for v in per_code.values()),
        "alpha": krippendorff_alpha_sets(pair, distance="masi") if pair else None,
        "per_code": per_code,
    }


def _average(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    codes = sorted({code for r in results for code in r["per_code"]})
    return {
        "pairs": len(results),
        "micro_f1": _mean(r["micro_f1"] for r in results),
        "macro_f1": _mean(r["macro_f1"] for r in results),
        "alpha": _mean(r["alpha"] for r in results),
        "per_code": {
            code: {key: _mean(r["per_code"][code][key] for r in results if code in r["per_code"])
                   for key in ("f1", "alpha")}
            for code in codes
        },
    }


def _by_coder(codings: Codings) -> dict[str, dict[str, frozenset[str]]]:
    out: dict[str, dict[str, frozenset[str]]] = {}
    for unit, by in codings.items():
        for coder, codes in by.items():
            out.setdefault(coder, {})[unit] = frozenset(codes)
    return out


def _predict(
    units: Mapping[str, str], targets: Labels, ids: list[str], folds: int, seed: int,
    codebook: Sequence[CodebookEntry], min_positives: int, calibration: str | None,
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], list[tuple[float, bool]]]:
    scored: list[tuple[float, bool]] = []  # (model probability, code in the unit's target)
    suggested: dict[str, frozenset[str]] = {}
    baseline: dict[str, frozenset[str]] = {}
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(ids):
        train = [ids[i] for i in train_idx if ids[i] in targets]
        test = [ids[i] for i in test_idx]
        suggester = CodeSuggester(codebook, min_positives=min_positives, seed=seed, calibration=calibration)
        # Every unit's text trains the vocabulary (unsupervised); only training units' codes are used.
        suggester.fit({u: units[u] for u in ids}, {u: targets[u] for u in train})
        for u, result in zip(test, suggester.suggest_many([units[u] for u in test]), strict=True):
            passed = frozenset(s.code for s in result if s.probability >= PREDICT_THRESHOLD)
            suggested[u] = passed or frozenset(s.code for s in result[:1])
            if u in targets:
                scored += [(s.probability, s.code in targets[u]) for s in result if s.source == MODEL]
        frequency = Counter(code for u in train for code in targets[u])
        size = max(1, round(np.mean([len(targets[u]) for u in train]))) if train else 1
        common = frozenset(c for c, _ in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))[:size])
        baseline.update((u, common) for u in test)
    return suggested, baseline, scored


def _verdict(humans: dict[str, Any], suggestions: dict[str, Any], baseline: dict[str, Any]) -> str:
    def judge(name: str, other: dict[str, Any], metric: str) -> str:
        ours, theirs = suggestions[metric], other[metric]
        if ours is None or theirs is None:
            return f"cannot be compared with {name} on {metric} (undefined)"
        word = "as closely as"
        if ours != theirs:
            word = "more closely than" if ours > theirs else "less closely than"
        return f"{word} {name} on {metric} ({ours:.3f} vs {theirs:.3f})"

    parts = [judge("the coders agree with each other", humans, m) for m in ("micro_f1", "alpha")]
    parts += [judge("the most-frequent-code baseline does", baseline, m) for m in ("micro_f1", "alpha")]
    return "Suggestions agree with the coders " + "; ".join(parts) + "."


def acceptance_rates(log: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """Return how often reviewers accepted suggestions, overall and per code."""
    per: dict[str, list[int]] = {}
    for code, accepted in log:
        counts = per.setdefault(code, [0, 0])
        counts[0 if accepted else 1] += 1

    def rate(accepted: int, rejected: int) -> dict[str, Any]:
        return {"accepted": accepted, "rejected": rejected, "rate": accepted / (accepted + rejected)}

    total = [sum(c[0] for c in per.values()), sum(c[1] for c in per.values())]
    return {
        "overall": rate(*total) if sum(total) else None,
        "per_code": {code: rate(*per[code]) for code in sorted(per)},
    }


def evaluate(
    units: Mapping[str, str],
    codings: Codings,
    consensus: Labels | None = None,
    coder: str | None = None,
    folds: int = 5,
    seed: int = 0,
    codebook: Sequence[CodebookEntry] = (),
    min_positives: int = 5,
    acceptance: Iterable[tuple[str, bool]] | None = None,
    calibration: str | None = DEFAULT_CALIBRATION,
) -> dict[str, Any]:
    """Cross-validate suggestions and compare them with the coders, the consensus and a baseline."""
    targets, target_name = _targets(codings, consensus, coder)
    ids = sorted(u for u in units if u in codings or u in targets)
    if len(ids) < 2:
        raise ValueError("evaluation needs at least two coded units")
    folds = min(folds, len(ids))
    if folds < 2:
        raise ValueError("evaluation needs at least two folds")
    suggested, baseline, scored = _predict(units, targets, ids, folds, seed, codebook, min_positives, calibration)
    coders = _by_coder({u: codings[u] for u in ids if u in codings})
    names = sorted(coders)
    humans = _average([_compare(coders[a], coders[b]) for a, b in combinations(names, 2)])
    humans["alpha_all_coders"] = krippendorff_alpha_sets({u: codings[u] for u in ids if u in codings}, "masi")
    vs_suggestions = _average([_compare(suggested, coders[c]) for c in names])
    vs_baseline = _average([_compare(baseline, coders[c]) for c in names])
    if consensus is not None:
        vs_suggestions["vs_consensus"] = _compare(suggested, consensus)
        vs_baseline["vs_consensus"] = _compare(baseline, consensus)
    result: dict[str, Any] = {
        "units": len(ids),
        "coders": names,
        "folds": folds,
        "seed": seed,
        "target": target_name,
        "human_vs_human": humans,
        "suggestions_vs_humans": vs_suggestions,
        "baseline_vs_humans": vs_baseline,
        "verdict": _verdict(humans, vs_suggestions, vs_baseline),
        "calibration": {**calibration_figures([p for p, _ in scored], [y for _, y in scored]),
                        "method": calibration or "none"},
    }
    if acceptance is not None:
        result["acceptance"] = acceptance_rates(acceptance)
    return result
