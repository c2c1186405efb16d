"""Candidate themes and the no-fit queue, on each text backend (embeddings skipped when not installed)."""

import pytest

from coding.assist import embeddings
from coding.assist.suggest import CodeSuggester
from coding.assist.synthetic import UNCODED_THEMES, make_dataset
from coding.assist.text import stem
from coding.assist.themes import candidate_themes, no_fit_queue

BACKENDS = ["tfidf", pytest.param("embeddings", marks=pytest.mark.skipif(
    not embeddings.available(), reason=embeddings.missing() or "available"))]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def data():
    return make_dataset(300, uncoded=40, seed=1)


def _planted(data):
    return {u: data.units[u] for u in data.planted}


def test_themes_recover_the_planted_themes(data, backend):
    themes = candidate_themes(_planted(data), n_themes=2, backend=backend)
    assert len(themes) == 2
    vocabularies = {name: {stem(w) for w in words} for name, words in UNCODED_THEMES}
    found = set()
    for theme in themes:
        names = {data.planted[u] for u in theme.unit_ids}
        assert len(names) == 1  # each candidate theme is one planted theme
        (name,) = names
        found.add(name)
        assert sum(stem(t) in vocabularies[name] for t in theme.terms[:5]) >= 4
        assert len(theme.examples) == 3
    assert found == {name for name, _ in UNCODED_THEMES}


def test_theme_terms_are_surface_words_not_stems(data, backend):
    terms = {t for theme in candidate_themes(_planted(data), n_themes=2, backend=backend) for t in theme.terms}
    assert "noisy" in terms or "noise" in terms
    assert "nois" not in terms


def test_no_fit_queue_holds_the_answers_no_code_fits(data):
    coded = {u: data.truth[u] for u in data.truth}
    suggester = CodeSuggester(data.codebook, backend="tfidf").fit(data.units, coded)
    queue = no_fit_queue(data.units, suggester, threshold=0.3)
    queued = {n.unit_id for n in queue}
    assert set(data.planted) <= queued
    assert len(queued - set(data.planted)) < 0.05 * len(coded)
    scores = [n.best_probability for n in queue]
    assert scores == sorted(scores) and all(s < 0.3 for s in scores)


def test_nothing_to_cluster_gives_no_theme(backend):
    assert candidate_themes({"a": "the and of"}, backend=backend) == []
    assert len(candidate_themes({"a": "parking fees", "b": "parking fees"}, n_themes=5, backend=backend)) == 1


def test_one_theme_of_near_identical_answers_is_offered_without_converging(backend):
    # NMF stops at its iteration limit here (the request fuzzer found it: the themes page answered 500 wherever
    # warnings are errors); the candidates are still offered.
    from web_site import Payloads

    payloads = Payloads()
    texts = {str(i): payloads.text(f"unit text {i}") for i in range(4)}
    themes = candidate_themes(texts, n_themes=1, backend=backend)
    assert len(themes) == 1 and sorted(themes[0].unit_ids) == sorted(texts)


def test_a_single_answer_is_one_theme(backend):
    # An exact fit: scikit-learn's reconstruction error took the square root of a rounding error below zero.
    from web_site import Payloads

    payloads = Payloads()
    payloads.places.update(dict.fromkeys(range(1, 64), "earlier"))  # the answer the fuzz met: payloads 64-72
    (theme,) = candidate_themes({"1": payloads.text("imported answer 0")}, n_themes=2, backend=backend)
    assert theme.unit_ids == ["1"]


LONELY = ["I was so lonely on the ward.", "Nobody visited me and I felt alone.", "I missed having someone to talk to.",
          "Parking fees were expensive.", "The car park was full and costly.", "Paying to park was too dear."]


@pytest.mark.skipif(not embeddings.available(), reason=embeddings.missing() or "available")
def test_embeddings_group_answers_that_say_the_same_in_other_words():
    units = {str(i): t for i, t in enumerate(LONELY)}
    groups = {frozenset(t.unit_ids) for t in candidate_themes(units, n_themes=2, backend="embeddings")}
    assert groups == {frozenset({"0", "1", "2"}), frozenset({"3", "4", "5"})}
