"""The reach report from interaction records: by department, per month, per program year, length."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from paper_data import submit

from exports.reach import add_months, months_between, reach_report
from instrument import load_instrument

INSTRUMENT = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "interaction-record.yaml")
DEPARTMENTS = INSTRUMENT.question("department").choices

# (date, department, minutes or "" when not recorded)
RECORDS = [
    ("2019-06-03", "em", "60"), ("2019-06-17", "em", "30"), ("2019-06-28", "icu", ""),
    ("2019-08-01", "em", "45"), ("2019-08-09", "em", "90"), ("2019-08-15", "anesthesia", "120"),
    ("2019-08-20", "hospitalists", "60"), ("2019-08-31", "em", "15"),
    ("2019-09-12", "obgyn", "180"),
    ("2019-11-02", "em", "10"), ("2019-11-30", "icu", "75"),
    ("2019-12-05", "em", "40"),  # after the period: left out
]


def forms() -> list[dict[str, str]]:
    return [{"interaction_date": day, "department": dept, "length_minutes": minutes, "contact": "first"}
            for day, dept, minutes in RECORDS]


def test_report_matches_hand_computed_values():
    records = [submit(INSTRUMENT, f) for f in forms()]
    report = reach_report(records, DEPARTMENTS, start=dt.date(2019, 6, 1), end=dt.date(2019, 11, 30))
    assert report.interactions == 11 and report.outside_period == 1
    counts = {code: n for code, _label, n in report.by_department}
    assert counts == {"afm": 0, "anesthesia": 1, "em": 6, "geriatrics": 0, "hns": 0, "hospitalists": 1,
                      "icu": 2, "mfs": 0, "obgyn": 1, "peds_hospitalists": 0, "picu": 0}
    # Months Jun..Nov 2019: 3, 0, 5, 1, 0, 2 (empty months count as 0).
    assert [n for _, n in report.by_month] == [3, 0, 5, 1, 0, 2]
    spread = report.per_month
    assert (spread.n, spread.mean, spread.median, spread.minimum, spread.maximum) == (6, 11 / 6, 1.5, 0, 5)
    # Lengths 60 30 45 90 120 60 15 180 10 75 (one record without): mean 68.5, median 60, range 10-180.
    length = report.length
    assert report.length_recorded == 10
    assert (length.mean, length.median, length.minimum, length.maximum) == (68.5, 60, 10, 180)
    [year] = report.by_year
    assert (year.number, year.months, year.interactions) == (1, 6, 11)


def test_program_years_are_twelve_month_blocks_from_the_start():
    days = ["2019-06-10", "2019-06-11", "2020-05-31", "2020-06-01", "2020-06-02", "2020-07-01", "2020-12-24",
            "2021-01-31"]
    records = [{"interaction_date": d, "department": "em"} for d in days]
    report = reach_report(records, DEPARTMENTS, start=dt.date(2019, 6, 1), end=dt.date(2021, 1, 31))
    first, second = report.by_year
    assert (first.first_month, first.last_month, first.months, first.interactions) == \
        (dt.date(2019, 6, 1), dt.date(2020, 5, 1), 12, 3)
    assert (second.first_month, second.last_month, second.months, second.interactions) == \
        (dt.date(2020, 6, 1), dt.date(2021, 1, 1), 8, 5)
    assert second.per_month == 5 / 8
    assert "Program year 2 covers only 8 months so far." in report.notes
    assert report.length is None and report.length_recorded == 0


def test_default_period_is_first_to_last_record():
    records = [{"interaction_date": "2020-02-10"}, {"interaction_date": "2020-04-01"}]
    report = reach_report(records, DEPARTMENTS)
    assert (report.start, report.end) == (dt.date(2020, 2, 10), dt.date(2020, 4, 1))
    assert [n for _, n in report.by_month] == [1, 0, 1]
    assert report.by_department[-1] == ("", "Not recorded", 2)


def test_month_arithmetic():
    assert add_months(dt.date(2019, 11, 1), 3) == dt.date(2020, 2, 1)
    assert months_between(dt.date(2019, 12, 31), dt.date(2020, 1, 1)) == [dt.date(2019, 12, 1),
                                                                          dt.date(2020, 1, 1)]
    with pytest.raises(ValueError, match="ends"):
        reach_report([], DEPARTMENTS, start=dt.date(2020, 2, 1), end=dt.date(2020, 1, 1))


TITLES = ("Interactions by department", "Interactions per month", "Interactions per program year",
          "Length of interactions (minutes)")


def _blocks(ws) -> dict[str, dict]:
    """Return the Reach sheet's tables: {title: {first cell: the other cells}}."""
    blocks: dict[str, dict] = {}
    current: dict = {}
    for row in ws.iter_rows(values_only=True):
        if row[0] in TITLES:
            current = blocks[row[0]] = {}
        elif row[0] is not None:
            current[row[0]] = list(row[1:])
    return blocks


def _cells(ws) -> dict[str, list]:
    return {r[0]: list(r[1:]) for r in ws.iter_rows(values_only=True) if r[0] is not None}
