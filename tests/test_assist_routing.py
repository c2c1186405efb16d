import math

import pytest

from coding.assist.routing import SILENT, route, threshold_for, wilson_lower
from coding.assist.suggest import CODEBOOK, MODEL, CodeSuggester
from coding.assist.synthetic import make_dataset


def test_wilson_lower_bound_with_known_values():
    # z = 1: nine right out of nine is just enough for 0.9; eight of eight is not.
    assert wilson_lower(9, 9) == pytest.approx(0.9)
    assert wilson_lower(8, 8) < 0.9
    assert wilson_lower(0, 0) == 0.0
    # p = 0.5, n = 100, z = 1: (0.5 + 1/200 - sqrt(0.0025 + 1/40000)) / (1 + 1/100)
    assert wilson_lower(50, 100) == pytest.approx((0.505 - math.sqrt(0.0025 + 0.000025)) / 1.01)


def test_threshold_is_the_lowest_score_that_keeps_the_precision():
    scores = [0.99] * 20 + [0.8] * 10 + [0.7] * 10
    outcomes = [True] * 20 + [True] * 7 + [False] * 3 + [False] * 10
    # Lower bounds (z = 1): at 0.99, 20 of 20 -> 0.952; at 0.8, 27 of 30 -> 0.832; at 0.7, 27 of 40 -> 0.597.
    assert threshold_for(scores, outcomes, precision=0.9) == 0.99
    assert threshold_for(scores, outcomes, precision=0.8) == 0.8
    assert threshold_for(scores, outcomes, precision=0.6) == 0.8
    assert threshold_for(scores, outcomes, precision=0.5) == 0.7
    assert threshold_for(scores, outcomes, precision=0.96) == SILENT


def test_a_code_that_is_never_right_enough_stays_silent_and_one_never_checked_is_not_calibrated():
    silent = route("x", MODEL, [0.9, 0.8, 0.7], [True, False, False])
    assert silent.silent and silent.threshold == SILENT
    assert not silent.passes(0.999, floor=0.0)
    assert threshold_for([0.5, 0.4], [False, False]) == SILENT
    cold = route("y", CODEBOOK, [], [])
    assert cold.threshold is None and not cold.silent
    assert cold.passes(0.3, floor=0.25) and not cold.passes(0.2, floor=0.25)


def test_ties_are_kept_together():
    # Two pairs at 0.9, one right: a threshold of 0.9 admits both (1 of 2, lower bound 0.21), never one alone.
    assert threshold_for([0.9, 0.9], [True, False], precision=0.2) == 0.9
    assert threshold_for([0.9, 0.9], [True, False], precision=0.3) == SILENT


@pytest.fixture(scope="module")
def data():
    return make_dataset(300, error_rate=0.1, seed=4)


def test_routed_suggestions_reach_their_thresholds_and_silent_codes_say_nothing(data):
    ids = sorted(data.units)[:240]
    labels = {u: data.truth[u] for u in ids}
    # A code applied at random: nothing in the text predicts it, so its route must be silent.
    labels = {u: codes | ({"Noise"} if i % 3 == 0 else set()) for i, (u, codes) in enumerate(labels.items())}
    suggester = CodeSuggester(data.codebook, backend="tfidf").fit({u: data.units[u] for u in ids}, labels)
    routes = suggester.routes
    assert routes["Noise"].silent
    assert routes["Noise"].checked_on == len(ids) and routes["Noise"].positives == 80
    spoken = [code for code, r in routes.items() if not r.silent]
    assert len(spoken) == 6  # the planted themes are learnable
    for r in routes.values():
        if not r.silent:
            assert r.right >= 0.9 * r.shown  # what the threshold was calibrated on
    rows = suggester.suggest_routed([data.units[u] for u in sorted(data.units)[240:]], floor=0.0)
    assert all(s.probability >= routes[s.code].threshold and s.code != "Noise" for row in rows for s in row)
    assert any(rows)  # not silent on everything
    # Held-out precision of what is shown, against the truth.
    shown = [(u, s.code) for u, row in zip(sorted(data.units)[240:], rows, strict=True) for s in row]
    right = sum(code in data.truth[u] for u, code in shown)
    assert right / len(shown) >= 0.85


def test_cold_start_codes_are_not_calibrated_and_use_the_floor(data):
    suggester = CodeSuggester(data.codebook, backend="tfidf")
    assert all(r.threshold is None for r in suggester.routes.values())
    text = "The toilets were dirty and the bathroom smelled."
    routed = suggester.suggest_routed([text], floor=0.1)[0]
    assert routed and routed[0].code == "Environment/Cleanliness" and routed[0].source == CODEBOOK
    assert all(s.probability >= 0.1 for s in routed)
    assert suggester.suggest_routed([text], floor=1.0)[0] == []


def test_rejected_suggestions_fed_back_silence_a_code_and_accepted_ones_keep_it(data):
    ids = sorted(data.units)[:150]
    labels = {u: data.truth[u] for u in ids}
    units = {u: data.units[u] for u in ids}
    food = [u for u in sorted(data.units)[150:] if "Environment/Food" in data.truth[u]]
    plain = CodeSuggester(data.codebook, backend="tfidf").fit(units, labels)
    assert not plain.routes["Environment/Food"].silent
    # Reviewers rejected the food code on the food answers outside the labels: its suggestions were wrong there.
    rejected = [(data.units[u], "Environment/Food", False) for u in food[:40]]
    fed = CodeSuggester(data.codebook, backend="tfidf").fit(units, labels, feedback=rejected)
    assert fed.routes["Environment/Food"].silent
    assert fed.routes["Environment/Food"].checked_on == len(ids) + len(rejected)
    # Control: the same answers accepted keep the code, and its other codes are untouched either way.
    accepted = [(text, code, True) for text, code, _ in rejected]
    kept = CodeSuggester(data.codebook, backend="tfidf").fit(units, labels, feedback=accepted)
    assert not kept.routes["Environment/Food"].silent
    assert fed.routes["Care/Communication"] == plain.routes["Care/Communication"]
