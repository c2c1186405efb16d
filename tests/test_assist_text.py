from coding.assist import text


def test_stopwords_ship_with_the_package_and_keep_negations():
    assert {"the", "and", "was"} <= text.STOPWORDS
    assert not {"not", "no", "never", "without"} & text.STOPWORDS


def test_analyze_stems_drops_stop_words_and_adds_bigrams():
    features = text.analyze("The nurses SUPPORTED me, and were supporting")
    assert features == ["nurs", "support", "support", "nurs support", "support support"]


def test_normalize_folds_case_and_typographic_apostrophes():
    assert text.normalize("Didn\u2019t LIKE") == "didn't like"


def test_spans_index_the_original_text():
    original = "Caf\u00e9 nurses\u2019 Support!"
    assert [original[a:b] for a, b in text.spans(original)] == ["Caf\u00e9", "nurses", "Support"]


def test_surface_forms_pick_the_most_frequent_word_per_stem():
    forms = text.surface_forms(["waiting waited", "waiting room"])
    assert forms["wait"] == "waiting"
    assert text.feature_surface("wait room", forms) == "waiting room"
