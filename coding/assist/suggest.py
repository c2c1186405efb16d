"""Suggest codes for an answer: per code, the codebook matcher or a calibrated regression, whichever ranks better.

Two sources score each code (``coding.assist.sources``):

- ``CODEBOOK``, the matcher: cosine similarity between the answer and the code's own text in the codebook
  (its name, definition and "use when", example), TF-IDF over Snowball stems or, with the embeddings extra, a
  sentence embedding (``coding.assist.encoders``), less its similarity with the code's "not when" text
  (``scorers.NOT_WHEN_WEIGHT``). It needs no coded answer, so a project with a codebook and no coding yet gets
  suggestions (the cold start). Its score is a similarity in [0, 1], not a probability.
- ``MODEL``: a code with ``min_positives`` coded examples and as many without gets a logistic regression,
  calibrated with a Platt (sigmoid) map fitted on 3-fold out-of-fold scores (as scikit-learn's
  ``CalibratedClassifierCV(method="sigmoid", cv=3, ensemble=False)``; the map folds into one logistic model,
  so scoring is one sparse product). Its score is a probability. ``calibration=None`` keeps plain regression.

Until a code has enough examples, the answers coded with it join its codebook text in the matcher's profile.
Then the regression takes over from the matcher only when its out-of-fold average precision (the area under
the precision-recall curve) on the coded answers beats that of the codebook's own text on the same answers; a
code the codebook does not describe goes to the regression as soon as it has enough examples.

Each code also gets a route (``coding.assist.routing``): the lowest score at which its suggestions were right
often enough on the coded answers (out of fold for the regression; the matcher never saw the labels), so a
caller can show only suggestions that have earned it (``suggest_routed``). Nothing here applies a code.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.metrics import average_precision_score

from coding.assist.encoders import TfidfEncoder, make_encoder
from coding.assist.routing import DEFAULT_PRECISION, Route, route
from coding.assist.scorers import CALIBRATION_FOLDS as CALIBRATION_FOLDS
from coding.assist.scorers import (
    NOT_WHEN_WEIGHT,
    beats,
    book_text,
    cosines,
    dense,
    fit_code,
    matcher_profile,
    penalised,
    platt,
)
from coding.assist.sources import CODEBOOK as CODEBOOK  # re-exported: suggestions name their source by these
from coding.assist.sources import MODEL as MODEL
from coding.assist.sources import CodebookEntry as CodebookEntry
from coding.assist.text import analyze

CALIBRATIONS = ("sigmoid",)
DEFAULT_CALIBRATION: str | None = "sigmoid"
# Coded answers needed before thresholds are calibrated; below, codes are not calibrated (the cold start).
MIN_CHECKED = 10


class Suggestion(NamedTuple):
    """A code offered for an answer, its probability (or codebook similarity) and where it came from."""

    code: str
    probability: float
    source: str  # MODEL or CODEBOOK


@dataclass(frozen=True)
class _Model:
    encoder: TfidfEncoder | None
    model_codes: list[str]
    weights: np.ndarray  # (n model codes, n features)
    intercepts: np.ndarray
    cold_codes: list[str]
    prototypes: sp.csr_matrix | np.ndarray  # (n cold codes, vector size), rows of unit length
    # Each cold code's "not when" text (unit length; a row of zeros: none), or None when no code has one.
    avoid: np.ndarray | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    # Platt map of each matched code's similarity (a = 1, b = 0 and no map while a code has too few examples).
    platt: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def score(self, texts: Sequence[str]) -> list[list[Suggestion]]:
        # No texts (every unit already coded): scikit-learn refuses a matrix of zero rows, so answer here.
        if self.encoder is None or not texts:
            return [[] for _ in texts]
        x = self.encoder.features(texts) if self.model_codes else None
        probs = (1.0 / (1.0 + np.exp(-(np.asarray(x @ self.weights.T) + self.intercepts))) if x is not None
                 else np.zeros((len(texts), 0)))
        vectors = self.encoder.vectors(texts) if self.cold_codes else None
        sims = cosines(vectors, self.prototypes) if vectors is not None else np.zeros((len(texts), 0))
        if vectors is not None and self.avoid is not None:
            sims = np.clip(sims - NOT_WHEN_WEIGHT * cosines(vectors, self.avoid), 0.0, 1.0)
        if len(self.platt):
            mapped = self.platt[:, 0] != 0
            sims[:, mapped] = expit(sims[:, mapped] * self.platt[mapped, 0] + self.platt[mapped, 1])
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
    backend: str | None = None,
    precision: float = DEFAULT_PRECISION,
    feedback: Sequence[tuple[str, str, bool]] = (),
) -> _Model:
    book = {entry[0]: book_text(*entry[:3]) for entry in codebook}
    not_when = {entry[0]: entry[3] for entry in codebook if len(entry) > 3 and entry[3].strip()}
    corpus = list(units.values()) + list(book.values()) + list(not_when.values())
    if not any(analyze(t) for t in corpus):
        return _EMPTY
    encoder = make_encoder(backend, max_features)
    encoder.fit(corpus)
    coded = sorted(u for u in labels if u in units)
    texts = [units[u] for u in coded]
    x = encoder.features(texts) if coded else None
    vectors = encoder.vectors(texts)
    width = encoder.vectors([""]).shape[1]
    described = [code for code in sorted(book) if analyze(book[code]) or encoder.name != "tfidf"]
    book_vectors = dict(zip(described, dense(encoder.vectors([book[code] for code in described])), strict=True)) \
        if described else {}
    avoided = [code for code in sorted(not_when) if analyze(not_when[code]) or encoder.name != "tfidf"]
    avoid_vectors = dict(zip(avoided, dense(encoder.vectors([not_when[code] for code in avoided])), strict=True)) \
        if avoided else {}
    checked = len(coded) >= MIN_CHECKED
    all_codes = sorted(set(book) | {code for u in coded for code in labels[u]})
    model_codes, weights, intercepts, cold_codes, cold_sums, cold_avoid = [], [], [], [], [], []
    maps: list[tuple[float, float]] = []
    routes: dict[str, Route] = {}
    # Reviewers' accept/reject decisions on answers outside the training labels: scored by the final scorer
    # (which never saw them), they join the pairs a code's threshold is calibrated on.
    fb_texts = [text for text, _, _ in feedback]
    fb_accepted = np.array([accepted for _, _, accepted in feedback], dtype=bool)
    fb_x: Any = encoder.features(fb_texts)
    fb_v: Any = encoder.vectors(fb_texts)
    fb_of: dict[str, np.ndarray] = {}
    for i, (_, code, _) in enumerate(feedback):
        fb_of.setdefault(code, np.zeros(0, dtype=int))
        fb_of[code] = np.append(fb_of[code], i)

    def judged(code: str, scores: np.ndarray, y: np.ndarray, score: Any) -> tuple[np.ndarray, np.ndarray]:
        rows = fb_of.get(code)
        if rows is None or not len(rows):
            return scores, y
        return np.concatenate([scores, score(rows)]), np.concatenate([y, fb_accepted[rows]])

    def matched(rows: np.ndarray, total: np.ndarray, avoid: np.ndarray | None) -> np.ndarray:
        unit = (total / max(float(np.linalg.norm(total)), 1e-12))[None, :]
        return penalised(cosines(fb_v[rows], unit).ravel(), fb_v[rows], avoid)

    for code in all_codes:
        y = np.array([code in labels[u] for u in coded], dtype=bool)
        positives = int(y.sum())
        avoid = avoid_vectors.get(code)
        if x is not None and positives >= min_positives and len(y) - positives >= min_positives:
            w, b, oof = fit_code(x, y, c, seed, calibration)
            # The regression competes with the codebook's own words, the matcher a new project starts from.
            total, matcher = matcher_profile(book_vectors.get(code), vectors, np.zeros(len(y), dtype=bool),
                                             width)
            matcher = None if matcher is None else penalised(matcher, vectors, avoid)
            if oof is None or matcher is None or beats(average_precision_score(y, oof),
                                                         average_precision_score(y, matcher)):
                model_codes.append(code)
                weights.append(w)
                intercepts.append(b)
                if oof is None:
                    routes[code] = route(code, MODEL, [], y, precision, probability=True)
                else:
                    scores, outcomes = judged(code, oof, y, lambda rows, w=w, b=b: expit(
                        np.asarray(fb_x[rows] @ w).ravel() + b))
                    routes[code] = route(code, MODEL, scores, outcomes, precision, probability=True)
                continue
        else:
            total, matcher = matcher_profile(book_vectors.get(code), vectors, y, width)
            matcher = None if matcher is None else penalised(matcher, vectors, avoid)
        if total is None or matcher is None:
            continue
        cold_codes.append(code)
        cold_sums.append(total)
        cold_avoid.append(np.zeros(width) if avoid is None else avoid)
        # With enough examples, the similarity is mapped to a probability (Platt) on the coded answers' scores,
        # which never saw their own labels (the codebook's words alone, or the profile without the answer).
        if positives >= min_positives and len(y) - positives >= min_positives:
            a, b = platt(matcher, y)
            maps.append((a, b))
            scores, outcomes = judged(code, matcher, y, lambda rows, t=total, n=avoid: matched(rows, t, n))
            routes[code] = route(code, CODEBOOK, expit(a * scores + b), outcomes, precision, probability=True)
        else:
            maps.append((0.0, 0.0))
            scores, outcomes = judged(code, matcher, y, lambda rows, t=total, n=avoid: matched(rows, t, n))
            routes[code] = route(code, CODEBOOK, scores if checked else [], outcomes, precision)
    n_features = encoder.features([""]).shape[1]
    protos = np.zeros((0, width))
    if cold_sums:
        protos = np.vstack(cold_sums)
        protos /= np.clip(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12, None)
    avoid_rows = np.vstack(cold_avoid) if cold_avoid and any(a.any() for a in cold_avoid) else None
    return _Model(
        encoder,
        model_codes,
        np.array(weights) if weights else np.zeros((0, n_features)),
        np.array(intercepts),
        cold_codes,
        protos,
        avoid_rows,
        routes,
        np.array(maps) if maps else np.zeros((0, 2)),
    )


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
        backend: str | None = None,
        precision: float = DEFAULT_PRECISION,
    ) -> None:
        if calibration is not None and calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)} or None, not {calibration!r}")
        if not 0.0 < precision <= 1.0:
            raise ValueError(f"precision must be in (0, 1], not {precision!r}")
        self.codebook = list(codebook)
        self.calibration = calibration
        self.min_positives = min_positives
        self.c = c
        self.max_features = max_features  # bounds memory: weights are dense (codes x features)
        self.seed = seed
        self.backend = backend  # None: embeddings when the extra is installed, else TF-IDF
        self.precision = precision
        self._model = _EMPTY
        self._lock = threading.Lock()
        self._generation = 0
        if self.codebook:
            self._model = self._train({}, {})

    def _train(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]],
               feedback: Sequence[tuple[str, str, bool]] = ()) -> _Model:
        return _train(units, labels, self.codebook, self.min_positives, self.c, self.max_features, self.seed,
                      self.calibration, self.backend, self.precision, feedback=feedback)

    def fit(self, units: Mapping[str, str], labels: Mapping[str, frozenset[str]],
            feedback: Sequence[tuple[str, str, bool]] = ()) -> CodeSuggester:
        """Train on the coded units (``labels`` keys) and swap the new model in.

        ``feedback``: (text, code, accepted) decisions on answers outside ``labels``; they calibrate thresholds.
        """
        with self._lock:
            self._generation += 1
        model = self._train(units, labels, feedback)
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

    @property
    def routes(self) -> dict[str, Route]:
        """Map each code the suggester knows to its route (source, calibrated threshold)."""
        return dict(self._model.routes)

    @property
    def backend_name(self) -> str | None:
        """Return the text representation in use ("tfidf" or "embeddings"; None before any text)."""
        encoder = self._model.encoder
        return encoder.name if encoder is not None else None

    def suggest_routed(self, texts: Sequence[str], floor: float, top: int | None = None) -> list[list[Suggestion]]:
        """Return, per text, only the suggestions that reach their code's calibrated threshold and ``floor``.

        A code not calibrated yet (too few coded answers: the cold start) is held to ``floor`` alone.
        """
        model = self._model
        out = []
        for row in model.score(texts):
            # A score of 0 (nothing in common with the code's profile) is no evidence, whatever the floor.
            kept = [s for s in row if s.probability > 0 and s.code in model.routes
                    and model.routes[s.code].passes(s.probability, floor)]
            kept.sort(key=lambda s: (-s.probability, s.code))
            out.append(kept[:top] if top is not None else kept)
        return out

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
