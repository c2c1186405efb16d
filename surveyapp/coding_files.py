"""Coding work that may outlast a request: importing a coded spreadsheet, writing a project's theme workbook.

The pages (``coding_web/setup_routes.py``) run a small one in the request and hand a big one to the job queue
(``surveyapp.jobs``: ``coding.import``, ``coding.workbook``), so no web worker is held past its timeout: an
upload of more than ``INLINE_BYTES``, a project of more than ``INLINE_UNITS`` units. A job's files live in
``instance/coding-files/`` (the upload until it is imported, the workbook until the next one of the same
viewer replaces it, at most ``KEEP`` after it was written); with a worker on another host that folder must be
shared, as the instance folder is. The workbook holds only what its viewer may see (``coding.workbook.gather``
with the viewer: coding.blindness, as the results page), and only that viewer may fetch it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from coding.errors import InvalidSpreadsheet
from coding.importing import SheetErrors, import_sheet
from coding.store import Project, ProjectError

from .auth.models import account_names
from .exporting import question_texts
from .models import Job

FOLDER = "coding-files"
INLINE_BYTES = 256 * 1024  # an upload larger than this is imported by a job
INLINE_UNITS = 2000  # a project with more units gets its workbook from a job
KEEP = dt.timedelta(days=1)
QUOTES, BOOTSTRAP = 3, 1000  # as `surveykit coding export` writes it by default


def folder(app: Flask) -> Path:
    """Return (and create) the folder of the coding jobs' files."""
    path = Path(app.instance_path) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_file(app: Flask, kind: str, suffix: str) -> Path:
    """Return an unused path in the folder for a *kind* of file, and forget files older than ``KEEP``."""
    here = folder(app)
    cutoff = time.time() - KEEP.total_seconds()
    for old in here.iterdir():
        if old.is_file() and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return here / f"{kind}-{secrets.token_hex(12)}{suffix}"


def import_upload(session: Session, project: Project, source: Path | bytes, name: str, who: str) -> dict[str, Any]:
    """Import a coded sheet into *project* (flushes; the caller commits); return what it did, or its errors.

    ``{"errors": [...]}`` when anything is wrong (every bad cell, each 'file:line, column X: what'); the caller
    then rolls back.
    """
    try:
        result = import_sheet(session, project, source, who, name=name)
    except SheetErrors as exc:
        return {"errors": exc.errors}
    except (InvalidSpreadsheet, ProjectError) as exc:
        return {"errors": [str(exc)]}
    return {"units_added": result.units_added, "units_existing": result.units_existing,
            "reviews": result.reviews, "applications": result.applications,
            "codes_created": len(result.codes_created), "round": result.round}


def import_summary(result: dict[str, Any], name: str) -> str:
    """Say what an import did, in a sentence."""
    return (f"{name}: {result['units_added']} new units, {result['reviews']} codings by coders "
            f"({result['applications']} codes applied), {result['codes_created']} new codes.")


def write_themes(session: Session, project: Project, viewer: str, rule: str, out: Path,
                 progress: Any = None) -> list[str]:
    """Write *project*'s theme workbook as *viewer* may see it to *out*; return its sheet titles."""
    from coding.workbook import gather, write_workbook  # NumPy and openpyxl: only when a workbook is asked for

    data = gather(session, project, quotes=QUOTES, bootstrap=BOOTSTRAP, rule=rule, names=account_names(session),
                  question_texts=question_texts(session, project), viewer=viewer)
    return write_workbook(data, out, progress)


def import_job(app: Flask, session: Session, project_id: int, path: str, filename: str, who: str) -> dict[str, Any]:
    """The ``coding.import`` job: import the saved upload, all or nothing, then delete it."""
    upload = Path(path)
    try:
        project = session.get(Project, project_id)
        if project is None:
            return {"errors": ["the project was deleted"]}
        result = import_upload(session, project, upload, filename, who)
        if "errors" in result:
            session.rollback()
        else:
            session.commit()
        return result
    finally:
        upload.unlink(missing_ok=True)


def workbook_job(app: Flask, session: Session, project_id: int, viewer: str, rule: str, job_key: str,
                 file: str) -> dict[str, Any]:
    """The ``coding.workbook`` job: write the viewer's workbook to *file*, saying each sheet on the job's row."""
    project = session.get(Project, project_id)
    if project is None:
        return {"errors": ["the project was deleted"]}

    def step(sheet: str) -> None:
        # Only reads happened so far in this session: committing the progress note commits nothing else.
        session.execute(update(Job).where(Job.active == f"coding.workbook:{job_key}")
                        .values(result={"step": f"writing sheet '{sheet}'"}))
        session.commit()

    sheets = write_themes(session, project, viewer, rule, Path(file), step)
    return {"file": Path(file).name, "sheets": len(sheets)}
