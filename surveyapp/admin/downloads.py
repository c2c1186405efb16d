"""The investigators' downloads: a survey's workbook (tables, Likert charts, raw data) and its raw data as CSV.

The file is written to a temporary file while the answers stream from the database (memory stays flat),
then sent and deleted. Counts are exact (investigators hold the raw answers); ``?shared=1`` sends the report to
share outside the team instead: small counts hidden with every cell that could give one back, no raw data, no
free text, and the summary sheet says so. Answers given through the survey's test link are left out unless
``?test=include`` asks for them (never in a shared report).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, request, send_file

from exports.csvout import write_csv
from instrument.reportfile import InvalidReport

from ..auth.access import allowed
from ..db import get_session
from ..exporting import audience_rule, mix_waiting, report_file, stream_answers, survey_info
from ..models import Survey
from ..surveys import instrument_of, response_count

bp = Blueprint("downloads", __name__, url_prefix="/admin/surveys")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _survey(slug: str) -> Survey:
    survey = get_session().get(Survey, slug)
    if survey is None:
        abort(404, f"There is no survey '{slug}'.")
    mix_waiting(get_session(), survey)
    return survey


def _send(slug: str, suffix: str, mimetype: str, write: Callable[[Path], Any], tag: str = "") -> Any:
    handle, name = tempfile.mkstemp(prefix="surveykit-download-", suffix=suffix)
    os.close(handle)
    path = Path(name)
    try:
        write(path)
        data = path.open("rb")
    finally:
        # Unlinked now, the file lives on only as the open handle send_file streams and closes.
        path.unlink(missing_ok=True)
    response = send_file(data, mimetype=mimetype, as_attachment=True,
                         download_name=f"{slug}{tag}-{dt.date.today().isoformat()}{suffix}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/export.xlsx")
@allowed("survey_export")
def survey_xlsx(slug: str) -> Any:
    """Send the survey's workbook."""
    from exports.workbook import write_workbook  # openpyxl is loaded by the workbook download only

    survey = _survey(slug)
    db = get_session()
    shared = request.args.get("shared") == "1"
    test = _include_test() and not shared
    rule = audience_rule(shared)
    info = survey_info(db, survey, response_count(db, slug, test), rule)
    instrument = instrument_of(survey)
    report = None
    if not shared:
        try:
            report = report_file(instrument)
        except InvalidReport as exc:
            abort(422, f"The report file cannot be used, so no workbook was written: {exc}")

    def write(path: Path) -> None:
        write_workbook(path, instrument, info, stream_answers(db, slug, include_test=test), rule, raw=not shared,
                       report=report)

    return _send(slug, ".xlsx", XLSX, write, "-shared" if shared else "-with-test" if test else "")


@bp.get("/<slug>/export.csv")
@allowed("survey_export")
def survey_csv(slug: str) -> Any:
    """Send the survey's raw data as CSV."""
    survey = _survey(slug)
    db = get_session()
    instrument = instrument_of(survey)
    test = _include_test()
    return _send(slug, ".csv", "text/csv; charset=utf-8",
                 lambda path: write_csv(path, instrument, stream_answers(db, slug, include_test=test)),
                 "-with-test" if test else "")


def _include_test() -> bool:
    """Say whether the download asks for the test answers too (``?test=include``); any other value is refused."""
    value = request.args.get("test")
    if value not in (None, "include"):
        abort(400, f"test={value}: the only choice is test=include (the test answers too); without it they are "
                   "left out")
    return value == "include"
