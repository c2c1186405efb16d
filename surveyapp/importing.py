"""Store answers imported from a file: the checks are :mod:`exports.imports`; here is the one transaction.

Nothing is stored unless the whole file is clean, or, with ``skip_invalid``, the bad rows are left out and
listed in the report. Imported responses keep only the day (the file's completion date, else today).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from exports.imports import (
    ImportFailed,
    ImportReport,
    Mapping,
    Problem,
    check_row,
    left_out,
    plan_columns,
    question_texts_row,
)
from exports.readers import InvalidImport, Tabular, as_day

from .invitations.counted import DEPARTMENT_QUESTION, count_imported, department_question
from .models import Response, Survey, random_key
from .studies.linking import import_linker
from .surveys import instrument_of

BATCH = 500


def import_answers(session: Session, survey: Survey, table: Tabular, mapping: Mapping | None = None, *,
                   skip_invalid: bool = False, strict: bool = False, today: dt.date | None = None,
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Validate every row of *table* and store the responses in one transaction; raise ImportFailed if unclean.

    With *strict*, a text stored as Other (not an option; Microsoft Forms puts Other texts there) is a problem
    like any other, so nothing is stored; without it, every such text is listed in ``report.as_other``.
    """
    instrument = instrument_of(survey)
    mapping = mapping or Mapping()
    linker = import_linker(session, survey.slug, table)  # a confidential study's wave: rows name a study id
    if linker is not None:
        header = table.headers[linker.column]
        mapping = replace(mapping, columns={**mapping.columns, header: ("drop", 0)})
    plan = plan_columns(table, instrument, mapping)
    report = ImportReport(source=table.path.name, dropped_columns=list(plan.dropped), layout=table.layout,
                          notes=list(plan.notes))
    today = today or dt.date.today()
    version = survey.instrument_version
    missing = [q.id for q in instrument.questions if q.id not in plan.first_column]
    if missing:
        report.notes.append(f"no column for {', '.join(missing)}: imported as not answered")
    problems: list[Problem] = []
    asks_department = department_question(instrument) is not None
    departments: Counter[str] = Counter()  # option codes, totalled per department for the response rates
    pending = 0
    first = True
    try:
        for row in table.rows():
            if progress is not None:
                progress(1)
            if first and question_texts_row(table, plan, row):
                raise InvalidImport(f"{table.where(row.line)}: holds the question texts, not answers: a second "
                                    "header row (a Qualtrics export without its own columns?); delete the line "
                                    "and import again")
            first = False
            skipped = left_out(table, plan, row)
            if skipped is not None:
                report.left_out.append(skipped)
                continue
            as_other: list[Problem] = []
            answers, row_problems, dropped = check_row(instrument, table, plan, mapping, row, as_other)
            if strict and as_other:
                answers = None
                row_problems += [Problem(p.where, f"'{p.what}' is not an option; stored as Other only without "
                                         "--strict (map it under values: if it means an option)", p.question,
                                         line=p.line) for p in as_other]
            report.dropped_answers.extend(dropped)
            if answers is None:
                problems.extend(row_problems)
                continue
            report.as_other.extend(as_other)
            day = None
            if plan.date_column is not None and plan.date_column < len(row.cells):
                day = as_day(row.cells[plan.date_column])
            response = Response(key=random_key(), survey_slug=survey.slug, instrument_id=version.instrument_id,
                                instrument_version=version.version, instrument_sha256=version.sha256,
                                submitted_on=min(day or today, today), answers=answers)
            session.add(response)
            if linker is not None:
                linker.add(row, response)
            report.imported += 1
            department = answers.get(DEPARTMENT_QUESTION) if asks_department else None
            departments[department if isinstance(department, str) else ""] += 1
            pending += 1
            if pending >= BATCH:
                session.flush()
                pending = 0
        if problems and not skip_invalid:
            raise ImportFailed(problems)
        report.skipped = problems
        if linker is not None:
            linker.finish()
        count_imported(session, survey, departments)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
