"""Views of the reviewers' pages: they parse the request, call the coding library, and pick the page.

Every page needs a logged-in investigator, whose e-mail is their coder name. Blindness is the library's:
the coding screen, filters, agreement and reconciliation pages only show a reviewer the other coders' codes
on units revealed to them (a round they finished, or a closed round).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from coding import applying, blindness, codings, evolution, navigation, projects, reconcile, rounds
from coding.agreement_report import summarize
from coding.codebook import stored as codebook_db
from coding.codebook.qdc import codebook_from_qdc, codebook_to_qdc
from coding.codebook.yamlfile import codebook_from_yaml, codebook_to_yaml
from coding.errors import InvalidCodebook
from coding.store import Project, ProjectError, Rereview, Unit
from coding.workbook import describe

from ..auth import current_user, login_required
from ..db import get_session
from . import bp
from .forms import (
    ActionForm,
    AddCodeForm,
    CodingForm,
    ConsensusForm,
    EditCodeForm,
    EvolveForm,
    ImportCodebookForm,
    code_choices,
)

KEYS = "123456789abcdefghijklmnopqrstuvwxyz"
PAGE = 50
MAX_CODEBOOK_BYTES = 2 * 1024 * 1024


def _me() -> str:
    user = current_user()
    assert user is not None  # login_required ran first
    return user.email


def _project(name: str) -> Project:
    project = projects.find_project(get_session(), name)
    if project is None:
        abort(404, f"There is no coding project '{name}'.")
    return project


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        abort(400, f"'{value}' is not a number.")


def _fail(exc: Exception) -> None:
    get_session().rollback()
    flash(str(exc), "error")


def _flash_form_errors(form: FlaskForm) -> None:
    flash("; ".join(e for errors in form.errors.values() for e in errors), "error")


@bp.get("/")
@login_required
def index() -> Any:
    """List the coding projects."""
    session = get_session()
    rows = [(p, projects.project_stats(session, p)) for p in projects.list_projects(session)]
    return render_template("coding/index.html", rows=rows)


@bp.get("/<name>/")
@login_required
def project(name: str) -> Any:
    """Show a project: its rounds with each coder's progress, and what waits for me."""
    session = get_session()
    proj = _project(name)
    me = _me()
    progress = [(r, rounds.round_progress(session, r)) for r in rounds.rounds(session, proj)]
    return render_template("coding/project.html", project=proj, rounds=progress, me=me,
                           stats=projects.project_stats(session, proj), form=ActionForm(),
                           rereviews=len(evolution.rereviews(session, proj, coder=me)),
                           consensus_rereviews=len(evolution.rereviews(session, proj, consensus=True)),
                           disputed=len(reconcile.disputes(session, proj, viewer=me)))


@bp.post("/<name>/rounds/<int:round_id>/<action>")
@login_required
def round_action(name: str, round_id: int, action: str) -> Any:
    """Finish a round (reveals the others' codes to me) or close it (reveals them to everyone)."""
    session = get_session()
    proj = _project(name)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        rnd = rounds.get_round(session, proj, round_id)
        if action == "finish":
            rounds.finish_round(session, rnd, _me())
            flash(f"You finished '{rnd.name}': the other coders' codes on its units are now visible to you.", "info")
        elif action == "close":
            rounds.close_round(session, rnd)
            flash(f"'{rnd.name}' is closed: everyone sees every code on its units.", "info")
        else:
            abort(404)
        session.commit()
    except ProjectError as exc:
        _fail(exc)
    return redirect(url_for(".project", name=name))


# The coding screen

def _nav_args(**override: Any) -> dict[str, Any]:
    # The filter's code travels as "with_code": "code" is the name of the coding form's checkboxes.
    args = {k: request.values.get(k) for k in ("filter", "with_code", "round") if request.values.get(k)}
    args.update({k: v for k, v in override.items() if v is not None})
    return args


@bp.get("/<name>/code")
@login_required
def code(name: str) -> Any:
    """Show one unit to code, found by position under the chosen filter (never loads all units)."""
    session = get_session()
    proj = _project(name)
    me = _me()
    which = request.args.get("filter", "all")
    code_id, round_id = _int(request.args.get("with_code")), _int(request.args.get("round"))
    position = _int(request.args.get("pos")) or 0
    direction = request.args.get("dir", "here")
    if direction not in ("here", "next", "previous"):
        abort(400, "dir: here, next or previous")
    try:
        where = navigation.filter_clause(proj, me, which, code_id=code_id, round_id=round_id)
    except ProjectError as exc:
        abort(400, str(exc))
    unit = navigation.unit_at(session, where, position, direction)
    if unit is None and direction != "here":
        flash("No more units this way under this filter.", "info")
        return redirect(url_for(".code", name=name, **_nav_args(pos=position)))
    tree = codebook_db.load_tree(session, proj.id)
    context: dict[str, Any] = {
        "project": proj, "unit": unit, "which": which, "code_id": code_id, "round_id": round_id, "tree": tree,
        "rounds": rounds.rounds(session, proj), "total": navigation.count_where(session, where),
        "filters": navigation.FILTERS, "nav": _nav_args(),
    }
    if unit is not None:
        reviews = blindness.visible_reviews(session, unit.id, me)
        active = {c.id for _, c, _ in codebook_db.active_codes(tree)}
        mine = reviews.get(me)
        # Codes already applied stay listed even when retired since, so saving never drops them silently.
        listed = [(path, c, depth) for path, c, depth in tree.walk()
                  if c.id in active or (mine is not None and c.id in mine.codes)]
        context.update(
            rank=navigation.rank_of(session, where, unit.position), mine=mine,
            others={c: v for c, v in sorted(reviews.items()) if c != me},
            revealed=blindness.is_revealed(session, unit.id, me), form=CodingForm(memo=mine.memo if mine else ""),
            codes=[(KEYS[i] if i < len(KEYS) else "", path, c, depth) for i, (path, c, depth) in enumerate(listed)],
            rereviews=session.scalars(select(Rereview).filter_by(unit_id=unit.id, coder=me, resolved=False)).all(),
            action_form=ActionForm(),
        )
    return render_template("coding/code.html", **context)


@bp.post("/<name>/code/<int:unit_id>")
@login_required
def save_codes(name: str, unit_id: int) -> Any:
    """Save my codes, quote flags and memo on a unit; go to the next unit on 'Save and next'."""
    session = get_session()
    proj = _project(name)
    unit = session.get(Unit, unit_id)
    if unit is None or unit.project_id != proj.id:
        abort(404)
    form = CodingForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for(".code", name=name, **_nav_args(pos=unit.position)))
    chosen = {_int(v) for v in request.form.getlist("code")}
    quotes = {_int(v) for v in request.form.getlist("quote")} & chosen
    try:
        applying.set_codes(session, proj, unit.id, _me(), {c for c in chosen if c is not None},
                           memo=form.memo.data or "", quotes={q for q in quotes if q is not None})
        session.commit()
    except ProjectError as exc:
        _fail(exc)
        return redirect(url_for(".code", name=name, **_nav_args(pos=unit.position)))
    if request.form.get("go") == "next":
        return redirect(url_for(".code", name=name, **_nav_args(pos=unit.position, dir="next")))
    flash("Saved.", "info")
    return redirect(url_for(".code", name=name, **_nav_args(pos=unit.position)))


@bp.post("/<name>/rereview/<int:entry_id>")
@login_required
def rereview(name: str, entry_id: int) -> Any:
    """Resolve a re-review of a split code: keep the chosen new codes (possibly none)."""
    session = get_session()
    proj = _project(name)
    entry = session.get(Rereview, entry_id)
    if entry is None or entry.project_id != proj.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    unit = session.get(Unit, entry.unit_id)
    chosen = [c for c in (_int(v) for v in request.form.getlist("target")) if c is not None]
    try:
        evolution.resolve(session, proj, entry_id, chosen, _me())
        session.commit()
        flash("Re-review saved.", "info")
    except ProjectError as exc:
        _fail(exc)
    if entry.coder is None and unit is not None:
        return redirect(url_for(".meeting", name=name, unit_id=unit.id))
    return redirect(url_for(".code", name=name, **_nav_args(pos=unit.position if unit else 0)))


# The codebook editor

@bp.get("/<name>/codebook")
@login_required
def codebook(name: str) -> Any:
    """Show the codebook with forms to add, edit, rename, move, merge, split and retire codes."""
    session = get_session()
    proj = _project(name)
    tree = codebook_db.load_tree(session, proj.id)
    paths = [path for path, _, _ in tree.walk()]
    add = AddCodeForm()
    add.parent.choices = code_choices(paths)
    evolve = EvolveForm()
    evolve.target.choices = code_choices(paths)
    version = codebook_db.current_version(session, proj.id)
    log = list(reversed(codebook_db.audit_log(session, proj)))[:PAGE]
    return render_template("coding/codebook.html", project=proj, tree=tree, add=add, evolve=evolve,
                           edit=EditCodeForm(), upload=ImportCodebookForm(), version=version, log=log,
                           describe=describe)


@bp.post("/<name>/codebook/add")
@login_required
def codebook_add(name: str) -> Any:
    """Add a code."""
    session = get_session()
    proj = _project(name)
    form = AddCodeForm()
    form.parent.choices = []
    if form.validate_on_submit():
        try:
            codebook_db.add_code(session, proj, form.parent.data or None, form.name.data or "", _me(),
                                 form.why.data or "", color=form.color.data or None,
                                 **{k: getattr(form, k).data or "" for k in codebook_db.FIELDS})
            session.commit()
            flash(f"Added '{form.name.data}'.", "info")
        except ProjectError as exc:
            _fail(exc)
    else:
        _flash_form_errors(form)
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/edit")
@login_required
def codebook_edit(name: str) -> Any:
    """Change a code's definition, use when / not when, example or colour."""
    session = get_session()
    proj = _project(name)
    form = EditCodeForm()
    if form.validate_on_submit():
        try:
            codebook_db.edit_code(session, proj, form.code.data or "", _me(), form.why.data or "",
                                  color=form.color.data or None,
                                  **{k: getattr(form, k).data or "" for k in codebook_db.FIELDS})
            session.commit()
            flash(f"Saved '{form.code.data}'.", "info")
        except ProjectError as exc:
            _fail(exc)
    else:
        _flash_form_errors(form)
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/evolve")
@login_required
def codebook_evolve(name: str) -> Any:
    """Rename, move, merge, split, retire or restore a code, applied to every existing application."""
    session = get_session()
    proj = _project(name)
    form = EvolveForm()
    form.target.choices = []
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for(".codebook", name=name))
    path, why, me, action = form.code.data or "", form.why.data or "", _me(), form.action.data
    try:
        if action == "rename":
            evolution.rename(session, proj, path, form.new_name.data or "", me, why)
            message = f"Renamed '{path}'."
        elif action == "move":
            evolution.move(session, proj, path, form.target.data or None, me, why)
            message = f"Moved '{path}'."
        elif action == "merge":
            if not form.target.data:
                raise ProjectError("choose the code to merge into")
            r = evolution.merge(session, proj, path, form.target.data, me, why)
            message = (f"Merged '{path}' into '{form.target.data}': {r.moved} applications moved, "
                       f"{r.collapsed} collapsed where a coder had both.")
        elif action == "split":
            parts = [p.strip() for p in (form.parts.data or "").split(";") if p.strip()]
            s = evolution.split(session, proj, path, parts, me, why)
            message = (f"Split '{path}' into {', '.join(s.targets)}: {s.queued} applications queued for "
                       "re-review by their coders.")
        else:
            evolution.retire(session, proj, path, me, why, retired=action == "retire")
            message = f"{'Retired' if action == 'retire' else 'Restored'} '{path}'."
        session.commit()
        flash(message, "info")
    except ProjectError as exc:
        _fail(exc)
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/import")
@login_required
def codebook_import(name: str) -> Any:
    """Merge an uploaded .yaml/.qdc codebook into the project's (codes match by GUID, then path)."""
    session = get_session()
    proj = _project(name)
    form = ImportCodebookForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for(".codebook", name=name))
    upload = form.file.data
    filename = upload.filename or "codebook"
    data = upload.read(MAX_CODEBOOK_BYTES + 1)
    if len(data) > MAX_CODEBOOK_BYTES:
        flash(f"{filename}: larger than {MAX_CODEBOOK_BYTES // 1024 // 1024} MB", "error")
        return redirect(url_for(".codebook", name=name))
    try:
        if filename.lower().endswith(".qdc"):
            book = codebook_from_qdc(data, source=filename)
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidCodebook(filename, None, "not UTF-8 text") from None
            book = codebook_from_yaml(text, source=filename)
        counts = codebook_db.import_codebook(session, proj, book, _me(), form.why.data or "", source=filename)
        session.commit()
        flash(f"{filename}: {counts['added']} codes added, {counts['updated']} updated, "
              f"{counts['unchanged']} unchanged.", "info")
    except (ProjectError, InvalidCodebook) as exc:
        _fail(exc)
    return redirect(url_for(".codebook", name=name))


@bp.get("/<name>/codebook.<fmt>")
@login_required
def codebook_download(name: str, fmt: str) -> Any:
    """Download the codebook as YAML or REFI-QDA .qdc."""
    book = codebook_db.to_codebook(get_session(), _project(name))
    if fmt == "yaml":
        body, mimetype = codebook_to_yaml(book).encode("utf-8"), "application/yaml"
    elif fmt == "qdc":
        if not book.codes:
            abort(404, "The codebook is empty; a REFI-QDA codebook needs at least one code.")
        body, mimetype = codebook_to_qdc(book), "application/xml"
    else:
        abort(404)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}-codebook.{fmt}"'})


@bp.get("/<name>/codebook/changes")
@login_required
def codebook_changes(name: str) -> Any:
    """Show what changed between two codebook versions."""
    session = get_session()
    proj = _project(name)
    current = codebook_db.current_version(session, proj.id)
    old = _int(request.args.get("from")) or 0
    new = _int(request.args.get("to"))
    new = current if new is None else new
    try:
        changes = evolution.diff(session, proj, old, new)
    except ProjectError as exc:
        abort(400, str(exc))
    return render_template("coding/changes.html", project=proj, changes=changes, current=current,
                           describe=describe)


# Agreement and reconciliation

@bp.get("/<name>/agreement")
@login_required
def agreement(name: str) -> Any:
    """Show agreement on the units revealed to me (whole project or one round)."""
    session = get_session()
    proj = _project(name)
    round_id = _int(request.args.get("round"))
    visible = blindness.revealed_unit_ids(session, proj, _me())
    report = None
    if visible:
        try:
            report = codings.project_agreement(session, proj, unit_ids=visible, round_id=round_id, bootstrap=500)
        except ProjectError:
            report = None
    return render_template("coding/agreement.html", project=proj, summary=summarize(report) if report else None,
                           round_id=round_id, rounds=rounds.rounds(session, proj))


@bp.get("/<name>/reconcile")
@login_required
def reconcile_queue(name: str) -> Any:
    """List the discrepancy queue: units where coders differ, the most disputed codes first."""
    session = get_session()
    proj = _project(name)
    page = max(_int(request.args.get("page")) or 1, 1)
    decided = request.args.get("decided") == "1"
    queue = reconcile.disputes(session, proj, viewer=_me(), include_decided=decided)
    tree = codebook_db.load_tree(session, proj.id)
    weights = reconcile.code_dispute_counts(session, proj)
    shown = queue[(page - 1) * PAGE: page * PAGE]
    return render_template("coding/reconcile.html", project=proj, queue=shown, total=len(queue), page=page,
                           pages=max(1, -(-len(queue) // PAGE)), tree=tree, weights=weights, decided=decided,
                           consensus_rereviews=evolution.rereviews(session, proj, consensus=True))


@bp.route("/<name>/reconcile/<int:unit_id>", methods=["GET", "POST"])
@login_required
def meeting(name: str, unit_id: int) -> Any:
    """The meeting view: every coder's codes and memos side by side; record the team's consensus."""
    session = get_session()
    proj = _project(name)
    me = _me()
    try:
        view = reconcile.meeting(session, proj, unit_id, viewer=me)
    except ProjectError as exc:
        abort(403, str(exc))
    form = ConsensusForm(note=view.consensus.note if view.consensus else "")
    if request.method == "POST":
        if form.validate_on_submit():
            chosen = {c for c in (_int(v) for v in request.form.getlist("code")) if c is not None}
            quotes = {c for c in (_int(v) for v in request.form.getlist("quote")) if c is not None} & chosen
            try:
                reconcile.record_consensus(session, proj, unit_id, chosen, form.note.data or "", me, quotes)
                session.commit()
                flash("Consensus recorded.", "info")
                following = next((d for d in reconcile.disputes(session, proj, viewer=me)), None)
                if request.form.get("go") == "next" and following is not None:
                    return redirect(url_for(".meeting", name=name, unit_id=following.unit_id))
                return redirect(url_for(".meeting", name=name, unit_id=unit_id))
            except ProjectError as exc:
                _fail(exc)
        else:
            _flash_form_errors(form)
    tree = codebook_db.load_tree(session, proj.id)
    coders = sorted(view.reviews)
    agreed = set.intersection(*(set(v.codes) for v in view.reviews.values())) if view.reviews else set()
    chosen = set(view.consensus_codes) if view.consensus else agreed
    disputed = {c for c in view.all_codes if 0 < sum(c in v.codes for v in view.reviews.values()) < len(coders)}
    listed = [(path, c, depth) for path, c, depth in tree.walk()
              if not applying.retired_in(tree, c.id) or c.id in view.consensus_codes]
    return render_template("coding/meeting.html", project=proj, view=view, coders=coders, tree=tree, form=form,
                           chosen=chosen, listed=listed, disputed=disputed, action_form=ActionForm(),
                           rereviews=[e for e in evolution.rereviews(session, proj, consensus=True)
                                      if e.unit_id == unit_id])
