import json

import pytest
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import masi_distance as nltk_masi

from coding.assist.evaluate import acceptance_rates, calibration_figures, evaluate, majority
from coding.assist.synthetic import make_dataset


@pytest.fixture(scope="module")
def data():
    return make_dataset(300, error_rate=0.15, seed=2)


@pytest.fixture(scope="module")
def report(data):
    return evaluate(data.units, data.codings, folds=3, codebook=data.codebook, backend="tfidf")


def test_suggestions_beat_the_baseline(report):
    ours, base = report["suggestions_vs_humans"], report["baseline_vs_humans"]
    for metric in ("micro_f1", "macro_f1", "alpha"):
        assert ours[metric] > base[metric]
    assert "more closely than the most-frequent-code baseline" in report["verdict"]


def test_report_is_json_shaped_and_complete(report, data):
    assert json.loads(json.dumps(report)) == report
    assert report["coders"] == report["held_out"] == data.coders
    assert report["target"] == "majority of the other coders (leave one coder out)"
    assert report["backend"] == "tfidf"
    assert "leave one coder out" in report["protocol"]
    for block in ("human_vs_human", "suggestions_vs_humans", "baseline_vs_humans"):
        assert set(report[block]) >= {"micro_f1", "macro_f1", "alpha", "per_code"}
        assert set(report[block]["per_code"]["Environment/Food"]) == {"f1", "alpha"}
        # The same (coder, unit) pairs for the three: each coder against every unit the others coded too.
        assert report[block]["pairs"] == 3 * len(data.units)
    assert sum(c["units"] for c in report["per_coder"].values()) == 3 * len(data.units)


def test_the_held_out_coder_never_trains_the_suggestions(data):
    # coder1 alone applies "Private" wherever the text is about food: learnable, but only from coder1.
    codings = {u: {c: codes | ({"Private"} if c == "coder1" and "Environment/Food" in data.truth[u] else set())
                   for c, codes in by.items()} for u, by in data.codings.items()}
    report = evaluate(data.units, codings, coder="coder1", folds=3, backend="tfidf")
    assert report["held_out"] == ["coder1"]
    assert report["suggestions_vs_humans"]["per_code"]["Private"]["f1"] == 0.0
    # Control: a suggester that does see coder1's codes learns the code (the leak this protocol prevents).
    from coding.assist.suggest import CodeSuggester

    ids = sorted(data.units)
    seen = CodeSuggester(backend="tfidf").fit({u: data.units[u] for u in ids[:200]},
                                              {u: codings[u]["coder1"] for u in ids[:200]})
    food = [u for u in ids[200:] if "Environment/Food" in data.truth[u]]
    hits = sum(any(s.code == "Private" and s.probability >= 0.5 for s in seen.suggest(data.units[u])) for u in food)
    assert hits > 0.7 * len(food)


def test_no_code_is_a_prediction_where_most_units_get_none():
    data = make_dataset(200, error_rate=0.1, uncoded=400, seed=8)
    codings = {**data.codings, **{u: {c: frozenset() for c in data.coders} for u in data.planted}}
    report = evaluate(data.units, codings, folds=3, codebook=data.codebook, backend="tfidf")
    # Forced to predict a code on every unit, alpha went negative on such data; allowed none, it is not.
    assert report["suggestions_vs_humans"]["alpha"] > 0.5
    assert report["human_vs_human"]["alpha"] > 0.5
    # The most frequent code set is empty here: the baseline predicts nothing, and gets nothing right.
    assert report["baseline_vs_humans"]["micro_f1"] == 0.0


def test_routing_shows_little_where_coders_are_noisy_and_much_where_they_agree(report):
    # Error rate 0.15: a coder misses a true code 15% of the time, so no suggestion can be right 90% of the time
    # against them; routing stays almost silent (measured: 3% of pairs, precision 0.84).
    assert report["routing"]["coverage"] < 0.1
    careful = make_dataset(300, error_rate=0.03, seed=2)
    report = evaluate(careful.units, careful.codings, folds=3, codebook=careful.codebook, backend="tfidf")
    routing = report["routing"]
    assert routing["target_precision"] == 0.9
    assert routing["pairs"] == report["suggestions_vs_humans"]["pairs"]
    assert routing["coverage"] > 0.5  # measured 0.86
    assert routing["precision"] >= 0.9  # measured 0.97
    assert sum(c["shown"] for c in routing["per_code"].values()) == routing["shown"]
    levels = [row["threshold"] for row in report["curve"]]
    assert levels == sorted(levels)
    coverages = [row["coverage"] for row in report["curve"]]
    assert coverages == sorted(coverages, reverse=True)  # a higher threshold never covers more


def test_perfect_coders_agree_perfectly_and_the_verdict_says_suggestions_are_worse():
    data = make_dataset(150, error_rate=0.0, seed=5)
    report = evaluate(data.units, data.codings, consensus=data.truth, folds=3, backend="tfidf")
    humans = report["human_vs_human"]
    assert humans["micro_f1"] == humans["alpha"] == humans["alpha_all_coders"] == 1.0
    assert "vs_consensus" in report["suggestions_vs_humans"]
    assert report["suggestions_vs_humans"]["micro_f1"] < 1.0
    assert "less closely than the other coders do on micro_f1" in report["verdict"]


def test_one_coder_cannot_be_held_out_against_nobody(data):
    one = {u: {"coder2": by["coder2"]} for u, by in data.codings.items()}
    with pytest.raises(ValueError, match="at least two coders"):
        evaluate(data.units, one, folds=2)
    with pytest.raises(ValueError, match="nobody"):
        evaluate(data.units, data.codings, coder="nobody")


def test_majority_needs_more_than_half_of_those_who_coded():
    codings = {"u": {"a": frozenset({"x", "y"}), "b": frozenset({"x"}), "c": frozenset()},
               "v": {"a": frozenset({"y"}), "b": frozenset({"z"})}}
    assert majority(codings) == {"u": frozenset({"x"}), "v": frozenset()}


def test_acceptance_rates_per_code():
    rates = acceptance_rates([("a", True), ("a", False), ("b", True)])
    assert rates["per_code"]["a"] == {"accepted": 1, "rejected": 1, "rate": 0.5}
    assert rates["overall"]["rate"] == pytest.approx(2 / 3)
    assert acceptance_rates([])["overall"] is None


def test_pairwise_alpha_is_masi_alpha_between_the_two_raters(data):
    # nltk's MASI divides by zero on two empty sets, so compare on units where both sets are non-empty.
    a = {u: by["coder1"] for u, by in data.codings.items() if by["coder1"] and by["coder3"]}
    b = {u: data.codings[u]["coder3"] for u in a}
    report = evaluate(data.units, {u: {"coder1": a[u], "coder3": b[u]} for u in a}, folds=2, backend="tfidf")
    # With two coders, the others' majority is the other coder: each unit is a pair once from each side.
    assert report["human_vs_human"]["pairs"] == 2 * len(a)
    triples = [(side, f"{held}/{u}", s[u]) for held, mine, theirs in (("coder1", a, b), ("coder3", b, a))
               for side, s in (("held", mine), ("others", theirs)) for u in a]
    assert report["human_vs_human"]["alpha"] == pytest.approx(AnnotationTask(triples, nltk_masi).alpha())


def test_report_has_calibration_of_the_model_probabilities(report, data):
    calibration = report["calibration"]
    assert calibration["method"] == "sigmoid"
    assert 0.0 <= calibration["brier"] <= 1.0 and 0.0 <= calibration["ece"] <= 1.0
    # Every unit is scored once (out of fold) per held-out coder on each code that has a model.
    assert 0 < calibration["pairs"] <= 3 * 6 * len(data.units)


def test_calibrated_suggestions_are_well_calibrated_on_the_synthetic_data(report, data):
    # Scored against each held-out coder (error rate 0.15), not the training target: measured ECE 0.078.
    assert report["calibration"]["ece"] < 0.1
    plain = evaluate(data.units, data.codings, folds=3, codebook=data.codebook, calibration=None,
                     backend="tfidf")["calibration"]
    assert report["calibration"]["ece"] < plain["ece"]
    assert report["calibration"]["brier"] < plain["brier"]


def test_calibration_figures_with_known_inputs():
    # Bin [0.8, 0.9): four at 0.8, three positive -> |0.8 - 0.75| = 0.05; bin [0.2, 0.3): 0.2 vs 0.25 -> 0.05.
    probabilities = [0.8] * 4 + [0.2] * 4
    outcomes = [True, True, True, False, True, False, False, False]
    figures = calibration_figures(probabilities, outcomes)
    assert figures["pairs"] == 8
    assert figures["ece"] == pytest.approx(0.05)
    assert figures["brier"] == pytest.approx((3 * 0.04 + 0.64 + 0.64 + 3 * 0.04) / 8)
    # The same scores squashed towards 0.5 rank just as well but are badly calibrated.
    squashed = calibration_figures([0.55] * 4 + [0.45] * 4, outcomes)
    assert squashed["ece"] == pytest.approx(0.2)
    assert squashed["ece"] > 0.1
    assert calibration_figures([1.0, 0.0], [True, False])["ece"] == 0.0  # 1.0 falls in the last bin
    assert calibration_figures([], [])["ece"] is None
