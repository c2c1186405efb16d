"""The KWIC page narrows answers before stemming them; the narrowing must keep every answer that matches."""

from coding.assist.kwic import kwic, kwic_pieces
from coding.assist.text import normalize

TEXTS = {
    "1": "I was hoping for more support.",
    "2": "Patients were dying on the ward, and lying to their families.",
    "3": "A happy team; the happiest night shift.",
    "4": "There was no possibility of a break.",
    "5": "I don\u2019t sleep after nights.",
    "6": "The \ufb01nancial side of it.",  # a ligature, as pasted from a PDF
    "7": "ＳＴＲＥＳＳ every day",  # full-width letters
    "8": "We waited 12 hours.",
    "9": "Nothing about this.",
}
TERMS = ["hope", "hoped", "die", "dying", "lie", "happy", "happiness", "possibilities", "don't", "financial",
         "stressed", "12 hours", "waiting", "night shifts", "nothing"]


def test_every_matching_answer_contains_every_piece():
    for term in TERMS:
        pieces = kwic_pieces(term)
        matched = {hit.unit_id for hit in kwic(TEXTS, term)}
        kept = {uid for uid, text in TEXTS.items() if all(p in normalize(text) for p in pieces)}
        assert matched <= kept, term
    # The narrowing narrows: a rare word keeps only its answers.
    assert {u for u, t in TEXTS.items() if all(p in normalize(t) for p in kwic_pieces("possibility"))} == {"4"}


def test_pieces_are_stems_less_two_characters_and_whole_numbers():
    assert kwic_pieces("hoping") == ["ho"]
    assert kwic_pieces("Possibility") == ["possi"]
    assert kwic_pieces("12 hours") == ["12", "ho"]
    assert kwic_pieces("I") == []  # too short to narrow anything
