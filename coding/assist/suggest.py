"""Suggest codes for an answer: one-vs-rest logistic regression, with a codebook cold start.

A code with enough coded examples (``min_positives`` positives and as many negatives) gets its own logistic
regression on TF-IDF features, calibrated (sigmoid, 3-fold): scikit-learn's ``CalibratedClassifierCV(...,
method="sigmoid", cv=3, ensemble=False)`` fits a Platt map on out-of-fold scores, which composes with the
regression into one logistic model; its output is a probability. Measured by ``evaluate`` on the synthetic
data (600 answers, 3 coders at error rate 0.15, 5 folds): expected calibration error 0.081 plain, 0.035
calibrated; Brier 0.044 vs 0.030. ``calibration=None`` keeps the plain regression. A code with fewer
examples is scored by the cosine similarity between the answer and the code's text (definition, example
and its few coded answers): that score lies in [0, 1] but is a similarity, not a calibrated probability,
and each suggestion says which source it came from. Suggestions are only offered: nothing here applies a code.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize as l2_normalize

from coding.assist.sources import CODEBOOK as CODEBOOK  # re-exported: suggestions name their source by these
from coding.assist.sources import MODEL as MODEL
from coding.assist.sources import CodebookEntry as CodebookEntry
from coding.assist.text import analyze

CALIBRATIONS = ("sigmoid",)
DEFAULT_CALIBRATION: str | None = "sigmoid"
CALIBRATION_FOLDS = 3


class Suggestion(NamedTuple):
    """A code offered for an answer, its probability (or codebook similarity) and where it came from."""

    code: str
    probability: float
    source: str  # MODEL or CODEBOOK


@dataclass(frozen=True)
class _Model:
    vectorizer: TfidfVectorizer | None
    model_codes: list[str]
    weights: np.ndarray  # (n model codes, n features)
    intercepts: np.ndarray
    cold_codes: list[str]
    prototypes: sp.csr_matrix  # (n cold codes, n features), rows of unit length

    def score(self, texts: Sequence[str]) -> list[list[Suggestion]]:
        # No texts (every unit already coded): scikit-learn refuses a matrix of zero rows, so answer here.
        if self.vectorizer is None or not texts:
            return [[] for _ in texts]
        x = self.vectorizer.transform(texts)
        probs = 1.0 / (1.0 + np.exp(-(np.asarray(x @ self.weights.T) + self.intercepts)))
        sims = np.clip((x @ self.prototypes.T).toarray(), 0.0, 1.0)
        out = []
        for i in range(len(texts)):
            row = [Suggestion(c, float(p), MODEL) for c, p in zip(self.model_codes, probs[i], strict=True)]
            row += [Suggestion(c, float(s), CODEBOOK) for c, s in zip(self.cold_codes, sims[i], strict=True)]
            out.append(row)
        return out


_EMPTY = _Model(None, [], np.zeros((0, 0)), np.zeros(0), [], sp.csr_matrix((0, 0)))


def _train(
    units: Mapping[str, str],
    labels: Mapping[str, frozenset[str]],
    codebook: Sequence[CodebookEntry],
    min_positives: int,
    c: float,
    max_features: int,
    seed: int,
    calibration: str | None = None,
) -> _Model:
    book_texts = {code: f"{definition} {example}" for code, definition, example in codebook}
    corpus = list(units.values()) + list(book_texts.values())
    if not any(analyze(t) for t in corpus):
        return _EMPTY
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, max_features=max_features)
    vectorizer.fit(corpus)
    coded = sorted(u for u in labels if u in units)
    x = vectorizer.transform([units[u] for u in coded]) if coded else None
    all_codes = sorted(set(book_texts) | {code for u in coded for code in labels[u]})
    model_codes, weights, intercepts, cold_codes, prototypes = [], [], [], [], []
    for code in all_codes:
        y = np.array([code in labels[u] for u in coded], dtype=bool)
        positives = int(y.sum())
        if x is not None and positives >= min_positives and len(y) - positives >= min_positives:
            w, b = _fit_code(x, y, c, seed, calibration)
            model_codes.append(code)
            weights.append(w)
            intercepts.append(b)
            continue
        # Cold start: the codebook's words plus the few answers already coded with it.
        examples = [units[u] for u, has in zip(coded, y, strict=True) if has]
        text = " ".join([book_texts.get(code, ""), *examples])
        if text.strip():
            cold_codes.append(code)
            prototypes.append(text)
    n_features = len(vectorizer.vocabulary_)
    protos = (l2_normalize(vectorizer.transform(prototypes)) if prototypes
              else sp.csr_matrix((0, n_features)))
    return _Model(
        vectorizer,
        model_codes,
        np.array(weights) if weights else np.zeros((0, n_features)),
        np.array(intercepts),
        cold_codes,
        sp.csr_matrix(protos),
    )


def _fit_code(
    x: sp.csr_matrix, y: np.ndarray, c: float, seed: int, calibration: str | None
) -> tuple[np.ndarray, float]:
    """Return one code's weights and intercept: plain logistic regression, or with a Platt (sigmoid) map."""
    lr = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    positives = int(y.sum())
    if calibration is None or min(positives, len(y) - positives) < CALIBRATION_FOLDS:
        lr.fit(x, y)
        return lr.coef_[0], float(lr.intercept_[0])
    # ensemble=False: one regression on all the data plus a sigmoid fitted on 3-fold out-of-fold scores;
    # sigmoid(-(a * (w.x + b0) + b)) is again a logistic model, so scoring stays one sparse product.
    calibrated = CalibratedClassifierCV(lr, method=calibration, cv=CALIBRATION_FOLDS, ensemble=False).fit(x, y)
    fitted = calibrated.calibrated_classifiers_[0]
    a, b = float(fitted.calibrators[0].a_), float(fitted.calibrators[0].b_)
    return -a * fitted.estimator.coef_[0], -a * float(fitted.estimator.intercept_[0]) - b


class CodeSuggester:
    """Offer codes for answers; thread-safe, and refitting in the background keeps the old model in use."""

    def __init__(
        self,
        codebook: Sequence[CodebookEntry] = (),
        min_positives: int = 5,
        c: float = 4.0,
        max_features: int = 50_000,
        seed: int = 0,
        calibration: str | None = DEFAULT_CALIBRATION,
    ) -> None:
        if calibration is not None and calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)} or None, not {calibration!r}")
        self.codebook = list(codebook)
        self.calibration = calibration
        self.min_positives = min_positives
        self.c = c
        self.max_features = max_features  # bounds memory: weights are dense (codes x features)
        self.seed = seed
        self._model = _EMPTY
        self._lock = threading.Lock()
        self._generation = 0
        if self.codebook:
            self._model = self._train({}, {})

    def _train(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]]) -> _Model:
        return _train(units, labels, self.codebook, self.min_positives, self.c, self.max_features, self.seed,
                      self.calibration)

    def fit(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]]) -> CodeSuggester:
        """Train on the coded units (``labels`` keys) and swap the new model in."""
        with self._lock:
            self._generation += 1
        model = self._train(units, labels)
        with self._lock:
            self._model = model
        return self

    def refit_async(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]]) -> Future[None]:
        """Train in a background thread and swap the model in when done; callers keep the old one meanwhile.

        If refits overlap, only the most recently started one is swapped in.
        """
        units, labels = dict(units), dict(labels)  # the caller may go on changing its own mappings
        with self._lock:
            self._generation += 1
            generation = self._generation
        future: Future[None] = Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                model = self._train(units, labels)
            except BaseException as exc:  # thread boundary: hand the error to whoever waits on the future
                future.set_exception(exc)
                return
            with self._lock:
                if generation == self._generation:
                    self._model = model
            future.set_result(None)

        threading.Thread(target=run, name="code-suggester-refit", daemon=True).start()
        return future

    @property
    def sources(self) -> dict[str, str]:
        """Map each code the suggester knows to its source (MODEL or CODEBOOK)."""
        model = self._model
        return {**{c: CODEBOOK for c in model.cold_codes}, **{c: MODEL for c in model.model_codes}}

    def suggest(self, text: str, threshold: float = 0.0, top: int | None = None) -> list[Suggestion]:
        """Return the codes scoring at least ``threshold`` for ``text``, best first."""
        return self.suggest_many([text], threshold, top)[0]

    def suggest_many(
        self, texts: Sequence[str], threshold: float = 0.0, top: int | None = None
    ) -> list[list[Suggestion]]:
        """Return ``suggest`` for each text, scoring them in one batch."""
        model = self._model  # one read: a concurrent swap cannot mix two models in one answer
        out = []
        for row in model.score(texts):
            kept = [s for s in row if s.probability >= threshold]
            kept.sort(key=lambda s: (-s.probability, s.code))
            out.append(kept[:top] if top is not None else kept)
        return out
