"""Import a spreadsheet of answers, and optionally of codings done elsewhere (Excel, another QDA tool).

Columns (header names case-insensitive, other columns ignored): ``unit`` (the unit's id, required),
``text`` (the answer; required on at least one row of each new unit), and optionally ``coder`` and
``codes`` (``;`` between codes, ``/`` between hierarchy levels), and ``respondent`` (groups units of one
respondent for the "% of respondents" column; default: each unit is its own respondent). One row per
(unit, coder); rows without a coder only bring the text.

Codes not in the codebook are created (recorded in the audit log). Imported codings were made elsewhere,
so they form a closed round: no blindness to keep. The import is all or nothing.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.stored import ensure_path, load_tree, record
from coding.projects import NewUnit, add_units
from coding.rounds import create_round, next_round_name
from coding.spreadsheet import Header, open_sheet, parse_codes
from coding.store import Application, Project, Review, Round, Unit

COLUMNS = ("unit", "text", "coder", "codes", "respondent")


@dataclass
class SheetRow:
    line: int
    unit: str
    text: str
    coder: str
    codes: list[str]  # in the order typed, so new codes enter the codebook in that order
    respondent: str


@dataclass
class ImportResult:
    """What an import did."""

    units_added: int = 0
    units_existing: int = 0
    reviews: int = 0
    applications: int = 0
    codes_created: list[str] = field(default_factory=list)
    round: str | None = None


def read_sheet(path: str | PathLike[str]) -> tuple[Header, list[SheetRow]]:
    """Read an answers/codings spreadsheet (its header and rows); raise TableError naming file, line and column."""
    header, rows = open_sheet(path, COLUMNS, "unit, text[, coder, codes]")
    with closing(rows):
        if "unit" not in header.columns:
            raise header.error("missing column 'unit'", 1)
        if "codes" in header.columns and "coder" not in header.columns:
            raise header.error("a 'codes' column needs a 'coder' column (who coded)", 1)
        out: list[SheetRow] = []
        seen: dict[tuple[str, str], int] = {}
        for line, values in rows:
            def cell(name: str, values: list[str] = values) -> str:
                return header.cell(values, name)

            unit, coder = cell("unit"), cell("coder")
            if not unit:
                raise header.error("empty", line, "unit")
            if coder:
                if (unit, coder) in seen:
                    what = f"unit {unit!r} coded by {coder!r} again (first on line {seen[unit, coder]})"
                    raise header.error(what, line, "coder")
                seen[unit, coder] = line
            elif cell("codes"):
                raise header.error("codes without a coder", line, "coder")
            try:
                parse_codes(cell("codes"))
            except ValueError as e:
                raise header.error(str(e), line, "codes") from e
            typed = ("/".join(level.strip() for level in piece.split("/")) for piece in cell("codes").split(";"))
            codes = list(dict.fromkeys(code for code in typed if code))
            out.append(SheetRow(line, unit, cell("text"), coder, codes, cell("respondent")))
        return header, out


def import_sheet(session: Session, project: Project, path: str | PathLike[str], who: str) -> ImportResult:
    """Import a spreadsheet into *project*: new units, and codings as a closed round; all or nothing."""
    path = Path(path)
    header, rows = read_sheet(path)
    if not rows:
        raise header.error("no rows below the header", None)
    texts: dict[str, tuple[str, int]] = {}
    respondents: dict[str, str] = {}
    for row in rows:
        if row.text:
            if row.unit in texts and texts[row.unit][0] != row.text:
                what = f"text of unit {row.unit!r} differs from line {texts[row.unit][1]}"
                raise header.error(what, row.line, "text")
            texts.setdefault(row.unit, (row.text, row.line))
        if row.respondent:
            respondents.setdefault(row.unit, row.respondent)
    existing = {u.label: u for u in session.scalars(select(Unit).where(Unit.project_id == project.id))}
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(row.unit, row.line)
    for unit, line in first_line.items():
        if unit not in existing and unit not in texts:
            raise header.error(f"unit {unit!r} is new and has no text on any row", line, "text")
        if unit in existing and unit in texts and existing[unit].text != texts[unit][0]:
            raise header.error(f"unit {unit!r} is in the project with another text", texts[unit][1], "text")
    result = ImportResult()
    coded = [r for r in rows if r.coder]
    coded_units = {r.unit for r in coded}
    new = [NewUnit(f"import:{u}", t, label=u, respondent=respondents.get(u, u))
           for u, (t, _) in texts.items() if u not in existing]
    # Units coded elsewhere go into a closed round below; the others into a new open round, to be coded here.
    added = add_units(session, project, new, make_round=False, keep_order=True)
    result.units_added = added.added
    result.units_existing = len([u for u in first_line if u in existing])
    to_code = [u.id for u in added.units if u.label not in coded_units]
    if to_code:
        rnd = create_round(session, project, next_round_name(session, project), to_code)
        result.round = rnd.name
    if not coded:
        return result
    units = {u.label: u for u in session.scalars(select(Unit).where(Unit.project_id == project.id,
                                                                    Unit.label.in_(list(first_line))))}
    tree = load_tree(session, project.id)
    for row in coded:
        target = units[row.unit]
        if session.get(Review, (target.id, row.coder)) is not None:
            raise header.error(f"unit {row.unit!r} is already coded by {row.coder!r} in project '{project.name}'",
                               row.line, "coder")
        session.add(Review(unit_id=target.id, coder=row.coder, memo=""))
        result.reviews += 1
    session.flush()
    for row in coded:
        for code in row.codes:
            code_id, created = ensure_path(session, project, tree, code)
            result.codes_created.extend(created)
            session.add(Application(unit_id=units[row.unit].id, coder=row.coder, code_id=code_id, quote=False,
                                    memo=""))
            result.applications += 1
    session.flush()
    if result.codes_created:
        record(session, project, who, "import", {"source": path.name, "added": len(result.codes_created),
                                                 "codes": result.codes_created}, "codes used in an imported sheet")
    name, n = f"Import {path.name}", 1
    while session.scalar(select(Round.id).filter_by(project_id=project.id, name=name)) is not None:
        n += 1
        name = f"Import {path.name} ({n})"
    create_round(session, project, name, [units[u].id for u in coded_units], state="closed")
    result.round = name
    return result
