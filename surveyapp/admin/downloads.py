"""The investigators' downloads: a survey's workbook (tables, Likert charts, raw data) and its raw data as CSV.

The file is written to a temporary file while the answers stream from the database (memory stays flat),
then sent and deleted. Small-cell suppression applies unless the link asks for ``?suppression=off``, which
the workbook's summary sheet then states.
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
from exports.workbook import write_workbook

from ..auth.routes import login_required
from ..db import get_session
from ..exporting import mix_waiting, stream_answers, suppression_rule, survey_info
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


def _send(slug: str, suffix: str, mimetype: str, write: Callable[[Path], Any]) -> Any:
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
                         download_name=f"{slug}-{dt.date.today().isoformat()}{suffix}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/export.xlsx")
@login_required
def survey_xlsx(slug: str) -> Any:
    """Send the survey's workbook."""
    survey = _survey(slug)
    db = get_session()
    rule = suppression_rule(request.args.get("suppression") == "off")
    info = survey_info(db, survey, response_count(db, slug))
    instrument = instrument_of(survey)

    def write(path: Path) -> None:
        write_workbook(path, instrument, info, stream_answers(db, slug), rule)

    return _send(slug, ".xlsx", XLSX, write)


@bp.get("/<slug>/export.csv")
@login_required
def survey_csv(slug: str) -> Any:
    """Send the survey's raw data as CSV."""
    survey = _survey(slug)
    db = get_session()
    instrument = instrument_of(survey)
    return _send(slug, ".csv", "text/csv; charset=utf-8",
                 lambda path: write_csv(path, instrument, stream_answers(db, slug)))
