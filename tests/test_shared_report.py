"""Two audiences, one rule: the team's export is exact; the shared report hides small counts so that no sum or
difference of its published cells gives one back (tables, cross-tabs, totals, months and years of reach).

The differencing check is the test's own: it reads the shared workbook, writes down every line the layout
publishes (a table's rows add up to its base, a cross-tab's rows to the overall table, its columns to the
department table, months to their year, years to the total), keeps a cell known if it is shown anywhere, and
asks whether some combination of lines (numpy's rank: any sum or difference) pins a hidden one. A control
with the weaker rule (each table protected on its own, months against the total only) leaks, so the check
can see a leak when there is one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook
from paper_data import submit

from exports import joint, reach
from exports.model import SurveyInfo
from exports.reach import reach_report, write_reach_workbook
from exports.suppress import Suppression, hidden_cells
from exports.workbook import write_workbook
from instrument import load_instrument

INSTRUMENTS = Path(__file__).resolve().parent.parent / "instruments"
SURVEY = load_instrument(INSTRUMENTS / "department-survey.yaml")
RECORDS = load_instrument(INSTRUMENTS / "interaction-record.yaml")
HIDDEN = re.compile(r"^(<\d+|x)$")
DEPARTMENTS = {"em": 26, "obgyn": 9, "hospitalists": 6, "icu": 3, "anesthesia": 1}


def small_departments() -> list[dict[str, Any]]:
    """Answers of 45 physicians from departments of 26, 9, 6, 3 and 1, aware or not, some interactions."""
    forms = []
    i = 0
    for dept, n in DEPARTMENTS.items():
        for j in range(n):
            aware = "yes" if (i * 7) % 10 < 8 else "no"
            form: dict[str, Any] = {"department": dept, "gender": ["woman", "man", "nonbinary"][(i * 5) % 7 % 3],
                                    "setting": ["hospital", "clinic", "both"][(i + j) % 3] if i % 9 else "",
                                    "aware": aware}
            if aware == "yes":
                form["interaction"] = ["had", "declined", "never", "never"][(i * 3 + j) % 4]
            forms.append(form)
            i += 1
    return forms


def number(cell: Any) -> int | None:
    """Return a published count ('7 (25.0%)' or 7), None when it is hidden ('<5', 'x')."""
    if isinstance(cell, int | float):
        return int(cell)
    if isinstance(cell, str) and HIDDEN.match(cell):
        return None
    match = re.match(r"^(\d+)", str(cell))
    assert match, cell
    return int(match.group(1))


class Published:
    """Every cell the report publishes, each under the key of the count it is (so repeats are one unknown)."""

    def __init__(self) -> None:
        self.known: dict[Hashable, int] = {}
        self.hidden: set[Hashable] = set()
        self.lines: list[tuple[Hashable | int, list[Hashable]]] = []  # (total: a key or a number, cells)

    def see(self, key: Hashable, cell: Any) -> None:
        value = number(cell)
        if value is None:
            self.hidden.add(key)
        else:
            self.known[key] = value

    def zeros(self) -> set[Hashable]:
        """Return the hidden cells of lines whose published total is 0: zero for anyone who reads that total.

        The rule (exports/suppress.py) shows zeros and accepts this: a published 0 says "nobody" of its whole
        line, so a small group's part of it is no secret to protect.
        """
        found: set[Hashable] = set()
        for total, cells in self.lines:
            value = total if isinstance(total, int) else self.known.get(total)
            if value == 0:
                found.update(c for c in cells if c in self.hidden and c not in self.known)
        return found

    def leaks(self) -> set[Hashable]:
        """Return the hidden cells (hidden everywhere they appear) that the lines determine."""
        zeros = self.zeros()
        unknown = sorted((k for k in self.hidden if k not in self.known and k not in zeros), key=repr)
        shown_here_hidden_there = {k for k in self.hidden if k in self.known}
        index = {k: i for i, k in enumerate(unknown)}
        rows = []
        for total, cells in self.lines:
            row = np.zeros(len(unknown))
            for c in cells:
                if c in index:
                    row[index[c]] += 1
            if not isinstance(total, int) and total in index:
                row[index[total]] -= 1
            if row.any():
                rows.append(row)
        if not rows:
            return shown_here_hidden_there
        a = np.array(rows)
        rank = np.linalg.matrix_rank(a)
        pinned = set()
        for k, i in index.items():
            # e_i lies in the row space exactly when adding it as a row does not raise the rank.
            unit = np.zeros(len(unknown))
            unit[i] = 1
            if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
                pinned.add(k)
        return pinned | shown_here_hidden_there


def tables_of(ws) -> dict[str, list[tuple]]:
    """Return each table on a sheet by its question id: its header row and body rows."""
    rows = list(ws.iter_rows(values_only=True))
    found = {}
    for i, row in enumerate(rows):
        if isinstance(row[0], str) and re.match(r"^[a-z_]+: ", row[0]) and i + 2 < len(rows):
            body = []
            for r in rows[i + 3:]:
                if r[0] is None:
                    break
                body.append(r)
            found[row[0].split(":")[0]] = [rows[i + 1], rows[i + 2], *body]
    return found


def published_workbook(path: Path) -> Published:
    """Read a survey workbook's single-choice tables and its cross-tabs by department into lines."""
    wb = load_workbook(path)
    seen = Published()
    overall: dict[str, list[tuple]] = {}
    for name in wb.sheetnames:
        if name not in ("Summary", "Likert", "By department"):
            overall.update(tables_of(wb[name]))
    choice = {q.id: q for q in SURVEY.questions if q.type == "single_choice"}
    for qid, (note, _header, *body) in overall.items():
        if qid not in choice:
            continue
        shown = int(re.search(r"Shown to (\d+)", note[0]).group(1))
        assert "no answer" not in note[0]  # a hidden "No answer" cell is never repeated in the note
        for row in body:
            seen.see(("q", qid, row[0]), row[1])
        seen.lines.append((shown, [("q", qid, row[0]) for row in body]))
    groups = [o.label for o in choice["department"].choices]
    for qid, (_note, header, *body) in tables_of(wb["By department"]).items():
        if qid not in choice:
            continue
        names = [re.sub(r" \(n=.*\)$", "", h) for h in header[1:-1]]
        assert names == groups[:len(names)], names
        q = choice[qid]
        for g, h in zip(names, header[1:-1], strict=True):
            size = re.search(r"\(n=(.*)\)$", h).group(1)
            # A question shown to everyone: its column sizes are the department table's counts.
            key = ("q", "department", g) if q.show_if is None else ("n", qid, g)
            seen.see(key, size)
            seen.lines.append((key, [("x", qid, row[0], g) for row in body]))
        for row in body:
            for g, cell in zip(names, row[1:-1], strict=True):
                seen.see(("x", qid, row[0], g), cell)
            seen.see(("q", qid, row[0]), row[-1])
            seen.lines.append((("q", qid, row[0]), [("x", qid, row[0], g) for g in names]))
    return seen


def export(tmp_path: Path, rule: Suppression, name: str = "shared.xlsx") -> Path:
    info = SurveyInfo("small", "Small departments", SURVEY.id, SURVEY.version)
    path = tmp_path / name
    write_workbook(path, SURVEY, info, [submit(SURVEY, f) for f in small_departments()], rule, by=["department"],
                   raw=False)
    return path


def one_table_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the weaker rule, each table protected on its own (what exports did before)."""
    monkeypatch.setattr("exports.workbook.joint_hidden", lambda collector, rule: None)


def test_shared_workbook_leaks_nothing_by_differencing(tmp_path):
    seen = published_workbook(export(tmp_path, Suppression(5)))
    assert len(seen.hidden) >= 10 and len(seen.lines) >= 30  # small departments: plenty hidden, plenty of lines
    assert seen.leaks() == set()


def test_control_one_table_at_a_time_leaks(tmp_path, monkeypatch):
    one_table_at_a_time(monkeypatch)
    seen = published_workbook(export(tmp_path, Suppression(5), "control.xlsx"))
    assert seen.leaks(), "the weaker rule should leak, or this check could not see a leak"


def test_shared_workbook_says_what_it_hid_and_holds_no_raw_data(tmp_path):
    wb = load_workbook(export(tmp_path, Suppression(5)))
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert re.match(r"for readers outside the research team: \d+ counts are hidden", summary["Shared report"])
    assert "No raw data, no free-text answers." in summary["Shared report"]
    assert "Raw data" not in wb.sheetnames and "Data dictionary" not in wb.sheetnames


def test_the_joint_rule_is_the_one_rule(monkeypatch):
    """exports.joint hides through exports.suppress.protect: the rule is decided in one module."""
    assert joint.protect.__module__ == "exports.suppress"


# Reach: months, their program years, and the total --------------------------------------------------------

# Per month from June 2019: year 1 (12 months) then 3 months of year 2.
MONTHS = [30, 4, 40, 25, 22, 31, 28, 35, 26, 20, 33, 29, 2, 18, 21]


def records() -> list[dict[str, Any]]:
    out = []
    for offset, n in enumerate(MONTHS):
        month = reach.add_months(dt.date(2019, 6, 1), offset)
        out += [submit(RECORDS, {"interaction_date": month.replace(day=1 + i % 27).isoformat(),
                                 "department": "em", "contact": "first"}) for i in range(n)]
    return out


def published_reach(path: Path) -> Published:
    wb = load_workbook(path)
    seen = Published()
    months = [r for r in wb["Months"].iter_rows(min_row=2, values_only=True) if r[0]]
    for label, value, *_ in months:
        seen.see(("m", label), value)
    rows = list(wb["Reach"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Interactions per program year") + 3
    total = sum(MONTHS)
    labels = [label for label, *_ in months]
    for r in rows[start:]:
        if r[0] is None:
            break
        first, last = labels.index(r[1]), labels.index(r[2])
        seen.see(("y", r[0]), r[4])
        seen.lines.append((("y", r[0]), [("m", label) for label in labels[first:last + 1]]))
    years = [k for k in [*seen.known, *seen.hidden] if k[0] == "y"]
    seen.lines.append((total, years))
    seen.lines.append((total, [("m", label) for label in labels]))
    return seen


def write_reach(tmp_path: Path, name: str) -> Path:
    report = reach_report(records(), RECORDS.question("department").choices, start=dt.date(2019, 6, 1),
                          end=dt.date(2020, 8, 31))
    path = tmp_path / name
    write_reach_workbook(path, report, SurveyInfo("records", "Records", RECORDS.id, RECORDS.version),
                         Suppression(5))
    return path


def test_shared_reach_leaks_no_month_through_its_year(tmp_path):
    seen = published_reach(write_reach(tmp_path, "reach.xlsx"))
    assert ("m", "2019-07") in seen.hidden or any(k[0] == "m" for k in seen.hidden)
    assert seen.leaks() == set()


def test_control_months_against_the_total_only_leak(tmp_path, monkeypatch):
    def total_only(counts, lines, rule):  # what reach did before: months against the total, years not at all
        months = [c for c in counts if c[0] == "m"]
        total = sum(counts[c] for c in months)
        return hidden_cells({c: counts[c] for c in months}, [(total, months)], rule)

    monkeypatch.setattr(reach, "protect", total_only)
    seen = published_reach(write_reach(tmp_path, "control.xlsx"))
    assert seen.leaks()
