"""Sentence embeddings offline (the optional extra): skipped with the reason when it is not installed."""

import numpy as np
import pytest

from coding.assist import embeddings
from coding.assist.encoders import make_encoder
from coding.assist.suggest import CODEBOOK, CodeSuggester
from coding.assist.synthetic import make_dataset

needs_extra = pytest.mark.skipif(not embeddings.available(), reason=embeddings.missing() or "available")


@needs_extra
def test_vectors_are_unit_length_and_closer_for_the_same_meaning():
    rows = embeddings.embedder().embed(["I felt so lonely on the ward.", "Nobody visited me and I was alone.",
                                        "The parking fees were far too expensive.", ""])
    assert rows.shape == (4, embeddings.DIMENSION)
    assert np.allclose(np.linalg.norm(rows[:3], axis=1), 1.0, atol=1e-5)
    # No shared stem between the first two: TF-IDF sees nothing in common, the embedding does.
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.2
    again = embeddings.embedder().embed(["Nobody visited me and I was alone."])
    assert np.allclose(again[0], rows[1])


@needs_extra
def test_the_suggester_runs_on_embeddings_with_the_same_api():
    data = make_dataset(120, seed=6)
    cold = CodeSuggester(data.codebook, backend="embeddings")
    assert cold.backend_name == "embeddings"
    best = cold.suggest("The bathroom was filthy and nobody had mopped the floor.")[0]
    assert best.code == "Environment/Cleanliness" and best.source == CODEBOOK
    ids = sorted(data.units)
    fitted = CodeSuggester(data.codebook, backend="embeddings").fit({u: data.units[u] for u in ids},
                                                                      {u: data.truth[u] for u in ids})
    assert fitted.routes and all(r.threshold is not None for r in fitted.routes.values())


def test_asking_for_embeddings_without_the_extra_says_what_to_install(monkeypatch):
    monkeypatch.setattr(embeddings, "find_spec", lambda name: None)
    assert not embeddings.available()
    assert "pip install 'surveykit[embeddings]'" in embeddings.missing()
    with pytest.raises(ValueError, match="embeddings.*not installed: onnxruntime"):
        make_encoder("embeddings")
