"""Codings as arrays, the shared input of every agreement statistic.

Input is :data:`Codings`: unit id -> coder name -> the set of codes that coder applied to the unit. A coder
missing from a unit did not code it; an empty set means the coder read it and applied no code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

Codings = Mapping[str, Mapping[str, frozenset[str]]]


@dataclass(frozen=True)
class CodingTable:
    """Codings as arrays: ``present[u, c]`` coder c coded unit u, ``applied[u, c, k]`` and applied code k.

    ``value_index[u, c]`` is the id of that coder's code set among the distinct sets ``value_sets`` (-1 where
    absent), so statistics over whole sets never compare code lists unit by unit.
    """

    units: list[str]
    coders: list[str]
    codes: list[str]
    present: np.ndarray
    applied: np.ndarray
    value_index: np.ndarray
    value_sets: np.ndarray

    @cached_property
    def m(self) -> np.ndarray:
        """Number of coders per unit."""
        return self.present.sum(axis=1)

    @cached_property
    def pairable(self) -> np.ndarray:
        """Mask of units coded by at least two coders."""
        return self.m >= 2

    @cached_property
    def n_applied(self) -> np.ndarray:
        """Number of coders applying each code, units x codes."""
        return self.applied.sum(axis=1, dtype=np.int64)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Number of codes each coder applied, units x coders (0 where absent)."""
        set_sizes = np.append(self.value_sets.sum(axis=1, dtype=np.int64), 0)
        return set_sizes[self.value_index]

    @property
    def value_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Id of each (unit, coder) code set among the distinct sets (-1 where absent), and those sets."""
        return self.value_index, self.value_sets

    @cached_property
    def single_code(self) -> bool:
        """Tell whether every coder gave exactly one code on every unit they coded."""
        return bool(np.all(self.sizes[self.present] == 1))


def coding_table(codings: Codings) -> CodingTable:
    """Turn a Codings mapping into arrays."""
    units = list(codings)
    # Python only gathers coder names and code sets (list.extend runs in C) and numbers them through dicts;
    # 50 codes x 100,000 units repeat a few thousand distinct sets, so all per-code work is done once per
    # distinct set and then gathered.
    n_coded: list[int] = []
    coder_names: list[str] = []
    values: list[Any] = []
    for per_unit in codings.values():
        n_coded.append(len(per_unit))
        coder_names.extend(per_unit)
        values.extend(per_unit.values())
    coders = sorted(set(coder_names))
    coder_ix = {c: i for i, c in enumerate(coders)}
    set_ix: dict[Any, int] = {}
    try:
        set_of = [set_ix.setdefault(v, len(set_ix)) for v in values]
    except TypeError:  # plain sets or lists are unhashable: key every value by its frozenset
        set_ix.clear()
        set_of = [set_ix.setdefault(v if isinstance(v, str) else frozenset(v), len(set_ix)) for v in values]
    for key, first_use in set_ix.items():
        if isinstance(key, str):
            # A bare string would be iterated letter by letter and silently give nonsense.
            at = set_of.index(first_use)
            unit = units[int(np.searchsorted(np.cumsum(n_coded), at, side="right"))]
            raise TypeError(f"unit {unit!r}, coder {coder_names[at]!r}: expected a set of codes, got a string")
    # set_ix numbers its keys in insertion order, so key i is row i.
    members = [code for key in set_ix for code in key]
    codes = sorted(set(members))
    code_ix = {c: i for i, c in enumerate(codes)}
    rows = np.zeros((len(set_ix), len(codes)), dtype=bool)
    rows[
        np.repeat(np.arange(len(set_ix)), [len(key) for key in set_ix]),
        np.fromiter(map(code_ix.__getitem__, members), dtype=np.int64, count=len(members)),
    ] = True
    # Keys that differ but hold the same codes (a tuple in another order, say) are one value.
    width = max(len(codes), 1)
    packed = np.ascontiguousarray(np.packbits(np.pad(rows, ((0, 0), (0, width - len(codes)))), axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, canonical = np.unique(keys, return_index=True, return_inverse=True)
    value_sets = rows[first]

    unit_of = np.repeat(np.arange(len(units)), n_coded)
    col = np.fromiter(map(coder_ix.__getitem__, coder_names), dtype=np.int64, count=len(coder_names))
    present = np.zeros((len(units), len(coders)), dtype=bool)
    present[unit_of, col] = True
    value_index = np.full((len(units), len(coders)), -1, dtype=np.int64)
    value_index[unit_of, col] = canonical.ravel()[np.fromiter(set_of, dtype=np.int64, count=len(set_of))]
    # Index -1 (absent) picks the appended all-false row.
    applied = np.concatenate([value_sets, np.zeros((1, len(codes)), dtype=bool)])[value_index]
    return CodingTable(units, coders, codes, present, applied, value_index, value_sets)


def finite(x: float) -> float | None:
    """Return x as a float, or None when it is NaN or infinite."""
    return float(x) if math.isfinite(x) else None
