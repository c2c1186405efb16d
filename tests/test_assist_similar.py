import pytest

from coding.assist.similar import SimilarityIndex
from coding.assist.synthetic import make_dataset

UNITS = {
    "a": "The nurses supported me when I was anxious before surgery.",
    "b": "Parking fees were expensive and there were no spaces.",
    "c": "The food was cold and the menu was poor.",
    "d": "Nurses supporting anxious patients made all the difference.",
}
LABELS = {"a": frozenset({"Care/Support"}), "b": frozenset({"Parking"}), "c": frozenset({"Food"})}


@pytest.fixture
def index():
    idx = SimilarityIndex()
    idx.add(UNITS, LABELS)
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


def test_scores_are_sorted_and_k_is_respected():
    data = make_dataset(200, seed=3)
    idx = SimilarityIndex()
    idx.add(data.units, data.truth)
    result = idx.query("u000010", k=5)
    assert len(result) == 5
    assert [n.score for n in result] == sorted((n.score for n in result), reverse=True)


def test_incremental_add_matches_building_at_once():
    data = make_dataset(120, seed=4)
    ids = list(data.units)
    once = SimilarityIndex()
    once.add(data.units, data.truth)
    grown = SimilarityIndex()
    grown.add({u: data.units[u] for u in ids[:50]}, data.truth)
    grown.query("u000001")  # forces a rebuild in the middle, which later adds must invalidate
    grown.add({u: data.units[u] for u in ids[50:]})
    for probe in ("u000001", "u000077", "nurses supported and reassured me"):
        a, b = once.query(probe, k=8), grown.query(probe, k=8)
        assert [n.unit_id for n in a] == [n.unit_id for n in b]
        assert [n.score for n in a] == pytest.approx([n.score for n in b])


def test_re_adding_an_id_replaces_its_text(index):
    index.add({"b": "The nurses supported me and I was anxious."})
    assert len(index) == 4
    assert index.query("a", k=1)[0].unit_id == "b"
    assert index.query("parking fees expensive", k=3) == []


def test_unknown_words_give_no_neighbours(index):
    assert index.query("zyzzyva") == []
    assert SimilarityIndex().query("anything") == []


def test_replacing_a_coded_unit_keeps_track_of_which_units_are_coded(index):
    index.query("a")  # computes the coded-units mask before the replacement reorders rows
    index.add({"b": "Nurses supported anxious patients and were kind."})
    found = [n.unit_id for n in index.query("nurses supported anxious patients", k=4)]
    assert "b" in found and "d" not in found
