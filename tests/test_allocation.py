"""Randomization lists: reproducible from the seed, balanced in every block of every stratum, bad input refused."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest

from instrument.allocation import RandomizationError, allocation_list, parse_ratio

STRATA = ["Emergency Medicine", "Hospitalists", "ICU"]


def test_same_seed_same_list_other_seed_other_list():
    one = allocation_list(["coaching", "control"], (1, 1), (2, 4), STRATA, 40, seed=2026)
    assert one == allocation_list(["coaching", "control"], (1, 1), (2, 4), STRATA, 40, seed=2026)
    assert [a.arm for a in one] != [a.arm for a in allocation_list(["coaching", "control"], (1, 1), (2, 4),
                                                                    STRATA, 40, seed=2027)]


def test_adding_a_stratum_leaves_the_others_alone():
    before = allocation_list(["a", "b"], (1, 1), (4,), STRATA[:2], 20, seed=5)
    after = allocation_list(["a", "b"], (1, 1), (4,), STRATA, 20, seed=5)
    assert [x for x in after if x.stratum != "ICU"] == before


@pytest.mark.parametrize(("ratio", "sizes"), [((1, 1), (2, 4)), ((2, 1), (3, 6)), ((1, 1, 2), (4, 8))])
def test_every_block_of_every_stratum_keeps_the_ratio(ratio, sizes):
    arms = ["a", "b", "c"][:len(ratio)]
    found = allocation_list(arms, ratio, sizes, STRATA, 70, seed=11)
    for stratum in STRATA:
        places = [x for x in found if x.stratum == stratum]
        assert len(places) >= 70 and [x.sequence for x in places] == list(range(1, len(places) + 1))
        for _, block in groupby(places, key=lambda x: x.block):
            block = list(block)
            size = block[0].block_size
            assert size in sizes and len(block) == size
            counts = Counter(x.arm for x in block)
            assert [counts[a] for a in arms] == [r * size // sum(ratio) for r in ratio]
        # at any point the imbalance against the ratio is at most half the largest block
        running = Counter()
        for x in places:
            running[x.arm] += 1
            n = sum(running.values())
            assert all(abs(running[a] - n * r / sum(ratio)) <= max(sizes) / 2 for a, r in zip(arms, ratio, strict=True))
    sizes_used = {x.block_size for x in found}
    assert sizes_used == set(sizes)  # control: both block sizes are drawn, so the test sees both


def test_a_list_without_blocks_would_fail_the_balance_check():
    # control for the balance test: a simple coin-flip list drifts beyond half a block somewhere
    import random

    rng = random.Random(1)
    running = Counter()
    worst = 0.0
    for n in range(1, 71):
        running[rng.choice("ab")] += 1
        worst = max(worst, abs(running["a"] - n / 2))
    assert worst > 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"block_sizes": (3,)}, "block size 3 is not a multiple of 2"),
    ({"arms": ["a", "a"]}, "two or more different names"),
    ({"ratio": (1,)}, "one whole number of at least 1 per arm"),
    ({"block_sizes": ()}, "at least one block size"),
    ({"strata": ["x", "x"]}, "strata must be one or more different names"),
    ({"per_stratum": 0}, "participants per stratum"),
])
def test_impossible_settings_are_refused(kwargs, message):
    settings = {"arms": ["a", "b"], "ratio": (1, 1), "block_sizes": (2, 4), "strata": ["all"], "per_stratum": 10,
                "seed": 1, **kwargs}
    with pytest.raises(RandomizationError, match=message):
        allocation_list(**settings)


def test_ratio_text():
    assert parse_ratio("2:1", ["a", "b"]) == (2, 1)
    with pytest.raises(RandomizationError, match="3 parts for 2 arms"):
        parse_ratio("1:1:1", ["a", "b"])
    with pytest.raises(RandomizationError, match="whole numbers"):
        parse_ratio("1:x", ["a", "b"])
