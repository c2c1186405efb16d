"""Theme tables say what they count: the rule for units without consensus, units awaiting consensus or
re-review next to each code, per-question and per-respondent denominators, display names, 3 decimals."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding import applying as Ap
from coding import evolution as E
from coding import projects as P
from coding import tables as T
from coding.codebook import stored as C
from coding.coders import display_names
from coding.store import Unit
from coding.workbook import export_project
from surveyapp import db

A, B, LEAD = "ana@example.org", "ben@example.org", "lead@example.org"


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context(), db.new_session() as s:
        yield s


def project_with(s: Session, sources: list[str], codes: list[str]) -> tuple[P.Project, list[Unit], dict[str, int]]:
    project = P.create_project(s, "themes", LEAD)
    P.add_units(s, project, [P.NewUnit(src, f"answer {i}", respondent=src.rsplit(":", 1)[-1])
                             for i, src in enumerate(sources)])
    for path in codes:
        parent, _, name = path.rpartition("/")
        if parent and parent not in C.load_tree(s, project.id).ids:
            C.add_code(s, project, None, parent, LEAD, "")
        C.add_code(s, project, parent or None, name, LEAD, "")
    units = list(s.scalars(select(Unit).where(Unit.project_id == project.id).order_by(Unit.position)))
    return project, units, C.load_tree(s, project.id).ids


def rows_of(tables: T.ThemeTables) -> dict[str, T.ThemeRow]:
    return {r.path: r for d in tables.domains for r in d.rows}


def sheet_rows(path: Path, title: str) -> dict[str, tuple]:
    rows = list(load_workbook(path)[title].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "Theme")
    return {"header": rows[header], **{r[0].strip(): r for r in rows[header + 1:]}}


def test_six_disputed_units_are_shown_not_counted_as_zero_silently(session: Session, tmp_path: Path) -> None:
    sources = [f"survey:dept:barriers:k{i:02d}" for i in range(10)]
    project, units, ids = project_with(session, sources, ["Barriers/Time", "Barriers/Privacy concerns"])
    for i, unit in enumerate(units):
        Ap.set_codes(session, project, unit.id, B, {ids["Barriers/Time"]})
        privacy = {ids["Barriers/Privacy concerns"]} if i < 6 else set()
        Ap.set_codes(session, project, unit.id, A, {ids["Barriers/Time"], *privacy})
    for rule, counted in (("all", 0), ("majority", 0), ("any", 6)):
        privacy_row = rows_of(T.theme_tables(session, project, rule=rule))["Barriers/Privacy concerns"]
        assert (privacy_row.n_units, privacy_row.awaiting_consensus) == (counted, 6), rule
    out = tmp_path / "themes.xlsx"
    export_project(session, project, out, bootstrap=0)
    rows = sheet_rows(out, "Barriers")
    header = rows["header"]
    privacy = rows["Privacy concerns"]
    assert privacy[header.index("Units n (%) of coded units")] == "0 (0.0%) of 10"
    assert privacy[header.index("Units awaiting consensus")] == 6  # next to the 0, not dropped silently
    assert rows["Time"][header.index("Units awaiting consensus")] == 0
    book = load_workbook(out)
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Rule for units without consensus"].startswith("'majority'")
    assert summary["  of which coders disagreed (awaiting consensus)"] == 6
    lines = [r[0] for r in book["Barriers"].iter_rows(values_only=True) if isinstance(r[0], str)]
    assert any("rule 'majority'" in line for line in lines)
    export_project(session, project, out, bootstrap=0, rule="any")
    rows = sheet_rows(out, "Barriers")
    assert rows["Privacy concerns"][rows["header"].index("Units n (%) of coded units")] == "6 (60.0%) of 10"


def test_split_shows_the_units_waiting_for_re_review(session: Session, tmp_path: Path) -> None:
    sources = [f"survey:dept:barriers:k{i:02d}" for i in range(12)]
    project, units, ids = project_with(session, sources, ["Barriers/Cost", "Barriers/Time"])
    for i, unit in enumerate(units):
        cost = {ids["Barriers/Cost"]} if i < 9 else set()
        Ap.set_codes(session, project, unit.id, A, {ids["Barriers/Time"], *cost})
    result = E.split(session, project, "Barriers/Cost", ["Fees", "Travel"], LEAD)
    assert result.queued == 9
    rows = rows_of(T.theme_tables(session, project))
    assert (rows["Barriers/Fees"].n_units, rows["Barriers/Fees"].awaiting_rereview) == (0, 9)
    assert (rows["Barriers/Travel"].n_units, rows["Barriers/Travel"].awaiting_rereview) == (0, 9)
    assert rows["Barriers/Time"].awaiting_rereview == 0
    new = C.load_tree(session, project.id).ids
    for entry in E.rereviews(session, project)[:4]:
        E.resolve(session, project, entry.id, [new["Barriers/Fees"]], A)
    rows = rows_of(T.theme_tables(session, project))
    assert (rows["Barriers/Fees"].n_units, rows["Barriers/Fees"].awaiting_rereview) == (4, 5)
    out = tmp_path / "themes.xlsx"
    export_project(session, project, out, bootstrap=0)
    sheet = sheet_rows(out, "Barriers")
    assert sheet["Travel"][sheet["header"].index("Units awaiting re-review")] == 5


def test_eight_coders_majority_keeps_what_most_coders_gave(session: Session) -> None:
    rng = random.Random(11)
    coders = [f"coder{i}@example.org" for i in range(8)]
    themes = ["Impact/Support", "Impact/Stress", "Impact/Culture"]
    sources = [f"survey:dept:benefits:k{i:03d}" for i in range(60)]
    project, units, ids = project_with(session, sources, themes)
    given: dict[int, dict[str, set[str]]] = {}
    for unit in units:
        truth = {t for t in themes if rng.random() < 0.5}
        for coder in coders:  # each coder misses or adds a theme now and then
            mine = {t for t in themes if (t in truth) != (rng.random() < 0.15)}
            given.setdefault(unit.id, {})[coder] = mine
            Ap.set_codes(session, project, unit.id, coder, {ids[t] for t in mine})
    majority = rows_of(T.theme_tables(session, project, rule="majority"))
    everyone = rows_of(T.theme_tables(session, project, rule="all"))
    lost = 0
    for t in themes:
        by_count = [sum(t in sets[c] for c in coders) for sets in given.values()]
        assert majority[t].n_units == sum(1 for n in by_count if n >= 5)
        assert everyone[t].n_units == sum(1 for n in by_count if n == 8)
        assert majority[t].awaiting_consensus == sum(1 for n in by_count if 0 < n < 8)
        lost += majority[t].n_units - everyone[t].n_units
    print(f"8 coders, 60 units: codes lost under 'all' but kept by 'majority': {lost}; awaiting consensus per "
          f"theme: {[majority[t].awaiting_consensus for t in themes]}")
    assert lost > 0


def test_percentages_per_question_and_per_respondent(session: Session, tmp_path: Path) -> None:
    sources = [f"survey:dept:benefits:r{i}" for i in range(6)] + [f"survey:dept:barriers:r{i}" for i in range(4)]
    project, units, ids = project_with(session, sources, ["Themes/Hope"])
    hoped = {"survey:dept:benefits:r0", "survey:dept:benefits:r1", "survey:dept:benefits:r2",
             "survey:dept:barriers:r0", "survey:dept:barriers:r1"}  # 3 of 6 benefits answers, 2 of 4 barriers
    for unit in units:
        hope = unit.source in hoped
        Ap.set_codes(session, project, unit.id, A, {ids["Themes/Hope"]} if hope else set())
    tables = T.theme_tables(session, project)
    assert tables.questions == {"dept:barriers": (4, 4), "dept:benefits": (6, 6)}
    hope = rows_of(tables)["Themes/Hope"]
    assert hope.by_question == {"dept:barriers": (2, 2), "dept:benefits": (3, 3)}
    assert (hope.n_units, tables.n_units, hope.n_respondents, tables.n_respondents) == (5, 10, 3, 6)
    out = tmp_path / "themes.xlsx"
    export_project(session, project, out, bootstrap=0)
    rows = sheet_rows(out, "Themes")
    header, row = rows["header"], rows["Hope"]
    assert row[header.index("dept:benefits: units n (%)")] == "3 (50.0%) of 6"
    assert row[header.index("dept:barriers: units n (%)")] == "2 (50.0%) of 4"
    assert row[header.index("Respondents n (%) of respondents")] == "3 (50.0%) of 6"  # r0-r2 answered both


def test_coders_by_display_name_and_coefficients_to_three_decimals(session: Session, tmp_path: Path) -> None:
    sources = [f"survey:dept:benefits:r{i}" for i in range(8)]
    project, units, ids = project_with(session, sources, ["Themes/Hope", "Themes/Time"])
    for i, unit in enumerate(units):
        Ap.set_codes(session, project, unit.id, A, {ids["Themes/Hope"]} if i % 2 else {ids["Themes/Time"]})
        Ap.set_codes(session, project, unit.id, B, {ids["Themes/Hope"]} if i % 3 else {ids["Themes/Time"]})
    out = tmp_path / "themes.xlsx"
    sheets = export_project(session, project, out, bootstrap=20, names={A: "Ana Lopez"})
    assert "Matrix Ana Lopez" in sheets and "Matrix ben" in sheets
    book = load_workbook(out)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not any(isinstance(c.value, str) and "@example.org" in c.value for c in cells)
    agreement = {r[0].value: r[1] for r in book["Agreement"].iter_rows() if r[0].value}
    assert agreement["Coders"].value == "Ana Lopez, ben"
    alpha = next(cell for label, cell in agreement.items() if label.startswith("Krippendorff"))
    assert alpha.number_format == "0.000" and alpha.value == round(alpha.value, 3)
    per_code = [r for r in book["Agreement"].iter_rows() if r[0].value in ("Themes/Hope", "Themes/Time")]
    assert per_code and all(c.number_format == "0.000" for r in per_code for c in r[2:] if isinstance(c.value, float))


def test_display_names_never_merge_two_coders() -> None:
    assert display_names(["jo@a.org", "jo@b.org", "li@a.org"], {"li@a.org": "Li Wei"}) == {
        "jo@a.org": "jo@a.org", "jo@b.org": "jo@b.org", "li@a.org": "Li Wei"}
