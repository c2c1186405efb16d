"""Candidate themes among answers no code fits: topics over TF-IDF or clusters of embeddings, with surface words.

The backend is chosen as for suggestions (``coding.assist.encoders.resolve``):

- ``tfidf``: NMF over the answers' TF-IDF (stems and bigrams); a theme is a topic, its terms the topic's
  heaviest, its answers those whose strongest topic it is, most typical (heaviest) first.
- ``embeddings``: k-means over the answers' sentence embeddings (unit length, so close to clustering by
  cosine), which groups answers that say the same in different words; a theme is a cluster, its answers most
  typical (closest to the centre) first, its terms those whose TF-IDF weight is highest in the cluster
  compared with the other answers, so the words still come from the answers themselves.

Themes are offered to the investigators as leads for the constant comparative method; nothing here adds a
code to the codebook.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from coding.assist.encoders import EMBEDDINGS, resolve
from coding.assist.suggest import CodeSuggester
from coding.assist.text import analyze, feature_surface, surface_forms


@dataclass(frozen=True)
class Theme:
    """A candidate theme: its strongest terms (surface words) and its answers, most typical first."""

    terms: list[str]
    unit_ids: list[str]
    examples: list[str]  # texts of the most typical answers


@dataclass(frozen=True)
class NoFit:
    """An answer whose best suggestion is weak: the best code offered and its score (None if none)."""

    unit_id: str
    best_code: str | None
    best_probability: float


def no_fit_queue(
    units: Mapping[str, str], suggester: CodeSuggester, threshold: float = 0.3
) -> list[NoFit]:
    """Return the answers whose best suggestion scores below ``threshold``, least fitting first.

    Codebook (cold-start) scores are similarities, usually lower than model probabilities; with a mostly
    cold-start suggester, choose a lower threshold.
    """
    ids = list(units)
    queue = []
    for uid, result in zip(ids, suggester.suggest_many([units[u] for u in ids]), strict=True):
        best = result[0] if result else None
        score = best.probability if best else 0.0
        if score < threshold:
            queue.append(NoFit(uid, best.code if best else None, score))
    queue.sort(key=lambda n: (n.best_probability, n.unit_id))
    return queue


def candidate_themes(
    units: Mapping[str, str], n_themes: int = 5, n_terms: int = 8, n_examples: int = 3, seed: int = 0,
    backend: str | None = None,
) -> list[Theme]:
    """Group ``units`` (uncoded, or from ``no_fit_queue``) into candidate themes, largest first.

    ``backend``: "tfidf" or "embeddings"; None takes embeddings when the extra is installed.
    """
    ids = [u for u in units if analyze(units[u])]
    if not ids:
        return []
    texts = [units[u] for u in ids]
    # A term seen in one answer only cannot characterise a theme; tiny sets keep every term.
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=2 if len(ids) >= 20 else 1)
    x = vectorizer.fit_transform(texts)
    if resolve(backend) == EMBEDDINGS:
        weights, components = _clusters(x, texts, n_themes, seed)
    else:
        weights, components = _topics(x, n_themes, seed)
    features = vectorizer.get_feature_names_out()
    forms = surface_forms(texts)
    assigned = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    themes = []
    for topic in range(len(components)):
        members = np.flatnonzero(assigned == topic)
        if not len(members):
            continue
        members = members[np.argsort(-weights[members, topic], kind="stable")]
        top = np.argsort(-components[topic], kind="stable")[:n_terms]
        terms = [feature_surface(features[j], forms) for j in top if components[topic, j] > 0]
        themes.append(Theme(terms, [ids[i] for i in members], [texts[i] for i in members[:n_examples]]))
    themes.sort(key=lambda t: (-len(t.unit_ids), t.terms))
    return themes


def _topics(x: Any, n_themes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return NMF's answer x topic weights and topic x term weights."""
    k = max(1, min(n_themes, x.shape[0], x.shape[1]))
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=2000, tol=1e-4)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # Not converged after 2,000 iterations (many themes asked of few answers): the factors found are still
        # candidates a person reads and judges, so they are shown rather than failing the page. An exact fit
        # (one answer) makes the unused reconstruction error the square root of a rounding error below zero.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = nmf.fit_transform(x)
    return weights, nmf.components_


def _clusters(x: Any, texts: list[str], n_themes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return k-means clusters of the embeddings as answer x cluster weights, and each cluster's term weights.

    An answer's weight is its cosine with its own cluster's centre (0 for the other clusters); a term's
    weight is its mean TF-IDF in the cluster less its mean over the other answers.
    """
    from coding.assist.embeddings import embedder

    vectors = embedder().embed(texts)
    # More clusters than distinct answers would leave some empty (and k-means warns).
    k = max(1, min(n_themes, len(np.unique(vectors.round(6), axis=0))))
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)
    weights = np.zeros((len(texts), k))
    terms = np.zeros((k, x.shape[1]))
    for cluster in range(k):
        members = labels == cluster
        centre = vectors[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        # Floor above 0: an answer belongs to its own cluster even when its cosine with the centre is not positive.
        weights[members, cluster] = np.maximum(vectors[members] @ centre, 1e-9)
        inside = np.asarray(x[members].mean(axis=0)).ravel()
        terms[cluster] = inside - np.asarray(x[~members].mean(axis=0)).ravel() if (~members).any() else inside
    return weights, terms
