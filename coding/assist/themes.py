"""Candidate themes among answers no code fits: NMF topics over TF-IDF, shown with surface words.

Themes are offered to the investigators as leads for the constant comparative method; nothing here adds a
code to the codebook.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

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
    units: Mapping[str, str], n_themes: int = 5, n_terms: int = 8, n_examples: int = 3, seed: int = 0
) -> list[Theme]:
    """Cluster ``units`` (uncoded, or from ``no_fit_queue``) into candidate themes, largest first."""
    ids = [u for u in units if analyze(units[u])]
    if not ids:
        return []
    texts = [units[u] for u in ids]
    # A term seen in one answer only cannot characterise a theme; tiny sets keep every term.
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=2 if len(ids) >= 20 else 1)
    x = vectorizer.fit_transform(texts)
    k = max(1, min(n_themes, len(ids), x.shape[1]))
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=2000, tol=1e-4)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # Not converged after 2,000 iterations (many themes asked of few answers): the factors found are still
        # candidates a person reads and judges, so they are shown rather than failing the page. An exact fit
        # (one answer) makes the unused reconstruction error the square root of a rounding error below zero.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = nmf.fit_transform(x)
    features = vectorizer.get_feature_names_out()
    forms = surface_forms(texts)
    assigned = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    themes = []
    for topic in range(k):
        members = np.flatnonzero(assigned == topic)
        if not len(members):
            continue
        members = members[np.argsort(-weights[members, topic], kind="stable")]
        top = np.argsort(-nmf.components_[topic], kind="stable")[:n_terms]
        terms = [feature_surface(features[j], forms) for j in top if nmf.components_[topic, j] > 0]
        themes.append(Theme(terms, [ids[i] for i in members], [texts[i] for i in members[:n_examples]]))
    themes.sort(key=lambda t: (-len(t.unit_ids), t.terms))
    return themes
