"""Import a spreadsheet of answers, and optionally of codings done elsewhere (Excel, another QDA tool).

Columns (header names case-insensitive, other columns ignored): ``unit`` (the unit's id, required),
``text`` (the answer; required on at least one row of each new unit), and optionally ``coder`` and
``codes`` (``;`` between codes, ``/`` between hierarchy levels), and ``respondent`` (groups units of one
respondent for the "% of respondents" column; default: each unit is its own respondent). One row per
(unit, coder); rows without a coder only bring the text.

Codes not in the codebook are created (recorded in the audit log). Imported codings were made elsewhere,
so they form a closed round: no blindness to keep. The import is all or nothing: every bad cell is
listed (:class:`SheetErrors`) before anything is added.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.stored import check_name, ensure_path, load_tree, record
from coding.projects import NewUnit, add_units
from coding.rounds import create_round, next_round_name
from coding.spreadsheet import Header, open_sheet, parse_codes
from coding.store import EMAIL_LENGTH, Application, Project, ProjectError, Review, Round, Unit
from exports.tabular.errors import TableError

COLUMNS = ("unit", "text", "coder", "codes", "respondent")
MAX_UNIT = 300  # a unit id is its label (400 characters) and, after "import:", its source
MAX_CODER = EMAIL_LENGTH


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


class SheetErrors(TableError):
    """Every bad cell of an imported sheet, each ``file:line, column X ('header'): what``; ``errors`` lists them."""

    def __init__(self, errors: list[TableError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = [str(e) for e in errors]


MAX_ERRORS = 200  # a sheet with more bad cells names the first ones and says how many more


def _raise_all(errors: list[TableError]) -> None:
    if not errors:
        return
    shown = errors[:MAX_ERRORS]
    if len(errors) > MAX_ERRORS:
        shown.append(TableError(f"... and {len(errors) - MAX_ERRORS} more errors"))
    raise SheetErrors(shown)


def read_sheet(path: str | PathLike[str] | bytes, name: str | None = None) -> tuple[Header, list[SheetRow]]:
    """Read an answers/codings spreadsheet (a path, or uploaded bytes called *name*): its header and rows.

    Raise TableError for a file that cannot be read, else :class:`SheetErrors` listing every bad cell.
    """
    header, rows, errors = _read(path, name)
    _raise_all(errors)
    return header, rows


def _read(path: str | PathLike[str] | bytes, name: str | None) -> tuple[Header, list[SheetRow], list[TableError]]:
    """Return the header, the good rows and an error per bad cell (a file that cannot be read raises)."""
    header, rows = open_sheet(path, COLUMNS, "unit, text[, coder, codes]", name)
    with closing(rows):
        if "unit" not in header.columns:
            raise header.error("missing column 'unit'", 1)
        if "codes" in header.columns and "coder" not in header.columns:
            raise header.error("a 'codes' column needs a 'coder' column (who coded)", 1)
        out: list[SheetRow] = []
        errors: list[TableError] = []
        seen: dict[tuple[str, str], int] = {}
        for line, values in rows:
            def cell(name: str, values: list[str] = values) -> str:
                return header.cell(values, name)

            bad = len(errors)
            unit, coder = cell("unit"), cell("coder")
            if not unit:
                errors.append(header.error("empty", line, "unit"))
            elif len(unit) > MAX_UNIT:
                errors.append(header.error(f"a unit id of {len(unit)} characters; at most {MAX_UNIT}", line, "unit"))
            if len(coder) > MAX_CODER:
                errors.append(header.error(f"a coder of {len(coder)} characters; at most {MAX_CODER}", line, "coder"))
            if coder and unit:
                if (unit, coder) in seen:
                    what = f"unit {unit!r} coded by {coder!r} again (first on line {seen[unit, coder]})"
                    errors.append(header.error(what, line, "coder"))
                seen.setdefault((unit, coder), line)
            elif cell("codes") and not coder:
                errors.append(header.error("codes without a coder", line, "coder"))
            try:
                for code in parse_codes(cell("codes")):
                    for level in code.split("/"):
                        check_name(level)
            except (ValueError, ProjectError) as e:
                errors.append(header.error(str(e), line, "codes"))
            if len(errors) == bad:
                typed = ("/".join(level.strip() for level in piece.split("/")) for piece in cell("codes").split(";"))
                codes = list(dict.fromkeys(code for code in typed if code))
                out.append(SheetRow(line, unit, cell("text"), coder, codes, cell("respondent")))
        return header, out, errors


def import_sheet(session: Session, project: Project, path: str | PathLike[str] | bytes, who: str,
                 name: str | None = None) -> ImportResult:
    """Import a spreadsheet (a path, or uploaded bytes called *name*) into *project*: new units, and codings as a
    closed round; all or nothing (every bad cell is listed in one :class:`SheetErrors` before anything is added)."""
    file_name = name or ("upload" if isinstance(path, bytes) else Path(path).name)
    header, rows, errors = _read(path, name)
    if not rows and not errors:
        raise header.error("no rows below the header", None)
    texts: dict[str, tuple[str, int]] = {}
    respondents: dict[str, str] = {}
    for row in rows:
        if row.text:
            if row.unit in texts and texts[row.unit][0] != row.text:
                what = f"text of unit {row.unit!r} differs from line {texts[row.unit][1]}"
                errors.append(header.error(what, row.line, "text"))
            texts.setdefault(row.unit, (row.text, row.line))
        if row.respondent:
            respondents.setdefault(row.unit, row.respondent)
    existing = {u.label: u for u in session.scalars(select(Unit).where(Unit.project_id == project.id))}
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(row.unit, row.line)
    for unit, line in first_line.items():
        if unit not in existing and unit not in texts:
            errors.append(header.error(f"unit {unit!r} is new and has no text on any row", line, "text"))
        if unit in existing and unit in texts and existing[unit].text != texts[unit][0]:
            errors.append(header.error(f"unit {unit!r} is in the project with another text", texts[unit][1], "text"))
    coded = [r for r in rows if r.coder]
    known = {(existing[r.unit].id, r.coder) for r in coded if r.unit in existing}
    if known:
        already = set(session.execute(select(Review.unit_id, Review.coder).join(Unit, Unit.id == Review.unit_id)
                                      .where(Unit.project_id == project.id)).tuples())
        for row in coded:
            if row.unit in existing and (existing[row.unit].id, row.coder) in already:
                errors.append(header.error(f"unit {row.unit!r} is already coded by {row.coder!r} in project "
                                           f"'{project.name}'", row.line, "coder"))
    _raise_all(sorted(errors, key=lambda e: e.line or 0))
    result = ImportResult()
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
    # The units by label from what is at hand: an IN list of every label overflows SQLite's limit at 50k units.
    units = {**existing, **{u.label: u for u in added.units}}
    tree = load_tree(session, project.id)
    for row in coded:
        session.add(Review(unit_id=units[row.unit].id, coder=row.coder, memo=""))
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
        record(session, project, who, "import", {"source": file_name, "added": len(result.codes_created),
                                                 "codes": result.codes_created}, "codes used in an imported sheet")
    short = file_name[:80]  # a round's name holds 100 characters
    round_name, n = f"Import {short}", 1
    while session.scalar(select(Round.id).filter_by(project_id=project.id, name=round_name)) is not None:
        n += 1
        round_name = f"Import {short} ({n})"
    create_round(session, project, round_name, [units[u].id for u in coded_units], state="closed")
    result.round = round_name
    return result
