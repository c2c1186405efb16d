"""Leave one coder out: suggestions and humans scored against the same held-out coder, on the same units.

What is compared with what (``PROTOCOL``), for each coder c in turn:

- the others' reference R(-c): on every unit coded by c and at least one other coder, the codes applied by
  more than half of the *other* coders (c's own codes never enter it);
- humans: c's codes vs R(-c), i.e. how well the other coders, pooled, predict c;
- suggestions: c's codes vs a suggester trained on R(-c) of the other folds' units (K folds over units,
  shuffled with ``seed``), so it never saw c's codes nor this unit's; its predicted set is every code whose
  calibrated probability is at least 0.5 (the regression's, or the codebook matcher's similarity mapped to
  a probability on the training units; a code with too few examples for that: at or above its route's
  threshold), possibly empty ("no code" is a prediction);
- baseline: the training folds' most frequent codes of R(-c), as many as the rounded mean number of codes
  per training unit (possibly none), for every unit.

The three are scored on exactly the same (coder, unit) pairs, pooled over coders: micro-F1 (code decisions
pooled), macro-F1 (mean of per-code F1 over the codes either side used), Krippendorff's alpha with the MASI
distance between the two sides' sets (two empty sets agree), and per code F1 and binary alpha.
``per_coder`` gives the same three figures per held-out coder.

Routing (``coding.assist.routing``): a suggestion is *shown* when its score reaches its code's threshold,
calibrated inside the training folds to ``precision``; ``routing`` says on what share of (coder, unit) pairs
anything is shown, how many suggestions and how many of them c applied (precision), overall and per code.
``curve`` does the same for one global threshold on the score at several levels (the coverage-precision
curve), with alpha between c and the shown codes on the covered pairs.

``calibration``: Brier score and expected calibration error (10 equal-width bins) of the out-of-fold
probabilities (the regressions', and the codebook matcher's once mapped by Platt; raw similarities are not
probabilities) against c's codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from coding.agreement import krippendorff_alpha_per_code, krippendorff_alpha_sets
from coding.assist.routing import DEFAULT_PRECISION, SILENT, Route
from coding.assist.suggest import DEFAULT_CALIBRATION, CodebookEntry, CodeSuggester, Suggestion
from coding.assist.threads import blas_threads

Labels = Mapping[str, frozenset[str]]
Codings = Mapping[str, Mapping[str, frozenset[str]]]

PREDICT_THRESHOLD = 0.5
CURVE = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
PROTOCOL = (
    "leave one coder out: for each coder c, on the units c and at least one other coder coded, c's codes are "
    "compared with (humans) the codes more than half of the other coders applied, (suggestions) a model "
    "trained on those others' codes of the other folds' units, (baseline) the most frequent of those codes; "
    "same (coder, unit) pairs for all three, pooled over coders; an empty set ('no code') is a prediction"
)
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


def _verdict(humans: dict[str, Any], suggestions: dict[str, Any], baseline: dict[str, Any]) -> str:
    def judge(name: str, other: dict[str, Any], metric: str) -> str:
        ours, theirs = suggestions[metric], other[metric]
        if ours is None or theirs is None:
            return f"cannot be compared with {name} on {metric} (undefined)"
        word = "as closely as"
        if ours != theirs:
            word = "more closely than" if ours > theirs else "less closely than"
        return f"{word} {name} on {metric} ({ours:.3f} vs {theirs:.3f})"

    parts = [judge("the other coders do", humans, m) for m in ("micro_f1", "alpha")]
    parts += [judge("the most-frequent-code baseline does", baseline, m) for m in ("micro_f1", "alpha")]
    return "Suggestions agree with each held-out coder " + "; ".join(parts) + "."


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


def _decide(result: Sequence[Suggestion], routes: Mapping[str, Route]) -> frozenset[str]:
    """Return the predicted set: probabilities >= 0.5; an uncalibrated similarity at its route's threshold."""
    chosen = set()
    for s in result:
        found = routes.get(s.code)
        if found is None:
            continue
        if found.probability:
            if s.probability >= PREDICT_THRESHOLD:
                chosen.add(s.code)
        elif found.threshold is not None and found.threshold != SILENT and s.probability >= found.threshold:
            chosen.add(s.code)
    return frozenset(chosen)


def _held_out(
    units: Mapping[str, str], codings: Codings, coder: str, folds: int, seed: int,
    codebook: Sequence[CodebookEntry], min_positives: int, calibration: str | None, backend: str | None,
    precision: float,
) -> dict[str, Any]:
    """Score suggestions, the others and a baseline against one held-out coder; return the raw pairs."""
    others = {u: {c: codes for c, codes in by.items() if c != coder} for u, by in codings.items()}
    reference = majority({u: by for u, by in others.items() if by})
    scored_units = sorted(u for u, by in codings.items() if coder in by and u in reference and u in units)
    ids = sorted(u for u in reference if u in units)
    out: dict[str, Any] = {"truth": {u: codings[u][coder] for u in scored_units},
                           "humans": {u: reference[u] for u in scored_units},
                           "suggested": {}, "baseline": {}, "scores": {}, "shown": {}, "backend": None}
    if not scored_units:
        return out
    wanted = set(scored_units)
    splitter = KFold(n_splits=min(folds, len(ids)), shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(ids):
        train = [ids[i] for i in train_idx]
        test = [ids[i] for i in test_idx if ids[i] in wanted]
        if not test:
            continue
        suggester = CodeSuggester(codebook, min_positives=min_positives, seed=seed, calibration=calibration,
                                  backend=backend, precision=precision)
        # Every unit's text trains the vocabulary (unsupervised); only training units' codes are used.
        suggester.fit({u: units[u] for u in ids}, {u: reference[u] for u in train})
        out["backend"] = suggester.backend_name
        routes = suggester.routes
        for u, result in zip(test, suggester.suggest_many([units[u] for u in test]), strict=True):
            out["suggested"][u] = _decide(result, routes)
            out["scores"][u] = [(s.code, s.probability, s.code in routes and routes[s.code].probability)
                                for s in result]
            out["shown"][u] = frozenset(s.code for s in result if s.code in routes
                                        and routes[s.code].threshold not in (None, SILENT)
                                        and s.probability >= routes[s.code].threshold)  # type: ignore[operator]
        frequency = Counter(code for u in train for code in reference[u])
        size = round(float(np.mean([len(reference[u]) for u in train]))) if train else 0
        common = frozenset(c for c, _ in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))[:size])
        out["baseline"].update((u, common) for u in test)
    return out


def _routing(runs: Mapping[str, dict[str, Any]], precision: float) -> dict[str, Any]:
    pairs = shown = right = covered = 0
    per: dict[str, list[int]] = {}
    for run in runs.values():
        for u, codes in run["shown"].items():
            truth = run["truth"][u]
            pairs += 1
            covered += bool(codes)
            shown += len(codes)
            right += len(codes & truth)
            for code in codes:
                counts = per.setdefault(code, [0, 0])
                counts[0] += 1
                counts[1] += code in truth
    return {
        "target_precision": precision,
        "pairs": pairs,
        "covered": covered,
        "coverage": covered / pairs if pairs else None,
        "shown": shown,
        "right": right,
        "precision": right / shown if shown else None,
        "per_code": {code: {"shown": n, "right": r, "precision": r / n} for code, (n, r) in sorted(per.items())},
    }


def _curve(runs: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for level in CURVE:
        pairs = shown = right = 0
        covered_truth: dict[str, frozenset[str]] = {}
        covered_shown: dict[str, frozenset[str]] = {}
        for coder, run in runs.items():
            for u, scores in run["scores"].items():
                pairs += 1
                codes = frozenset(code for code, score, _ in scores if score >= level)
                if codes:
                    key = f"{coder}\x00{u}"
                    covered_truth[key], covered_shown[key] = run["truth"][u], codes
                    shown += len(codes)
                    right += len(codes & run["truth"][u])
        together = {u: {"coder": covered_truth[u], "shown": covered_shown[u]} for u in covered_truth}
        rows.append({"threshold": level, "covered": len(covered_truth),
                     "coverage": len(covered_truth) / pairs if pairs else None, "shown": shown,
                     "precision": right / shown if shown else None,
                     "alpha": krippendorff_alpha_sets(together, "masi") if len(together) > 1 else None})
    return rows


def _pooled(runs: Mapping[str, dict[str, Any]], side: str) -> tuple[dict[str, frozenset[str]],
                                                                      dict[str, frozenset[str]]]:
    truth, other = {}, {}
    for coder, run in runs.items():
        for u, codes in run[side].items():
            key = f"{coder}\x00{u}"
            truth[key], other[key] = run["truth"][u], codes
    return truth, other


def _figures(result: dict[str, Any], pairs: int) -> dict[str, Any]:
    result = dict(result)
    result["pairs"] = pairs
    result.pop("units", None)
    return result


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
    backend: str | None = None,
    precision: float = DEFAULT_PRECISION,
) -> dict[str, Any]:
    """Compare suggestions with each held-out coder next to the other coders and a baseline (see the module).

    ``coder`` holds out only that coder. ``consensus`` (a recorded consensus) is not a training target here
    (it was reached with the held-out coder's voice); suggestions are compared with it too, under
    ``vs_consensus``, from the same out-of-fold predictions.
    """
    names = sorted({c for by in codings.values() for c in by})
    if coder is not None and coder not in names:
        raise ValueError(f"coder {coder!r} coded no unit")
    if len(names) < 2:
        raise ValueError("leave-one-coder-out needs units coded by at least two coders")
    if folds < 2:
        raise ValueError("evaluation needs at least two folds")
    held = [coder] if coder is not None else names
    runs: dict[str, dict[str, Any]] = {}
    with blas_threads():
        for name in held:
            runs[name] = _held_out(units, codings, name, folds, seed, codebook, min_positives, calibration,
                                   backend, precision)
    runs = {name: run for name, run in runs.items() if run["truth"]}
    if not runs:
        raise ValueError("evaluation needs units coded by the held-out coder and at least one other coder")
    blocks: dict[str, dict[str, Any]] = {}
    for block, side in (("human_vs_human", "humans"), ("suggestions_vs_humans", "suggested"),
                        ("baseline_vs_humans", "baseline")):
        truth, other = _pooled(runs, side)
        blocks[block] = _figures(_compare(truth, other), len(truth))
    scored = sorted({u for run in runs.values() for u in run["truth"]})
    blocks["human_vs_human"]["alpha_all_coders"] = krippendorff_alpha_sets(
        {u: codings[u] for u in scored}, "masi")
    per_coder = {}
    for name, run in runs.items():
        figures = {}
        for side in ("humans", "suggested", "baseline"):
            found = _compare(run["truth"], run[side])
            figures[side] = {m: found[m] for m in ("micro_f1", "macro_f1", "alpha")}
        per_coder[name] = {"units": len(run["truth"]), **figures}
    probabilities = [(score, code in run["truth"][u]) for run in runs.values() for u, row in run["scores"].items()
                     for code, score, is_probability in row if is_probability]
    backends = sorted({run["backend"] for run in runs.values() if run["backend"]})
    result: dict[str, Any] = {
        "protocol": PROTOCOL,
        "units": len(scored),
        "coders": names,
        "held_out": sorted(runs),
        "folds": folds,
        "seed": seed,
        "target": "majority of the other coders (leave one coder out)",
        "backend": ", ".join(backends) or None,
        **blocks,
        "per_coder": per_coder,
        "routing": _routing(runs, precision),
        "curve": _curve(runs),
        "verdict": _verdict(blocks["human_vs_human"], blocks["suggestions_vs_humans"], blocks["baseline_vs_humans"]),
        "calibration": {**calibration_figures([p for p, _ in probabilities], [y for _, y in probabilities]),
                        "method": calibration or "none"},
    }
    if consensus is not None:
        agreed = {f"{name}\x00{u}": consensus[u] for name, run in runs.items() for u in run["truth"]
                  if u in consensus}
        _, suggested = _pooled(runs, "suggested")
        result["suggestions_vs_humans"]["vs_consensus"] = _compare({k: suggested[k] for k in agreed}, agreed)
        result["consensus_units"] = len(consensus)
    if acceptance is not None:
        result["acceptance"] = acceptance_rates(acceptance)
    return result
