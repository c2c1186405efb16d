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
from instrument_fuzz import SPECIAL_TEXTS, _laughs, _many_choices, instrument_texts

from instrument import InvalidInstrument, load_instrument, parse_instrument


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


def _refusal(text: str) -> str:
    with pytest.raises(InvalidInstrument) as caught:
        parse_instrument(text, "x.yaml")
    return str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("title: " + "[" * 65 + "]" * 65 + "\n", "x.yaml:1: nested more than 64 levels deep"),
    (_laughs(10, 9), "x.yaml:6: more than 100,000 values (aliases counted each time they are used)"),
    ("id: x\nversion: " + "9" * 4301 + "\n", "x.yaml:2: a number of more than 100 characters"),
    ("id: x\nversion: !!int abc\n", "x.yaml:2: tags such as 'tag:yaml.org,2002:int' are not allowed"),
    ("id: x\ntitle: !!binary AAAA\n", "x.yaml:2: tags such as 'tag:yaml.org,2002:binary' are not allowed"),
    ("id: x\nversion: 0b_\n", "x.yaml:2: '0b_' is not a valid whole number"),
    ("x" * 1_000_001, "x.yaml:1: 1,000,001 characters; the limit is 1,000,000"),
    (_many_choices(1_001), "x.yaml:10: question 'q': 1001 choices; the limit is 1000"),
    ("id: big\nversion: 1000001\n", "x.yaml:2: 'version' is required: a whole number from 1 to 1000000"),
])
def test_each_bound_is_named_with_its_line(text: str, message: str):
    # Every error is reported at once, one per line: the bound's is one of them (a fragment lacks title etc.).
    assert any(line.startswith(message) for line in _refusal(text).splitlines()), _refusal(text)


def test_a_duplicate_is_found_at_the_end_of_a_long_list():
    text = _many_choices(1_000).replace("{code: c999,", "{code: c0,")
    assert "duplicate choice code 'c0'" in _refusal(text)


def test_a_date_like_value_is_text():
    text = ("id: x\nversion: 1\ntitle: 2023-02-30\nsections:\n  - id: s\n    questions:\n"
            "      - {id: q, type: text, text: A question}\n")
    assert parse_instrument(text, "x.yaml").title == "2023-02-30"


def test_a_file_over_the_limit_is_not_read_whole(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 3_000_000)
    with pytest.raises(InvalidInstrument, match="big.yaml:1: larger than 1,000,000 bytes"):
        load_instrument(big, "big.yaml")
