"""The parts of a code's scorers: the codebook matcher's profile, the calibrated regression, Platt's map.

Kept apart from ``coding.assist.suggest``, which puts them together per code and decides which one scores it.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

CALIBRATION_FOLDS = 3
# How much an answer's similarity with a code's "not when" text lowers its match: at 1, an answer as close to
# what the code is not as to what it is scores 0.
NOT_WHEN_WEIGHT = 1.0


def cosines(vectors: sp.csr_matrix | np.ndarray, prototypes: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """Return the clipped cosine similarities of unit-length rows with unit-length prototypes."""
    product = vectors @ prototypes.T
    dense = product.toarray() if sp.issparse(product) else np.asarray(product)
    return np.clip(dense, 0.0, 1.0)


def penalised(scores: np.ndarray, vectors: sp.csr_matrix | np.ndarray, avoid: np.ndarray | None) -> np.ndarray:
    """Lower matcher scores by the answers' similarity with the code's "not when" text (unit length; None: none)."""
    if avoid is None or not len(scores):
        return scores
    return np.clip(scores - NOT_WHEN_WEIGHT * cosines(vectors, avoid[None, :]).ravel(), 0.0, 1.0)


def dense(matrix: sp.csr_matrix | np.ndarray) -> np.ndarray:
    return cast(Any, matrix).toarray() if sp.issparse(matrix) else np.asarray(matrix)


def matcher_profile(book: np.ndarray | None, vectors: sp.csr_matrix | np.ndarray, y: np.ndarray,
             width: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return a code's prototype (unnormalised) and the coded answers' cosine with it, each leaving itself out.

    The prototype is the sum of the unit-length vectors of the code's codebook text and of the answers coded
    with it, so the first few codings sharpen the cold start. A coded answer's own score is taken against
    the prototype without it, so the scores that calibrate the code's threshold never saw their own label.
    """
    total = np.zeros(width) if book is None else np.array(book, dtype=float)
    if y.any():
        total = total + np.asarray(vectors[np.flatnonzero(y)].sum(axis=0)).ravel()
    if not total.any():
        return None, None
    if not len(y):
        return total, np.zeros(0)
    dots = np.asarray(vectors @ total).ravel()
    squares = (np.asarray(cast(Any, vectors).multiply(vectors).sum(axis=1)).ravel() if sp.issparse(vectors)
               else np.einsum("ij,ij->i", vectors, vectors))
    own = np.where(y, squares, 0.0)
    norms = np.sqrt(np.clip(float(total @ total) - 2 * np.where(y, dots, 0.0) + own, 0.0, None))
    safe = np.where(norms > 1e-12, norms, 1.0)
    return total, np.clip(np.where(norms > 1e-12, (dots - own) / safe, 0.0), 0.0, 1.0)


def book_text(path: str, definition: str, example: str) -> str:
    """Return what the matcher compares answers with: the code's name, definition and example."""
    return " ".join(t for t in (path.rsplit("/", 1)[-1], definition, example) if t)


def beats(ours: float, theirs: float) -> bool:
    """Say whether one average precision beats another by more than rounding (1.0 vs 0.9999999999999999)."""
    return ours > theirs + 1e-9


def platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return (a, b) of Platt's sigmoid p = 1 / (1 + exp(-(a * score + b))), with his smoothed targets."""
    positives = float(y.sum())
    negatives = len(y) - positives
    target = np.where(y, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * scores + ab[1]
        gap = expit(z) - target
        return float(np.sum(np.logaddexp(0, z) - target * z)), np.array([gap @ scores, gap.sum()])

    start = np.array([1.0, float(np.log((positives + 1) / (negatives + 1)))])
    found = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(found.x[0]), float(found.x[1])


def fit_code(
    x: sp.csr_matrix, y: np.ndarray, c: float, seed: int, calibration: str | None
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Return one code's weights, intercept and out-of-fold probabilities (3-fold), Platt-mapped unless None."""
    lr = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    fewest = min(int(y.sum()), int(len(y) - y.sum()))
    if fewest < 2:  # nothing to hold out: plain regression, no out-of-fold scores
        lr.fit(x, y)
        return lr.coef_[0], float(lr.intercept_[0]), None
    folds = StratifiedKFold(n_splits=min(CALIBRATION_FOLDS, fewest))
    decision = cross_val_predict(lr, x, y, cv=folds, method="decision_function")
    lr.fit(x, y)
    if calibration is None:
        return lr.coef_[0], float(lr.intercept_[0]), expit(decision)
    # sigmoid(a * (w.x + b0) + b) is again a logistic model: scoring stays one sparse product.
    a, b = platt(decision, y)
    return a * lr.coef_[0], a * float(lr.intercept_[0]) + b, expit(a * decision + b)
