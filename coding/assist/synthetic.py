"""Generate multi-coder coded answers with known themes, for tests and benchmarks.

Each answer is built from one or two planted themes (each theme has its own vocabulary, including
inflected variants so stemming matters) mixed with words every theme shares. Three simulated coders code
each answer: each misses a true code with probability ``error_rate`` and adds a wrong one with probability
``error_rate / 3`` per absent code. The truth is the consensus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Path, definition, example, vocabulary. The vocabularies overlap on purpose ("staff", "time"): a
# suggester that merely counts words of one list must not score perfectly.
THEMES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Care/Communication", "Staff explained, informed or listened to the patient.",
     "The doctor explained everything and listened to my questions.",
     ("explained", "explaining", "informed", "listened", "listening", "questions", "answered", "clear",
      "information", "told", "understand", "doctor")),
    ("Care/Emotional support", "The patient felt supported, reassured or cared for.",
     "The nurses supported me and I felt reassured.",
     ("supported", "supporting", "support", "reassured", "comforting", "kind", "caring", "anxious",
      "compassion", "felt", "nurses", "lonely")),
    ("Organisation/Waiting", "Delays, waiting times, queues and appointments.",
     "I waited four hours before anyone saw me.",
     ("waited", "waiting", "wait", "delay", "delayed", "hours", "queue", "appointment", "late", "slow",
      "cancelled", "time")),
    ("Organisation/Staffing", "Too few staff, overworked or rushed staff.",
     "The ward was understaffed and the nurses were rushed off their feet.",
     ("understaffed", "staff", "shortage", "overworked", "rushed", "busy", "shifts", "agency", "tired",
      "stretched", "workload", "nurses")),
    ("Environment/Cleanliness", "Hygiene and cleanliness of rooms, toilets and wards.",
     "The toilets were dirty and the bins overflowing.",
     ("clean", "cleaned", "dirty", "hygiene", "toilets", "spotless", "dust", "bins", "washed", "smell",
      "bathroom", "room")),
    ("Environment/Food", "Meals, drinks and catering.",
     "The food was cold and the menu had no vegetarian choice.",
     ("food", "meals", "meal", "menu", "tasty", "cold", "breakfast", "drinks", "hungry", "vegetarian",
      "portions", "tea")),
)

# Themes that no code in the codebook covers: answers about them are what candidate themes must find.
UNCODED_THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Parking", ("parking", "parked", "car", "fees", "ticket", "spaces", "expensive", "drive", "park")),
    ("Noise at night", ("noise", "noisy", "night", "sleep", "slept", "beeping", "loud", "awake", "snoring")),
)

_SHARED = ("hospital", "ward", "day", "stay", "really", "always", "patient", "experience", "good", "bad",
           "overall", "the", "was", "and", "very", "my", "we", "it", "a")


@dataclass
class SyntheticData:
    """A generated data set: texts, true codes, per-coder codes and the codebook as plain tuples."""

    units: dict[str, str]
    truth: dict[str, frozenset[str]]
    codings: dict[str, dict[str, frozenset[str]]]
    codebook: list[tuple[str, str, str]]
    coders: list[str] = field(default_factory=list)
    planted: dict[str, str] = field(default_factory=dict)  # unit id -> uncoded theme name


def _sentence(rng: random.Random, vocabulary: tuple[str, ...]) -> str:
    chosen = rng.sample(vocabulary, rng.randint(3, 5)) + rng.sample(_SHARED, rng.randint(2, 4))
    rng.shuffle(chosen)
    return " ".join(chosen).capitalize() + "."


def make_answer(rng: random.Random, vocabularies: list[tuple[str, ...]]) -> str:
    """Return one answer about the given theme vocabularies, one or two sentences each."""
    sentences = [_sentence(rng, v) for v in vocabularies for _ in range(rng.randint(1, 2))]
    return " ".join(sentences)


def make_dataset(
    n_units: int = 300,
    n_coders: int = 3,
    error_rate: float = 0.1,
    uncoded: int = 0,
    seed: int = 0,
) -> SyntheticData:
    """Generate ``n_units`` coded answers plus ``uncoded`` answers about themes outside the codebook."""
    rng = random.Random(seed)
    codes = [t[0] for t in THEMES]
    coders = [f"coder{i + 1}" for i in range(n_coders)]
    data = SyntheticData(units={}, truth={}, codings={}, coders=coders,
                         codebook=[(path, definition, example) for path, definition, example, _ in THEMES])
    for i in range(n_units):
        uid = f"u{i:06d}"
        picked = rng.sample(range(len(THEMES)), 1 if rng.random() < 0.6 else 2)
        data.units[uid] = make_answer(rng, [THEMES[j][3] for j in picked])
        truth = frozenset(codes[j] for j in picked)
        data.truth[uid] = truth
        data.codings[uid] = {}
        for coder in coders:
            applied = {c for c in codes if (c in truth) != (rng.random() < (error_rate if c in truth
                                                                          else error_rate / 3))}
            data.codings[uid][coder] = frozenset(applied)
    for i in range(uncoded):
        uid = f"x{i:06d}"
        name, vocabulary = UNCODED_THEMES[i % len(UNCODED_THEMES)]
        data.units[uid] = make_answer(rng, [vocabulary])
        data.planted[uid] = name
    return data
