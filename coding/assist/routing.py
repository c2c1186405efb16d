"""Knowing when to stay silent: per-code score thresholds calibrated to a precision the team sets.

A suggestion is shown only when its code's score reaches that code's threshold. The threshold is the lowest
score at which the suggestions scored out of fold (or, for the codebook matcher, which never saw the labels,
scored on the coded units) were right often enough: the Wilson lower bound (z = 1, about an 84% one-sided
bound) of their precision reaches the target. A code whose suggestions never get there is silent
(threshold ``inf``): "suggest nothing" is a normal outcome. A code with no coded units to check it on yet (the
cold start) has no threshold (None), and the caller decides (the coding screen then uses the reviewer's own
minimum score and says the suggestion is not calibrated yet).

NumPy loads inside the functions that need it, so the web pages can name these without loading it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    Scores = Sequence[float] | np.ndarray
    Outcomes = Sequence[bool] | np.ndarray

DEFAULT_PRECISION = 0.9
WILSON_Z = 1.0
SILENT = math.inf


def wilson_lower(successes: int, trials: int, z: float = WILSON_Z) -> float:
    """Return the Wilson score interval's lower bound for ``successes`` out of ``trials`` (0 when no trials)."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z * z / trials))


def threshold_for(scores: Scores, outcomes: Outcomes, precision: float = DEFAULT_PRECISION,
                  z: float = WILSON_Z) -> float:
    """Return the lowest score whose suggestions at or above it reach ``precision`` (Wilson bound); else SILENT.

    Ties are kept together: a threshold admits every pair with that score.
    """
    import numpy as np

    s = np.asarray(scores, dtype=float)
    y = np.asarray(outcomes, dtype=bool)
    if not len(s) or not y.any():
        return SILENT
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    hits = np.cumsum(y)
    # Only the last pair of each run of equal scores is a possible cut.
    cuts = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    best = SILENT
    for k in cuts:
        if wilson_lower(int(hits[k]), int(k) + 1, z) >= precision:
            best = float(s[k])
    return best


@dataclass(frozen=True)
class Route:
    """How one code's suggestions are routed: source, threshold (None: not calibrated) and the figures behind it."""

    code: str
    source: str
    threshold: float | None
    checked_on: int = 0  # coded units the threshold was calibrated on
    positives: int = 0  # of which carry the code
    shown: int = 0  # of which score at or above the threshold
    right: int = 0  # of which carry the code
    probability: bool = False  # scores are calibrated probabilities (else a codebook similarity)

    @property
    def silent(self) -> bool:
        """Say whether this code is never suggested (its suggestions never reached the precision)."""
        return self.threshold == SILENT

    def passes(self, score: float, floor: float) -> bool:
        """Say whether a suggestion with ``score`` is shown: at its threshold and the reviewer's ``floor``.

        A code not calibrated yet is held to ``floor`` alone.
        """
        return score >= (floor if self.threshold is None else max(self.threshold, floor))


def route(code: str, source: str, scores: Scores, outcomes: Outcomes,
          precision: float = DEFAULT_PRECISION, z: float = WILSON_Z, probability: bool = False) -> Route:
    """Return the route of one code calibrated on (score, has the code) pairs of coded units."""
    import numpy as np

    if not len(scores):
        return Route(code, source, None, probability=probability)
    threshold = threshold_for(scores, outcomes, precision, z)
    s = np.asarray(scores, dtype=float)
    y = np.asarray(outcomes, dtype=bool)
    above = s >= threshold
    return Route(code, source, threshold, len(s), int(y.sum()), int(above.sum()), int((above & y).sum()),
                 probability)
