from coding.assist.kwic import format_hits, kwic

UNITS = {
    "a": "The nurses supported me. Support from family mattered too.",
    "b": "I was not supporting anyone; nobody was supportive of me.",
    "c": "Waiting was long.",
}


def test_finds_stemmed_variants_with_context_and_offsets():
    hits = kwic(UNITS, "support", window=2)
    assert [(h.unit_id, h.match) for h in hits] == [
        ("a", "supported"), ("a", "Support"), ("b", "supporting"), ("b", "supportive")]
    first = hits[0]
    assert (first.left, first.right) == ("The nurses", "me. Support")
    assert UNITS["a"][first.start:first.end] == "supported"


def test_phrases_and_stop_words_match_in_sequence():
    hits = kwic(UNITS, "not support")
    assert [(h.unit_id, h.match) for h in hits] == [("b", "not supporting")]


def test_unit_ids_restrict_the_search():
    assert {h.unit_id for h in kwic(UNITS, "supports", unit_ids={"b", "c"})} == {"b"}
    assert kwic(UNITS, "parking") == []
    assert kwic(UNITS, "...") == []


def test_format_hits_aligns_the_keyword():
    hits = kwic(UNITS, "support")
    lines = format_hits(hits, width=20)
    assert all(line[21:].startswith(hit.match) for line, hit in zip(lines, hits, strict=True))
    assert lines[0] == " " * 10 + "The nurses supported me. Support from fam"
