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

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.stored import ensure_path, load_tree, record
from coding.errors import InvalidSpreadsheet
from coding.projects import NewUnit, add_units
from coding.rounds import create_round, next_round_name
from coding.spreadsheet import parse_codes, sheet_rows
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


def read_sheet(path: str | PathLike[str]) -> list[SheetRow]:
    """Read an answers/codings spreadsheet; raise InvalidSpreadsheet naming file, line and column."""
    path = Path(path)
    rows = sheet_rows(path)
    try:
        header = next(rows, None)
        if header is None or not any(c.strip() for c in header):
            raise InvalidSpreadsheet(path, 1, "no header row; expected columns unit, text[, coder, codes]")
        columns: dict[str, int] = {}
        for i, name in enumerate(c.strip().lower() for c in header):
            if name in COLUMNS:
                if name in columns:
                    raise InvalidSpreadsheet(path, 1, "duplicate column", where=f"column {name!r}")
                columns[name] = i
        if "unit" not in columns:
            raise InvalidSpreadsheet(path, 1, "missing column 'unit'")
        if "codes" in columns and "coder" not in columns:
            raise InvalidSpreadsheet(path, 1, "a 'codes' column needs a 'coder' column (who coded)")
        out: list[SheetRow] = []
        seen: dict[tuple[str, str], int] = {}
        for line, values in enumerate(rows, start=2):
            if not any(v.strip() for v in values):
                continue

            def cell(name: str, values: list[str] = values) -> str:
                i = columns.get(name)
                return values[i].strip() if i is not None and i < len(values) else ""

            unit, coder = cell("unit"), cell("coder")
            if not unit:
                raise InvalidSpreadsheet(path, line, "empty", where="column 'unit'")
            if coder:
                if (unit, coder) in seen:
                    what = f"unit {unit!r} coded by {coder!r} again (first on line {seen[unit, coder]})"
                    raise InvalidSpreadsheet(path, line, what, where="column 'coder'")
                seen[unit, coder] = line
            elif cell("codes"):
                raise InvalidSpreadsheet(path, line, "codes without a coder", where="column 'coder'")
            try:
                parse_codes(cell("codes"))
            except ValueError as e:
                raise InvalidSpreadsheet(path, line, str(e), where="column 'codes'") from e
            typed = ("/".join(level.strip() for level in piece.split("/")) for piece in cell("codes").split(";"))
            codes = list(dict.fromkeys(code for code in typed if code))
            out.append(SheetRow(line, unit, cell("text"), coder, codes, cell("respondent")))
        return out
    finally:
        rows.close()


def import_sheet(session: Session, project: Project, path: str | PathLike[str], who: str) -> ImportResult:
    """Import a spreadsheet into *project*: new units, and codings as a closed round; all or nothing."""
    path = Path(path)
    rows = read_sheet(path)
    if not rows:
        raise InvalidSpreadsheet(path, None, "no rows below the header")
    texts: dict[str, tuple[str, int]] = {}
    respondents: dict[str, str] = {}
    for row in rows:
        if row.text:
            if row.unit in texts and texts[row.unit][0] != row.text:
                what = f"text of unit {row.unit!r} differs from line {texts[row.unit][1]}"
                raise InvalidSpreadsheet(path, row.line, what, where="column 'text'")
            texts.setdefault(row.unit, (row.text, row.line))
        if row.respondent:
            respondents.setdefault(row.unit, row.respondent)
    existing = {u.label: u for u in session.scalars(select(Unit).where(Unit.project_id == project.id))}
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(row.unit, row.line)
    for unit, line in first_line.items():
        if unit not in existing and unit not in texts:
            raise InvalidSpreadsheet(path, line, f"unit {unit!r} is new and has no text on any row",
                                     where="column 'text'")
        if unit in existing and unit in texts and existing[unit].text != texts[unit][0]:
            raise InvalidSpreadsheet(path, texts[unit][1], f"unit {unit!r} is in the project with another text",
                                     where="column 'text'")
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
            raise InvalidSpreadsheet(path, row.line, f"unit {row.unit!r} is already coded by {row.coder!r} in "
                                                     f"project '{project.name}'", where="column 'coder'")
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
