"""Find the already-coded answers most similar to a text: TF-IDF over stems and bigrams, cosine, top k.

Design: each unit is analysed and hashed once when it is added (``HashingVectorizer``, raw counts), so adding
units never re-reads the corpus. Document frequencies are kept up to date on every ``add``; the TF-IDF
weighted, length-normalised matrix is rebuilt lazily, on the first query after a change, from the stored
counts. The rebuild is a few sparse operations (no text analysis), so results are always exact for the
current corpus. The matrix is kept transposed (feature -> units) so that a query, which has a handful of
features, touches only the rows of its own features.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from coding.assist.text import analyze, words

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
    """Incremental TF-IDF cosine index over answers, with the codes of those already coded.

    Not thread-safe: a web process sharing one index must hold a lock around ``add`` and ``query``.
    """

    def __init__(self) -> None:
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
        selected = matrix[features]
        scores = np.asarray(selected.T @ values).ravel()
        candidates = scores > 0
        if self_row is not None:
            candidates[self_row] = False
        if only_coded:
            candidates &= self._coded()
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

    def _coded(self) -> np.ndarray:
        if self._coded_mask is None:
            self._coded_mask = np.array([u in self._labels for u in self._ids], dtype=bool)
        return self._coded_mask
