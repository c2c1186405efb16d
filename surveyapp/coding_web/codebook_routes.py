"""Views of the codebook editor: add, edit and evolve codes, import and download the codebook, its changes.

Every change goes through coding.codebook.stored or coding.evolution, which keep the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from coding import evolution
from coding.codebook import stored as codebook_db
from coding.codebook.qdc import codebook_from_qdc, codebook_to_qdc
from coding.codebook.yamlfile import codebook_from_yaml, codebook_to_yaml
from coding.errors import InvalidCodebook
from coding.store import ProjectError

from ..auth.access import allowed
from ..db import get_session
from .blueprint import bp
from .forms import (
    AddCodeForm,
    EditCodeForm,
    EvolveForm,
    ImportCodebookForm,
    code_choices,
)
from .view_helpers import (
    PAGE,
    apply_form,
    current_coder,
    fail,
    flash_form_errors,
    parse_int,
    project_or_404,
)

MAX_CODEBOOK_BYTES = 2 * 1024 * 1024


# The codebook editor

@bp.get("/<name>/codebook")
@allowed("project_code")
def codebook(name: str) -> Any:
    """Show the codebook with forms to add, edit, rename, move, merge, split and retire codes."""
    session = get_session()
    proj = project_or_404(name)
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
                           describe=codebook_db.describe)


@bp.post("/<name>/codebook/add")
@allowed("project_manage")
def codebook_add(name: str) -> Any:
    """Add a code."""
    session = get_session()
    proj = project_or_404(name)
    form = AddCodeForm()
    form.parent.choices = []
    apply_form(form, lambda: codebook_db.add_code(
        session, proj, form.parent.data or None, form.name.data or "", current_coder(), **form.meaning()),
        f"Added '{form.name.data}'.")
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/edit")
@allowed("project_manage")
def codebook_edit(name: str) -> Any:
    """Change a code's definition, use when / not when, example or colour."""
    session = get_session()
    proj = project_or_404(name)
    form = EditCodeForm()
    apply_form(form, lambda: codebook_db.edit_code(
        session, proj, form.code.data or "", current_coder(), **form.meaning()),
        f"Saved '{form.code.data}'.")
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/evolve")
@allowed("project_manage")
def codebook_evolve(name: str) -> Any:
    """Rename, move, merge, split, retire or restore a code, applied to every existing application."""
    session = get_session()
    proj = project_or_404(name)
    form = EvolveForm()
    form.target.choices = []
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".codebook", name=name))
    path, why, me, action = form.code.data or "", form.why.data or "", current_coder(), form.action.data
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
        fail(exc)
    return redirect(url_for(".codebook", name=name))


@bp.post("/<name>/codebook/import")
@allowed("project_manage")
def codebook_import(name: str) -> Any:
    """Merge an uploaded .yaml/.qdc codebook into the project's (codes match by GUID, then path)."""
    session = get_session()
    proj = project_or_404(name)
    form = ImportCodebookForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
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
        counts = codebook_db.import_codebook(session, proj, book, current_coder(), form.why.data or "", source=filename)
        session.commit()
        flash(f"{filename}: {counts['added']} codes added, {counts['updated']} updated, "
              f"{counts['unchanged']} unchanged.", "info")
    except (ProjectError, InvalidCodebook) as exc:
        fail(exc)
    return redirect(url_for(".codebook", name=name))


@bp.get("/<name>/codebook.<fmt>")
@allowed("project_code")
def codebook_download(name: str, fmt: str) -> Any:
    """Download the codebook as YAML or REFI-QDA .qdc."""
    book = codebook_db.to_codebook(get_session(), project_or_404(name))
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
@allowed("project_code")
def codebook_changes(name: str) -> Any:
    """Show what changed between two codebook versions."""
    session = get_session()
    proj = project_or_404(name)
    current = codebook_db.current_version(session, proj.id)
    old = parse_int(request.args.get("from")) or 0
    new = parse_int(request.args.get("to"))
    new = current if new is None else new
    try:
        changes = evolution.diff(session, proj, old, new)
    except ProjectError as exc:
        abort(400, str(exc))
    return render_template("coding/changes.html", project=proj, changes=changes, current=current,
                           describe=codebook_db.describe)
