"""Randomization lists: permuted blocks with a ratio, block sizes and strata, reproducible from a seed.

Each stratum gets its own list, drawn from its own generator seeded with a SHA-256 of (seed, stratum), so the
same seed gives the same lists on any machine and Python version, and adding a stratum changes no other list.
A block's size is drawn from the given sizes (several sizes keep the next allocation hard to guess at the end of
a block); it holds each arm exactly ratio x (size / sum of the ratio) times, in random order. Lists are made of
whole blocks, so every stratum stays balanced to within half the largest block at any point.

Storing the list, concealing it until each participant is enrolled and exporting it are the studies' job (they
need tables this package does not have); this module only draws the list.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PER_STRATUM = 100_000


class RandomizationError(ValueError):
    """Arms, ratio, block sizes or strata that cannot make a list; the message says which and why."""


@dataclass(frozen=True)
class Allocation:
    """One line of the list: the n-th participant enrolled in a stratum goes to *arm*."""

    stratum: str
    sequence: int  # 1-based within the stratum
    block: int  # 1-based within the stratum
    block_size: int
    arm: str


def parse_ratio(text: str, arms: Sequence[str]) -> tuple[int, ...]:
    """Return "2:1" as (2, 1), one whole number of at least 1 per arm."""
    parts = text.split(":")
    try:
        ratio = tuple(int(p) for p in parts)
    except ValueError:
        raise RandomizationError(f"ratio '{text}' must be whole numbers separated by ':' (e.g. 1:1)") from None
    if len(ratio) != len(arms):
        raise RandomizationError(f"ratio '{text}' has {len(ratio)} parts for {len(arms)} arms ({', '.join(arms)})")
    if any(r < 1 for r in ratio):
        raise RandomizationError(f"ratio '{text}': every part must be at least 1")
    return ratio


def _check(arms: Sequence[str], ratio: Sequence[int], block_sizes: Sequence[int], strata: Sequence[str],
           per_stratum: int) -> None:
    if len(arms) < 2 or len(set(arms)) != len(arms) or not all(a.strip() for a in arms):
        raise RandomizationError(f"arms must be two or more different names; got {', '.join(arms) or 'none'}")
    if len(ratio) != len(arms) or any(r < 1 for r in ratio):
        raise RandomizationError("the ratio needs one whole number of at least 1 per arm")
    unit = sum(ratio)
    if not block_sizes:
        raise RandomizationError("give at least one block size")
    for size in block_sizes:
        if size < unit or size % unit:
            raise RandomizationError(f"block size {size} is not a multiple of {unit} (the sum of the ratio "
                                     f"{':'.join(map(str, ratio))}), so a block could not keep the ratio")
    if not strata or len(set(strata)) != len(strata):
        raise RandomizationError("strata must be one or more different names")
    if not 1 <= per_stratum <= MAX_PER_STRATUM:
        raise RandomizationError(f"participants per stratum must be from 1 to {MAX_PER_STRATUM:,}")


def _generator(seed: int, stratum: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{stratum}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def allocation_list(arms: Sequence[str], ratio: Sequence[int], block_sizes: Sequence[int], strata: Sequence[str],
                    per_stratum: int, seed: int) -> list[Allocation]:
    """Return the list: for each stratum, whole permuted blocks until at least *per_stratum* places."""
    _check(arms, ratio, block_sizes, strata, per_stratum)
    unit = sum(ratio)
    sizes = sorted(set(block_sizes))
    found: list[Allocation] = []
    for stratum in strata:
        rng = _generator(seed, stratum)
        sequence, block = 0, 0
        while sequence < per_stratum:
            block += 1
            size = rng.choice(sizes)
            content = [arm for arm, r in zip(arms, ratio, strict=True) for _ in range(r * size // unit)]
            rng.shuffle(content)
            for arm in content:
                sequence += 1
                found.append(Allocation(stratum, sequence, block, size, arm))
    return found
