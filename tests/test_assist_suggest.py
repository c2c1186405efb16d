import threading
import time

import pytest

from coding.assist import embeddings
from coding.assist import suggest as suggest_module
from coding.assist.suggest import CODEBOOK, MODEL, CodeSuggester
from coding.assist.synthetic import make_dataset

BACKENDS = ["tfidf", pytest.param("embeddings", marks=pytest.mark.skipif(
    not embeddings.available(), reason=embeddings.missing() or "available"))]


@pytest.fixture(scope="module")
def data():
    return make_dataset(400, seed=1)


@pytest.fixture(scope="module")
def trained(data):
    ids = sorted(data.units)[:300]
    # No codebook: every code is the regression's (with one, a code the codebook ranks as well keeps the matcher).
    return CodeSuggester().fit({u: data.units[u] for u in ids}, {u: data.truth[u] for u in ids})


def test_suggestions_are_sorted_probabilities_from_the_model(trained, data):
    for uid in sorted(data.units)[300:320]:
        result = trained.suggest(data.units[uid])
        probabilities = [s.probability for s in result]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        assert {s.source for s in result} == {MODEL}
        assert result[0].code in data.truth[uid]


def test_threshold_and_top_filter(trained):
    text = "The food was cold and the meals were tiny portions."
    assert [s.code for s in trained.suggest(text, top=1)] == ["Environment/Food"]
    assert all(s.probability >= 0.5 for s in trained.suggest(text, threshold=0.5))
    assert len(trained.suggest(text)) == 6


def test_suggest_many_of_no_texts_is_empty(trained, data):
    # Every unit coded leaves nothing to score: scikit-learn refuses a matrix of zero rows (the themes page 500).
    assert trained.suggest_many([]) == []
    assert CodeSuggester(data.codebook).suggest_many([]) == []


def test_cold_start_with_zero_labels_uses_the_codebook(data):
    suggester = CodeSuggester(data.codebook)
    best = suggester.suggest("The toilets were dirty and the bathroom smelled.")[0]
    assert best.code == "Environment/Cleanliness"
    assert best.source == CODEBOOK
    assert 0 < best.probability <= 1
    assert CodeSuggester().suggest("anything") == []


def test_codes_with_few_examples_fall_back_to_the_codebook(data):
    ids = sorted(data.units)[:300]
    labels = {u: data.truth[u] - {"Environment/Food"} for u in ids}
    first_food = next(u for u in ids if "Environment/Food" in data.truth[u])
    labels[first_food] = labels[first_food] | {"Environment/Food"}
    suggester = CodeSuggester(data.codebook, min_positives=5).fit({u: data.units[u] for u in ids}, labels)
    assert suggester.sources["Environment/Food"] == CODEBOOK
    assert suggester.sources["Care/Communication"] == MODEL
    result = suggester.suggest("Tasty breakfast, good meals and hot tea.")
    assert ("Environment/Food", CODEBOOK) in [(s.code, s.source) for s in result]


def test_fitting_is_deterministic(data):
    units = {u: data.units[u] for u in sorted(data.units)[:200]}
    labels = {u: data.codings[u]["coder1"] for u in units}
    a = CodeSuggester(data.codebook, seed=7).fit(units, labels)
    b = CodeSuggester(data.codebook, seed=7).fit(units, labels)
    text = data.units["u000350"]
    assert a.suggest(text) == b.suggest(text)


def test_refit_async_keeps_serving_the_old_model_until_the_new_one_is_ready(data, monkeypatch):
    suggester = CodeSuggester(data.codebook)  # cold start only
    release = threading.Event()
    started = threading.Event()
    real_train = suggest_module._train

    def slow_train(*args, **kwargs):
        started.set()
        assert release.wait(10)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(suggest_module, "_train", slow_train)
    ids = sorted(data.units)[:300]
    future = suggester.refit_async({u: data.units[u] for u in ids}, {u: data.truth[u] for u in ids})
    assert started.wait(10)
    began = time.perf_counter()
    during = suggester.suggest("The food was cold.")
    assert time.perf_counter() - began < 1.0
    assert not future.done()
    assert {s.source for s in during} == {CODEBOOK}
    release.set()
    assert future.result(timeout=30) is None
    assert MODEL in {s.source for s in suggester.suggest("The food was cold.")}


def test_refit_async_reports_errors_through_the_future(data, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("bad labels")

    suggester = CodeSuggester(data.codebook)
    monkeypatch.setattr(suggest_module, "_train", broken)
    with pytest.raises(ValueError, match="bad labels"):
        suggester.refit_async({}, {}).result(timeout=10)
    assert suggester.suggest("food")[0].source == CODEBOOK


def test_a_refit_that_finishes_late_does_not_replace_a_newer_one(data, monkeypatch):
    suggester = CodeSuggester(data.codebook)
    release = threading.Event()
    real_train = suggest_module._train

    def train(units, labels, *args, **kwargs):
        if not labels:  # the first, older refit: hold it until the newer one has finished
            assert release.wait(10)
        return real_train(units, labels, *args, **kwargs)

    monkeypatch.setattr(suggest_module, "_train", train)
    ids = sorted(data.units)[:300]
    older = suggester.refit_async({u: data.units[u] for u in ids}, {})
    newer = suggester.refit_async({u: data.units[u] for u in ids}, {u: data.truth[u] for u in ids})
    newer.result(timeout=30)
    release.set()
    older.result(timeout=30)
    assert MODEL in set(suggester.sources.values())  # the older refit, without labels, had only the codebook


def test_calibrated_probabilities_are_those_of_calibrated_classifier_cv(data):
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    ids = sorted(data.units)[:300]
    suggester = CodeSuggester(backend="tfidf").fit({u: data.units[u] for u in ids},
                                                   {u: data.truth[u] for u in ids})
    assert suggester.calibration == "sigmoid"
    vectorizer = suggester._model.encoder.vectorizer
    x = vectorizer.transform([data.units[u] for u in ids])
    y = np.array(["Environment/Food" in data.truth[u] for u in ids])
    reference = CalibratedClassifierCV(LogisticRegression(C=4.0, max_iter=1000, random_state=0), method="sigmoid",
                                       cv=3, ensemble=False).fit(x, y)
    probe = sorted(data.units)[300:320]
    expected = reference.predict_proba(vectorizer.transform([data.units[u] for u in probe]))[:, 1]
    got = [next(s.probability for s in suggester.suggest(data.units[u]) if s.code == "Environment/Food")
           for u in probe]
    # Our Platt map is found by our own minimiser on the same smoothed targets: equal to 1e-7.
    assert got == pytest.approx(expected.tolist(), abs=1e-6)


def test_calibration_can_be_turned_off_and_changes_the_probabilities(data):
    ids = sorted(data.units)[:300]
    units, labels = {u: data.units[u] for u in ids}, {u: data.truth[u] for u in ids}
    plain = CodeSuggester(data.codebook, calibration=None).fit(units, labels)
    calibrated = CodeSuggester(data.codebook).fit(units, labels)
    text = data.units["u000350"]
    assert [s.probability for s in plain.suggest(text)] != [s.probability for s in calibrated.suggest(text)]
    with pytest.raises(ValueError, match="calibration must be one of sigmoid"):
        CodeSuggester(calibration="platt")


def test_the_model_takes_over_a_code_only_where_it_ranks_the_coded_answers_better():
    data = make_dataset(240, error_rate=0.0, uncoded=60, seed=9)
    labels = {u: data.truth.get(u, frozenset()) | ({"Parking"} if data.planted.get(u) == "Parking" else set())
              for u in data.units}
    book = [(code, definition, example) for code, definition, example in data.codebook
            if code != "Environment/Food"]
    book += [("Environment/Food", "Parking fees, car spaces and tickets.", "The car park was expensive."),
             ("Parking", "Parking fees, car spaces and tickets.",
              "parking parked car fees ticket spaces expensive drive park")]
    suggester = CodeSuggester(book, backend="tfidf").fit(data.units, labels)
    sources = suggester.sources
    # A definition that describes another theme ranks food answers badly: the regression takes the code over.
    assert sources["Environment/Food"] == MODEL
    # A definition in the answers' own words ranks them perfectly: the regression cannot beat it.
    assert sources["Parking"] == CODEBOOK
    assert suggester.routes["Parking"].source == CODEBOOK and not suggester.routes["Parking"].silent


NOT_WHEN_BOOK = [("Access/Waiting time", "Waiting too long to be seen: delays before an appointment or in the clinic.",
                  "I waited three hours past my appointment time"),
                 ("Visiting", "Visits from family and friends, visiting hours.", "my family could visit every day")]
NOT_WHEN = "Time with family or friends (use Visiting); time spent waiting for visitors."
FAMILY = "The time with my family in the evening was far too short."
WAITED = "I waited hours in the clinic before anyone saw me."


@pytest.mark.parametrize("backend", BACKENDS)
def test_not_when_keeps_a_code_off_answers_it_describes(backend):
    plain = CodeSuggester(NOT_WHEN_BOOK, backend=backend)
    heeded = CodeSuggester([NOT_WHEN_BOOK[0] + (NOT_WHEN,), NOT_WHEN_BOOK[1]], backend=backend)
    # The control: without its "not when", "time" is enough for the code to be offered above the floor.
    assert "Access/Waiting time" in {s.code for s in plain.suggest_routed([FAMILY], floor=0.1)[0]}
    offered = heeded.suggest_routed([FAMILY], floor=0.1)[0]
    assert "Access/Waiting time" not in {s.code for s in offered} and offered[0].code == "Visiting"
    # An answer about waiting is still matched (it is far from the "not when" text).
    assert heeded.suggest_routed([WAITED], floor=0.1)[0][0].code == "Access/Waiting time"

