"""Views of the reviewers' pages: they parse the request, call the coding library, and pick the page.

Every page needs a logged-in investigator, whose e-mail is their coder name. Blindness is the library's:
the coding screen, filters, agreement and reconciliation pages only show a reviewer the other coders' codes
on units revealed to them (a round they finished, or a closed round).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from coding import applying, blindness, codings, evolution, navigation, projects, reconcile, rounds
from coding.agreement_report import summarize
from coding.codebook import stored as codebook_db
from coding.coders import display_names
from coding.store import ProjectError, Rereview, Unit

from ..auth.access import allowed, can, require, visible_projects
from ..auth.models import account_names
from ..auth.routes import current_user
from ..db import get_session
from .blueprint import bp
from .forms import (
    ActionForm,
    CodingForm,
    ConsensusForm,
    ImportSheetForm,
    RefreshForm,
)
from .members import team
from .view_helpers import (
    PAGE,
    current_coder,
    fail,
    flash_form_errors,
    form_ids,
    nav_args,
    parse_int,
    project_or_404,
    unit_or_404,
)

KEYS = "123456789abcdefghijklmnopqrstuvwxyz"


@bp.get("/")
@allowed("project_list")
def index() -> Any:
    """List the coding projects."""
    session = get_session()
    shown = visible_projects(session, require("project_list"))
    rows = [(p, projects.project_stats(session, p)) for p in projects.list_projects(session)
            if shown is None or p.id in shown]
    return render_template("coding/index.html", rows=rows,
                           can_create=can(session, current_user(), "project_create"))


@bp.get("/<name>/")
@allowed("project_code")
def project(name: str) -> Any:
    """Show a project: its rounds with each coder's progress, and what waits for me."""
    session = get_session()
    proj = project_or_404(name)
    me = current_coder()
    progress = [(r, rounds.round_progress(session, r)) for r in rounds.rounds(session, proj)]
    return render_template("coding/project.html", project=proj, rounds=progress, me=me,
                           stats=projects.project_stats(session, proj), form=ActionForm(),
                           rereviews=len(evolution.rereviews(session, proj, coder=me)),
                           consensus_rereviews=len(evolution.rereviews(session, proj, consensus=True)),
                           disputed=len(reconcile.disputes(session, proj, viewer=me)),
                           manage=can(session, current_user(), "project_manage", project=proj), **team(proj),
                           refresh_form=RefreshForm(), import_form=ImportSheetForm())


@bp.post("/<name>/rounds/<int:round_id>/<action>")
@allowed("project_code")
def round_action(name: str, round_id: int, action: str) -> Any:
    """Finish a round (reveals the others' codes to me) or close it (reveals them to everyone)."""
    session = get_session()
    proj = project_or_404(name)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        rnd = rounds.get_round(session, proj, round_id)
        if action == "finish":
            rounds.finish_round(session, rnd, current_coder())
            flash(f"You finished '{rnd.name}': the other coders' codes on its units are now visible to you.", "info")
        elif action == "close":
            require("project_manage", project=proj)
            rounds.close_round(session, rnd)
            flash(f"'{rnd.name}' is closed: everyone sees every code on its units.", "info")
        else:
            abort(404)
        session.commit()
    except ProjectError as exc:
        fail(exc)
    return redirect(url_for(".project", name=name))


# The coding screen

@bp.get("/<name>/code")
@allowed("project_code")
def code(name: str) -> Any:
    """Show one unit to code, found by position under the chosen filter (never loads all units)."""
    session = get_session()
    proj = project_or_404(name)
    me = current_coder()
    which = request.args.get("filter", "all")
    code_id, round_id = parse_int(request.args.get("with_code")), parse_int(request.args.get("round"))
    position = parse_int(request.args.get("pos")) or 0
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
        return redirect(url_for(".code", name=name, **nav_args(pos=position)))
    tree = codebook_db.load_tree(session, proj.id)
    context: dict[str, Any] = {
        "project": proj, "unit": unit, "which": which, "code_id": code_id, "round_id": round_id, "tree": tree,
        "rounds": rounds.rounds(session, proj), "total": navigation.count_where(session, where),
        "filters": navigation.FILTERS, "nav": nav_args(),
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
@allowed("project_code")
def save_codes(name: str, unit_id: int) -> Any:
    """Save my codes, quote flags and memo on a unit; go to the next unit on 'Save and next'."""
    session = get_session()
    proj = project_or_404(name)
    unit = unit_or_404(proj, unit_id)
    form = CodingForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))
    chosen = set(form_ids("code"))
    try:
        applying.set_codes(session, proj, unit.id, current_coder(), chosen, memo=form.memo.data or "",
                           quotes=set(form_ids("quote")) & chosen)
        session.commit()
    except ProjectError as exc:
        fail(exc)
        return redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))
    if request.form.get("go") == "next":
        return redirect(url_for(".code", name=name, **nav_args(pos=unit.position, dir="next")))
    flash("Saved.", "info")
    return redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))


@bp.post("/<name>/rereview/<int:entry_id>")
@allowed("project_code")
def rereview(name: str, entry_id: int) -> Any:
    """Resolve a re-review of a split code: keep the chosen new codes (possibly none)."""
    session = get_session()
    proj = project_or_404(name)
    entry = session.get(Rereview, entry_id)
    if entry is None or entry.project_id != proj.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    unit = session.get(Unit, entry.unit_id)
    chosen = form_ids("target")
    try:
        evolution.resolve(session, proj, entry_id, chosen, current_coder())
        session.commit()
        flash("Re-review saved.", "info")
    except ProjectError as exc:
        fail(exc)
    if entry.coder is None and unit is not None:
        return redirect(url_for(".meeting", name=name, unit_id=unit.id))
    return redirect(url_for(".code", name=name, **nav_args(pos=unit.position if unit else 0)))


# Agreement and reconciliation

@bp.get("/<name>/agreement")
@allowed("project_code")
def agreement(name: str) -> Any:
    """Show agreement on the units revealed to me (whole project or one round)."""
    session = get_session()
    proj = project_or_404(name)
    round_id = parse_int(request.args.get("round"))
    visible = blindness.revealed_unit_ids(session, proj, current_coder())
    report = None
    if visible:
        try:
            report = codings.project_agreement(session, proj, unit_ids=visible, round_id=round_id, bootstrap=500)
        except ProjectError:
            report = None
    names = display_names(report["coders"], account_names(session)) if report else {}
    return render_template("coding/agreement.html", project=proj,
                           summary=summarize(report, names) if report else None,
                           round_id=round_id, rounds=rounds.rounds(session, proj))


@bp.get("/<name>/reconcile")
@allowed("project_code")
def reconcile_queue(name: str) -> Any:
    """List the discrepancy queue: units where coders differ, the most disputed codes first."""
    session = get_session()
    proj = project_or_404(name)
    page = max(parse_int(request.args.get("page")) or 1, 1)
    decided = request.args.get("decided") == "1"
    queue = reconcile.disputes(session, proj, viewer=current_coder(), include_decided=decided)
    tree = codebook_db.load_tree(session, proj.id)
    weights = reconcile.code_dispute_counts(session, proj)
    shown = queue[(page - 1) * PAGE: page * PAGE]
    return render_template("coding/reconcile.html", project=proj, queue=shown, total=len(queue), page=page,
                           pages=max(1, -(-len(queue) // PAGE)), tree=tree, weights=weights, decided=decided,
                           consensus_rereviews=evolution.rereviews(session, proj, consensus=True))


@bp.route("/<name>/reconcile/<int:unit_id>", methods=["GET", "POST"])
@allowed("project_code")
def meeting(name: str, unit_id: int) -> Any:
    """The meeting view: every coder's codes and memos side by side; record the team's consensus."""
    session = get_session()
    proj = project_or_404(name)
    me = current_coder()
    try:
        view = reconcile.meeting(session, proj, unit_id, viewer=me)
    except ProjectError as exc:
        abort(403, str(exc))
    form = ConsensusForm(note=view.consensus.note if view.consensus else "")
    if request.method == "POST":
        if form.validate_on_submit():
            chosen = set(form_ids("code"))
            quotes = set(form_ids("quote")) & chosen
            try:
                reconcile.record_consensus(session, proj, unit_id, chosen, form.note.data or "", me, quotes)
                session.commit()
                flash("Consensus recorded.", "info")
                following = next((d for d in reconcile.disputes(session, proj, viewer=me)), None)
                if request.form.get("go") == "next" and following is not None:
                    return redirect(url_for(".meeting", name=name, unit_id=following.unit_id))
                return redirect(url_for(".meeting", name=name, unit_id=unit_id))
            except ProjectError as exc:
                fail(exc)
        else:
            flash_form_errors(form)
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
