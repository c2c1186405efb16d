"""The instrument loader raises nothing but InvalidInstrument, for any text (hypothesis, derandomized).

The harden run tries >= 10,000 instruments and prints how many, the uncaught exceptions and the slowest; the
normal suite runs 200 of the same plus every known crash. No timing is asserted: the slowest is printed.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from instrument_fuzz import SPECIAL_TEXTS, instrument_texts

from instrument import InvalidInstrument, parse_instrument


def _fuzz(examples: int) -> tuple[int, list[str], list[tuple[float, str]]]:
    tried = 0
    uncaught: list[str] = []
    slowest: list[tuple[float, str]] = []
    outcomes: Counter[str] = Counter()

    def attempt(text: str) -> None:
        nonlocal tried
        tried += 1
        started = time.perf_counter()
        try:
            parse_instrument(text, "fuzz.yaml")
            outcomes["valid"] += 1
        except InvalidInstrument as exc:
            outcomes["refused"] += 1
            assert str(exc).startswith("fuzz.yaml:"), exc
        except Exception as exc:  # noqa: BLE001 - counting every kind is the point
            uncaught.append(f"{type(exc).__name__}: {str(exc)[:200]} <- {text[:120]!r}\n"
                            + "".join(traceback.format_exc(limit=-3)))
        took = time.perf_counter() - started
        slowest.append((took, text[:60]))
        slowest.sort(reverse=True)
        del slowest[5:]

    for text in SPECIAL_TEXTS:
        attempt(text)

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(instrument_texts)
    def run(text: str) -> None:
        attempt(text)

    run()
    print(f"\nharden: instrument loader: {tried} instruments tried ({outcomes['valid']} valid, "
          f"{outcomes['refused']} refused), {len(uncaught)} uncaught exceptions, slowest "
          + ", ".join(f"{t:.3f} s ({s!r})" for t, s in slowest[:3]))
    return tried, uncaught, slowest


def test_known_crashes_and_a_fuzz_sample_raise_only_invalid_instrument() -> None:
    tried, uncaught, _ = _fuzz(200)
    assert tried >= 200 + len(SPECIAL_TEXTS) - 1
    assert not uncaught, "\n".join(uncaught[:5])


@pytest.mark.harden
def test_ten_thousand_fuzzed_instruments_raise_only_invalid_instrument() -> None:
    tried, uncaught, _ = _fuzz(10_000)
    assert tried >= 10_000
    assert not uncaught, "\n".join(uncaught[:10])
