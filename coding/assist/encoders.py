"""Turn answers into vectors: TF-IDF over stems and bigrams always, sentence embeddings when the extra is installed.

Both backends have the same API: ``fit(corpus)`` once, then ``features(texts)`` (what the per-code regressions
learn from, a sparse matrix) and ``vectors(texts)`` (rows of unit length, for cosine similarity: the codebook
matcher). With embeddings, ``features`` is the TF-IDF columns followed by the embedding's 384, and
``vectors`` is the embedding alone (it matches "felt alone" with "lonely", which shared stems cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from coding.assist.text import analyze

TFIDF = "tfidf"
EMBEDDINGS = "embeddings"
BACKENDS = (TFIDF, EMBEDDINGS)


class Encoder(Protocol):
    """What a suggester needs from a text representation."""

    name: str

    def fit(self, corpus: Sequence[str]) -> None: ...

    def features(self, texts: Sequence[str]) -> sp.csr_matrix: ...

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix | np.ndarray: ...


class TfidfEncoder:
    """Sublinear TF-IDF over Snowball stems and their bigrams, rows of unit length."""

    name = TFIDF

    def __init__(self, max_features: int = 50_000) -> None:
        self.vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, max_features=max_features)

    def fit(self, corpus: Sequence[str]) -> None:
        """Learn the vocabulary and document frequencies of ``corpus``."""
        self.vectorizer.fit(corpus)

    @property
    def size(self) -> int:
        """Return the number of features."""
        return len(self.vectorizer.vocabulary_)

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Return the TF-IDF rows of ``texts``."""
        if not len(texts):  # scikit-learn refuses a matrix of zero rows
            return sp.csr_matrix((0, self.size))
        return sp.csr_matrix(self.vectorizer.transform(texts))

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Return the TF-IDF rows of ``texts`` (already of unit length)."""
        return self.features(texts)


class EmbeddingEncoder(TfidfEncoder):
    """TF-IDF plus a sentence embedding (all-MiniLM-L6-v2, int8 ONNX), see ``coding.assist.embeddings``."""

    name = EMBEDDINGS

    def __init__(self, max_features: int = 50_000) -> None:
        from coding.assist.embeddings import embedder

        super().__init__(max_features)
        self.embedder = embedder()

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Return the TF-IDF columns followed by the embedding columns."""
        return sp.csr_matrix(sp.hstack([super().features(texts), sp.csr_matrix(self.embedder.embed(texts))],
                                       format="csr"))

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Return the embeddings of ``texts`` (unit length)."""
        return self.embedder.embed(texts)


def resolve(backend: str | None) -> str:
    """Return the backend to run: ``backend`` checked, or embeddings when installed and TF-IDF otherwise (None)."""
    from coding.assist.embeddings import available, missing

    if backend is None:
        return EMBEDDINGS if available() else TFIDF
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == EMBEDDINGS and not available():
        raise ValueError(f"text backend 'embeddings': {missing()}")
    return backend


def make_encoder(backend: str | None = None, max_features: int = 50_000) -> TfidfEncoder:
    """Return an encoder: ``backend`` by name, or embeddings when installed and TF-IDF otherwise (None)."""
    return EmbeddingEncoder(max_features) if resolve(backend) == EMBEDDINGS else TfidfEncoder(max_features)
