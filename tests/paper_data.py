"""The department survey's answer sheets whose counts are the paper's, and how to read a workbook table.

Plain data and instrument checks only: the tests of the plain libraries use these without the web app.
"""

from __future__ import annotations

from typing import Any

from exports.imports import Form
from instrument import Instrument, parse_section, settle

DEPARTMENTS = ["em"] * 30 + ["obgyn"] * 15 + ["hospitalists"] * 12 + ["icu"] * 10 + ["anesthesia"] * 8


def paper_forms() -> list[dict[str, Any]]:
    """Return the 75 department-survey answer sheets whose counts are the paper's (PLOS ONE 2023, Results)."""
    forms = []
    for i in range(75):
        form: dict[str, Any] = {"department": DEPARTMENTS[i], "gender": "woman" if i % 2 else "man",
                                "aware": "yes" if i < 66 else "no"}
        j = i  # the 66 aware respondents are i = 0..65
        if i < 66:
            form["referred_colleague"] = "yes" if j < 30 else "no"
            form["self_referred"] = "yes" if j >= 50 else "no"
            form["interaction"] = "had" if j < 32 else "declined" if j < 40 else "never"
            if j < 32:
                form["interaction_count"] = "one" if j < 14 else "two" if j < 25 else "three_plus"
                form["helpfulness"] = "1" if j == 31 else "5" if j < 20 else "4"
                form["wellbeing_change"] = "improved" if j < 27 else "unchanged"
                form["emotions_comfort"] = "more" if j < 24 else "same"
            # Satisfaction: 26 very satisfied, 18 satisfied, 18 neutral, 2 dissatisfied, 2 left empty (n = 64).
            if j < 26:
                form["satisfaction"] = "5"
            elif j < 29 or 32 <= j < 47:
                form["satisfaction"] = "4"
            elif j < 32 or 47 <= j < 62:
                form["satisfaction"] = "3"
            elif j < 64:
                form["satisfaction"] = "2"
            form["recommend"] = ("5" if j < 30 else "4" if j < 55 else "3") if j < 65 else ""
            form["department_impact"] = "5" if j < 40 else "4" if j < 55 else "3"
            barriers = []
            if j < 36:
                barriers.append("time")
            if 36 <= j < 52:
                barriers.append("no_need")
            if j < 12:
                barriers.append("privacy")
            if 20 <= j < 32:
                barriers.append("discomfort")
            if 60 <= j < 62:
                barriers.append("medicolegal")
            form["barriers"] = barriers
            if j % 3 == 0:
                form["benefits_text"] = f"Respondent {j} says: it helped.\nSecond line ✓"
        forms.append(form)
    return forms


def submit(instrument: Instrument, form: dict[str, Any]) -> dict[str, Any]:
    """Validate one answer sheet exactly as the respondent pages do; return the stored answers."""
    data = Form()
    for key, value in form.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key, v)
    answers: dict[str, Any] = {}
    for section in instrument.sections:
        values, errors = parse_section(section, data, answers)
        assert not errors, errors
        answers.update(values)
    settled, errors = settle(instrument, answers)
    assert not errors, errors
    return settled


def table(ws, question_id: str) -> dict[str, Any]:
    """Return a question's table from a sheet: its note and {row label: row cells}."""
    rows = list(ws.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if isinstance(row[0], str) and row[0].startswith(f"{question_id}: "):
            body = {}
            for r in rows[i + 3:]:
                if r[0] is None:
                    break
                body[r[0]] = list(r[1:4])
            return {"note": rows[i + 1][0], "header": rows[i + 2], "rows": body}
    raise AssertionError(f"no table for {question_id} on sheet {ws.title}")
