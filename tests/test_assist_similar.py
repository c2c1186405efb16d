"""The similar-answers index, on each text backend (embeddings skipped with the reason when not installed)."""

import pytest

from coding.assist import embeddings
from coding.assist.similar import SimilarityIndex
from coding.assist.synthetic import make_dataset

BACKENDS = ["tfidf", pytest.param("embeddings", marks=pytest.mark.skipif(
    not embeddings.available(), reason=embeddings.missing() or "available"))]

UNITS = {
    "a": "The nurses supported me when I was anxious before surgery.",
    "b": "Parking fees were expensive and there were no spaces.",
    "c": "The food was cold and the menu was poor.",
    "d": "Nurses supporting anxious patients made all the difference.",
}
LABELS = {"a": frozenset({"Care/Support"}), "b": frozenset({"Parking"}), "c": frozenset({"Food"})}


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def index(backend):
    idx = SimilarityIndex(backend)
    idx.add(UNITS, LABELS)
    assert idx.backend == backend
    return idx


def test_obvious_neighbour_comes_first_with_codes_and_shared_words(index):
    first = index.query("I felt anxious but the nurse supported me", k=2)[0]
    assert first.unit_id == "a"
    assert first.codes == {"Care/Support"}
    assert first.shared == {"nurs": "nurses", "support": "supported", "anxious": "anxious"}
    assert 0 < first.score <= 1


def test_query_by_id_excludes_the_unit_itself_and_respects_only_coded(index):
    assert [n.unit_id for n in index.query("d", k=1)] == ["a"]
    assert "d" in [n.unit_id for n in index.query("a", k=3, only_coded=False)]
    assert "d" not in [n.unit_id for n in index.query("a", k=3)]


def test_scores_are_sorted_and_k_is_respected(backend):
    data = make_dataset(200, seed=3)
    idx = SimilarityIndex(backend)
    idx.add(data.units, data.truth)
    result = idx.query("u000010", k=5)
    assert len(result) == 5
    assert [n.score for n in result] == sorted((n.score for n in result), reverse=True)


def test_incremental_add_matches_building_at_once(backend):
    data = make_dataset(120, seed=4)
    ids = list(data.units)
    once = SimilarityIndex(backend)
    once.add(data.units, data.truth)
    grown = SimilarityIndex(backend)
    grown.add({u: data.units[u] for u in ids[:50]}, data.truth)
    grown.query("u000001")  # forces a rebuild in the middle, which later adds must invalidate
    grown.add({u: data.units[u] for u in ids[50:]})
    for probe in ("u000001", "u000077", "nurses supported and reassured me"):
        a, b = once.query(probe, k=8), grown.query(probe, k=8)
        assert [n.unit_id for n in a] == [n.unit_id for n in b]
        assert [n.score for n in a] == pytest.approx([n.score for n in b])


def test_re_adding_an_id_replaces_its_text(index, backend):
    index.add({"b": "The nurses supported me and I was anxious."})
    assert len(index) == 4
    assert index.query("a", k=1)[0].unit_id == "b"
    if backend == "tfidf":  # no answer left shares a word with it
        assert index.query("parking fees expensive", k=3) == []
    else:
        assert index.query("parking fees expensive", k=1)[0].unit_id != "b"


def test_unknown_words_give_no_neighbours():
    index = SimilarityIndex("tfidf")
    index.add(UNITS, LABELS)
    assert index.query("zyzzyva") == []
    assert SimilarityIndex("tfidf").query("anything") == []


def test_an_empty_index_or_a_query_of_stop_words_gives_no_neighbours(index, backend):
    assert SimilarityIndex(backend).query("anything") == []
    assert index.query("and the of") == []


LONELY = {"w": "I was so lonely on the ward.", "p": "Parking fees were expensive.", "f": "The food was cold."}
LONELY_CODES = {u: frozenset({u}) for u in LONELY}


@pytest.mark.skipif(not embeddings.available(), reason=embeddings.missing() or "available")
def test_embeddings_find_a_neighbour_that_shares_no_word():
    query = "Nobody came to see me and I felt alone."
    words_only = SimilarityIndex("tfidf")
    words_only.add(LONELY, LONELY_CODES)
    assert words_only.query(query) == []  # the control: no stem in common, TF-IDF sees nothing
    meaning = SimilarityIndex("embeddings")
    meaning.add(LONELY, LONELY_CODES)
    found = meaning.query(query, k=3)
    assert found[0].unit_id == "w" and found[0].codes == {"w"} and found[0].shared == {}
    assert found[0].score > found[1].score + 0.1


@pytest.mark.skipif(not embeddings.available(), reason=embeddings.missing() or "available")
def test_prepare_embeds_the_coded_units_ahead_and_only_those():
    index = SimilarityIndex("embeddings")
    index.add({**LONELY, "u": "An answer nobody coded yet."}, LONELY_CODES)
    index.prepare()
    assert index._has_vector.tolist() == [True, True, True, False]
    index.query("lonely", k=1, only_coded=False)  # a query that may return every unit embeds them
    assert index._has_vector.all()


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of tfidf, embeddings, not 'bert'"):
        SimilarityIndex("bert")


def test_replacing_a_coded_unit_keeps_track_of_which_units_are_coded(index):
    index.query("a")  # computes the coded-units mask before the replacement reorders rows
    index.add({"b": "Nurses supported anxious patients and were kind."})
    found = [n.unit_id for n in index.query("nurses supported anxious patients", k=4)]
    assert "b" in found and "d" not in found
