"""Setting a coding project up in the browser: a new project from a survey's open-ended answers, new answers
added since, a coded spreadsheet imported, and the theme workbook downloaded.

Every change goes through the functions the CLI uses (``surveyapp.coding_sources``, ``coding.importing``,
``coding.workbook``), all or nothing: an error names what and where, answers 422 and keeps nothing. Work that
may outlast a request (a big upload, the workbook of a big project) is a job (``surveyapp.coding_files``) whose
page says where it stands and, once done, offers its result to the one who asked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename

from coding.projects import project_stats
from coding.store import Project, ProjectError, ProjectMember

from .. import jobs
from ..auth.access import allowed, require, visible_surveys
from ..coding_files import (
    INLINE_BYTES,
    INLINE_UNITS,
    folder,
    import_summary,
    import_upload,
    new_file,
    write_themes,
)
from ..coding_sources import coded_questions, create_from_surveys, open_questions, refresh_units
from ..db import get_session
from ..models import Job, Survey
from .blueprint import bp
from .forms import ImportSheetForm, NewProjectForm, RefreshForm
from .view_helpers import consensus_rule, current_coder, project_or_404

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOBS = ("coding.import", "coding.workbook")


def _surveys() -> list[Survey]:
    """Return the surveys the logged-in user may see, by title."""
    db = get_session()
    shown = visible_surveys(db, require("project_create"))
    query = select(Survey).order_by(Survey.title, Survey.slug)
    if shown is not None:
        query = query.where(Survey.slug.in_(sorted(shown)))
    return list(db.scalars(query))


@bp.route("/new", methods=["GET", "POST"])
@allowed("project_create")
def new_project() -> Any:
    """Create a project from the answers to open-ended questions of a survey: first the survey, then questions."""
    db = get_session()
    surveys = _surveys()
    form = NewProjectForm(survey=request.args.get("survey", ""), name=request.args.get("name", ""))
    chosen = next((s for s in surveys if s.slug == (form.survey.data or "")), None)
    errors: list[str] = []
    picked = list(dict.fromkeys(request.form.getlist("question")))
    if request.method == "POST":
        if not form.validate_on_submit():
            errors += [e for field in form.errors.values() for e in field]
        elif chosen is None:
            errors.append("Choose one of the surveys listed.")  # also one this user may not see: same answer
        elif not picked:
            errors.append("Tick at least one open-ended question to code.")
        else:
            user = require("project_create")
            try:
                sources = [(chosen.slug, q) for q in coded_questions(db, chosen.slug, picked)]
                project, result = create_from_surveys(db, form.name.data or "", sources, user.email)
                db.add(ProjectMember(project_id=project.id, user_id=user.id, role="owner"))
                db.commit()
            except ProjectError as exc:
                db.rollback()
                errors.append(_sentence(str(exc)))
            except IntegrityError:  # another request took the name between the check and the commit
                db.rollback()
                errors.append(f"Project '{form.name.data}' exists already.")
            else:
                flash(f"Project '{project.name}' created: {result.added} answers to code in "
                      f"'{result.round.name if result.round else ''}'.", "info")
                return redirect(url_for(".project", name=project.name))
    questions = open_questions(db, chosen.slug) if chosen is not None else []
    return render_template("coding/new.html", form=form, surveys=surveys, chosen=chosen, questions=questions,
                           picked=set(picked), errors=errors), 422 if errors else 200


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@bp.post("/<name>/units/refresh")
@allowed("project_manage")
def refresh(name: str) -> Any:
    """Add the answers that arrived since to the project, as a new round."""
    db = get_session()
    proj = project_or_404(name)
    form = RefreshForm()
    if not form.validate_on_submit():
        flash("; ".join(e for field in form.errors.values() for e in field), "error")
        return redirect(url_for(".project", name=name))
    try:
        result = refresh_units(db, proj, (form.round.data or "").strip() or None)
        db.commit()
    except ProjectError as exc:
        db.rollback()
        flash(_sentence(str(exc)), "error")
        return redirect(url_for(".project", name=name))
    if result.round is None:
        flash(f"No new answers ({result.existing} already in the project).", "info")
    else:
        flash(f"{result.added} new answer{'s' if result.added != 1 else ''} added as '{result.round.name}' "
              f"({result.existing} already in the project).", "info")
    return redirect(url_for(".project", name=name))


@bp.post("/<name>/import")
@allowed("project_manage")
def import_codes(name: str) -> Any:
    """Import a coded spreadsheet: every bad cell listed and nothing kept, or all of it; a big one as a job."""
    db = get_session()
    proj = project_or_404(name)
    form = ImportSheetForm()
    if not form.validate_on_submit():
        errors = [e for field in form.errors.values() for e in field]
        return render_template("coding/import_errors.html", project=proj, name="the upload", errors=errors), 422
    upload = form.file.data
    filename = secure_filename(Path(upload.filename or "").name)[:80] or "upload.csv"
    # The size limit is the request's (SURVEYKIT_MAX_REQUEST_MB): a larger upload got its 413 page before this.
    data = upload.read()
    if len(data) > INLINE_BYTES:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        path = new_file(app, "upload", Path(filename).suffix.lower())
        path.write_bytes(data)
        job_id = jobs.enqueue("coding.import", key=str(proj.id), project_id=proj.id, path=str(path), filename=filename,
                              who=current_coder())
        job = db.get(Job, job_id)
        if job is None or job.arguments.get("path") != str(path):
            path.unlink(missing_ok=True)
            flash("An import into this project is running already: wait for it, then upload again.", "error")
            return redirect(url_for(".project", name=name))
        return redirect(url_for(".job", name=name, job_id=job_id))
    result = import_upload(db, proj, data, filename, current_coder())
    if "errors" in result:
        db.rollback()
        return render_template("coding/import_errors.html", project=proj, name=filename,
                               errors=result["errors"]), 422
    db.commit()
    flash(import_summary(result, filename), "info")
    return redirect(url_for(".project", name=name))


@bp.get("/<name>/themes.xlsx")
@allowed("project_code")
def themes_workbook(name: str) -> Any:
    """Send the theme workbook as I may see it (blind as the results page); a big project's is written by a job."""
    db = get_session()
    proj = project_or_404(name)
    rule = consensus_rule()
    me = current_coder()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    out = new_file(app, "themes", ".xlsx")
    if project_stats(db, proj)["units"] > INLINE_UNITS:
        key = f"{proj.id}:{me}:{rule}"
        job_id = jobs.enqueue("coding.workbook", key=key, project_id=proj.id, viewer=me, rule=rule, job_key=key,
                              file=str(out))
        return redirect(url_for(".job", name=name, job_id=job_id))
    try:
        write_themes(db, proj, me, rule, out)
        return _send(out, proj)
    finally:
        out.unlink(missing_ok=True)  # sent from the open handle


def _send(path: Path, project: Project) -> Any:
    response = send_file(path.open("rb"), mimetype=XLSX, as_attachment=True,
                         download_name=f"{project.name}-themes-{dt.date.today().isoformat()}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response


def _my_job(project: Project, job_id: int) -> Job:
    """Return a coding job of *project* that I asked for, or answer 404 (another's job is nobody's business)."""
    job = get_session().get(Job, job_id)
    if (job is None or job.name not in JOBS or job.arguments.get("project_id") != project.id
            or current_coder() not in (job.arguments.get("viewer"), job.arguments.get("who"))):
        abort(404, f"There is no job {job_id} of yours in project '{project.name}'.")
    return job


@bp.get("/<name>/jobs/<int:job_id>")
@allowed("project_code")
def job(name: str, job_id: int) -> Any:
    """Show where an import or workbook job stands, and its result once done."""
    proj = project_or_404(name)
    found = _my_job(proj, job_id)
    return render_template("coding/job.html", project=proj, job=found, result=found.result or {},
                           summary=import_summary(found.result or {}, found.arguments["filename"])
                           if found.name == "coding.import" and found.state == "done"
                           and "units_added" in (found.result or {}) else None)


@bp.get("/<name>/jobs/<int:job_id>/file")
@allowed("project_code")
def job_file(name: str, job_id: int) -> Any:
    """Send the workbook a finished job wrote for me."""
    proj = project_or_404(name)
    found = _my_job(proj, job_id)
    file = (found.result or {}).get("file") if found.name == "coding.workbook" and found.state == "done" else None
    path = folder(current_app._get_current_object()) / str(file) if file else None  # type: ignore[attr-defined]
    if path is None or not path.is_file():
        abort(404, "This workbook is not there (not written yet, or deleted a day after): download it again.")
    return _send(path, proj)
