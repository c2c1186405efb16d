"""Find the already-coded answers most similar to a text: cosine of TF-IDF (stems and bigrams) or of embeddings.

The backend is chosen as for suggestions (``coding.assist.encoders.resolve``): ``tfidf``, or ``embeddings``
(the optional extra: a sentence embedding, so "felt alone" finds "lonely"); ``None`` takes embeddings when
installed. The API and the ``Neighbour`` rows are the same either way; ``backend`` says which one ran.

Design: each unit is analysed and hashed once when it is added (``HashingVectorizer``, raw counts), so adding
units never re-reads the corpus. Document frequencies are kept up to date on every ``add``; the TF-IDF
weighted, length-normalised matrix is rebuilt lazily, on the first query after a change, from the stored
counts. The rebuild is a few sparse operations (no text analysis), so results are always exact for the
current corpus. The matrix is kept transposed (feature -> units) so that a query, which has a handful of
features, touches only the rows of its own features.

With embeddings, a unit is embedded the first time a query may return it (the coded ones, for the usual
``only_coded`` query; ``prepare`` does it ahead, off the request path), since embedding costs milliseconds per
answer and most units of a large project are never anyone's neighbour. The embedder caches vectors by text,
so the suggester's fit and the index embed each coded answer once. A query is one product of its embedding
with the candidates' rows. Shared words are still the stems the two answers have in common.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from coding.assist.encoders import EMBEDDINGS, resolve
from coding.assist.text import analyze, words

if TYPE_CHECKING:  # onnxruntime loads only when an index uses embeddings
    from coding.assist.embeddings import Embedder

_N_FEATURES = 2**20


@dataclass(frozen=True)
class Neighbour:
    """One similar answer: its id, cosine score, codes and the words it shares with the query."""

    unit_id: str
    score: float
    codes: frozenset[str]
    shared: dict[str, str] = field(default_factory=dict)  # stem -> surface word in this answer


def make_hasher() -> HashingVectorizer:
    """Return the vectorizer that turns texts into raw feature counts (stems and bigrams)."""
    # alternate_sign=False keeps counts non-negative, which IDF weighting and cosine assume.
    return HashingVectorizer(analyzer=analyze, n_features=_N_FEATURES, alternate_sign=False, norm=None)


class SimilarityIndex:
    """Incremental cosine index over answers (TF-IDF or embeddings), with the codes of those already coded.

    Not thread-safe: a web process sharing one index must hold a lock around ``add`` and ``query``.
    """

    def __init__(self, backend: str | None = None) -> None:
        self.backend = resolve(backend)  # "tfidf" or "embeddings": what ran, for the pages to say
        self._embedder: Embedder | None = None
        if self.backend == EMBEDDINGS:
            from coding.assist.embeddings import embedder

            self._embedder = embedder()
        self._embedded: np.ndarray | None = None  # (rows, dimension), in row order; rows not embedded yet are 0
        self._has_vector = np.zeros(0, dtype=bool)
        self._hasher = make_hasher()
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._texts: dict[str, str] = {}
        self._labels: dict[str, frozenset[str]] = {}
        self._blocks: list[sp.csr_matrix] = []  # raw counts, in row order; compacted on rebuild
        self._alive: list[bool] = []
        self._df = np.zeros(_N_FEATURES, dtype=np.int64)
        self._n_alive = 0
        self._by_feature: sp.csr_matrix | None = None  # weighted matrix, transposed; None when stale
        self._idf: np.ndarray | None = None
        self._coded_mask: np.ndarray | None = None

    def __len__(self) -> int:
        return self._n_alive

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._row

    def add(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]] | None = None) -> None:
        """Index ``units`` (id -> text); a known id is re-indexed with its new text. Optionally set codes."""
        if units:
            ids = list(units)
            counts = self._hasher.transform([units[u] for u in ids]).tocsr()
            presence = (counts > 0).astype(np.int64)
            for uid in ids:
                old = self._row.get(uid)
                if old is not None:
                    self._retire(old)
            self._df += np.asarray(presence.sum(axis=0)).ravel()
            start = len(self._ids)
            for offset, uid in enumerate(ids):
                self._row[uid] = start + offset
                self._texts[uid] = units[uid]
            self._ids.extend(ids)
            self._alive.extend([True] * len(ids))
            self._blocks.append(counts)
            self._n_alive += len(ids)
            self._by_feature = None
            self._coded_mask = None
        if labels:
            self.set_labels(labels)

    def _retire(self, row: int) -> None:
        counts = self._counts_row(row)
        self._df[counts.indices] -= 1
        self._alive[row] = False
        self._n_alive -= 1

    def _counts_row(self, row: int) -> sp.csr_matrix:
        for block in self._blocks:
            if row < block.shape[0]:
                return block[row]
            row -= block.shape[0]
        raise IndexError(row)

    def set_labels(self, labels: Mapping[str, frozenset[str]]) -> None:
        """Record the codes of some units; a unit is "coded" once it has an entry here, even an empty one."""
        self._labels.update({u: frozenset(c) for u, c in labels.items()})
        self._coded_mask = None

    def codes(self, unit_id: str) -> frozenset[str] | None:
        """Return the codes recorded for ``unit_id``, or None if it has not been coded."""
        return self._labels.get(unit_id)

    def _rebuild(self) -> sp.csr_matrix:
        counts = sp.vstack(self._blocks, format="csr") if len(self._blocks) > 1 else self._blocks[0]
        if not all(self._alive):
            keep = np.flatnonzero(self._alive)
            counts = counts[keep]
            self._ids = [self._ids[i] for i in keep]
            self._alive = [True] * len(self._ids)
            self._row = {u: i for i, u in enumerate(self._ids)}
        self._blocks = [counts]
        self._coded_mask = None  # rows may have moved
        self._embedded = None  # refilled from the embedder's cache, by text
        n = self._n_alive
        # Smoothed IDF, as scikit-learn's TfidfTransformer: ln((1 + n) / (1 + df)) + 1.
        self._idf = np.log((1.0 + n) / (1.0 + self._df)) + 1.0
        weighted = counts.astype(np.float64)
        weighted.data = 1.0 + np.log(weighted.data)  # sublinear tf: repeating a word is weak evidence
        weighted = l2_normalize(weighted.multiply(self._idf).tocsr())
        self._by_feature = weighted.T.tocsr()
        return self._by_feature

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = self._hasher.transform([text]).tocsr()
        counts.sum_duplicates()
        assert self._idf is not None
        values = (1.0 + np.log(counts.data)) * self._idf[counts.indices]
        norm = np.linalg.norm(values)
        return counts.indices, (values / norm if norm > 0 else values)

    def query(self, text_or_id: str, k: int = 10, only_coded: bool = True) -> list[Neighbour]:
        """Return the ``k`` answers most similar to a text or to an indexed unit (never the unit itself)."""
        if not self._n_alive or k <= 0:
            return []
        matrix = self._by_feature if self._by_feature is not None else self._rebuild()
        self_row = self._row.get(text_or_id)
        text = self._texts[text_or_id] if self_row is not None else text_or_id
        features, values = self._vector(text)
        if not len(features):
            return []
        if self._embedder is None:
            scores = np.asarray(matrix[features].T @ values).ravel()
            candidates = scores > 0
        else:
            candidates = np.ones(len(self._ids), dtype=bool)
        if self_row is not None:
            candidates[self_row] = False
        if only_coded:
            candidates &= self._coded()
        if self._embedder is not None:
            scores = np.zeros(len(self._ids))
            found = np.flatnonzero(candidates)
            scores[found] = self._vectors(found) @ self._embedder.embed([text])[0]
            candidates &= scores > 0
        rows = np.flatnonzero(candidates)
        if len(rows) > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        # Sort by score, then by id so that ties come out in a stable order.
        ordered = sorted(rows, key=lambda r: (-scores[r], self._ids[r]))
        query_stems = {s for s, _ in words(text)}
        result = []
        for row in ordered:
            uid = self._ids[row]
            shared = {}
            for s, w in words(self._texts[uid]):
                if s in query_stems and s not in shared:
                    shared[s] = w
            result.append(Neighbour(uid, float(scores[row]), self._labels.get(uid, frozenset()), shared))
        return result

    def prepare(self) -> None:
        """Build what queries of coded units need now (the TF-IDF matrix; their embeddings), not in a request."""
        if not self._n_alive:
            return
        if self._by_feature is None:
            self._rebuild()
        if self._embedder is not None:
            self._vectors(np.flatnonzero(self._coded()))

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        """Return the embeddings of ``rows`` (current row numbers), embedding those not done yet."""
        assert self._embedder is not None
        if self._embedded is None or len(self._embedded) != len(self._ids):
            self._embedded = np.zeros((len(self._ids), self._embedder.embed([""]).shape[1]), dtype=np.float32)
            self._has_vector = np.zeros(len(self._ids), dtype=bool)
        todo = rows[~self._has_vector[rows]]
        if len(todo):
            self._embedded[todo] = self._embedder.embed([self._texts[self._ids[r]] for r in todo])
            self._has_vector[todo] = True
        return self._embedded[rows]

    def _coded(self) -> np.ndarray:
        if self._coded_mask is None:
            self._coded_mask = np.array([u in self._labels for u in self._ids], dtype=bool)
        return self._coded_mask
