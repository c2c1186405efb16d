"""Views of coding assistance: the coding screen's suggestion panel, accept/reject, settings, themes, KWIC.

The panel is filled by ``coding_assist(...)``, a function the coding screen's template calls (this module
adds it to the blueprint's template context), so the coding view itself stays as it is. Accepting applies
the code with ``applying.set_codes`` (what the checkboxes' Save does) and logs the decision; rejecting only
logs it. Nothing here applies a code on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import select

from coding import applying, assist_log, navigation, projects
from coding.assist.sources import BACKEND_LABELS, CODEBOOK, MODEL
from coding.assist_project import (
    CONSENSUS,
    VisibleCodes,
    coder_target,
    scope_clause,
    target_coder,
    unit_texts,
    visible_coders,
    visible_codes,
)
from coding.codebook.stored import Tree, active_codes, load_tree
from coding.store import Application, Project, ProjectError, Review, Unit

from ..auth.access import allowed
from ..db import get_session
from ..security import parse_bounded_int
from .assist import service
from .blueprint import bp
from .forms import ActionForm, CodingForm
from .view_helpers import (
    current_coder,
    fail,
    flash_form_errors,
    form_ids,
    nav_args,
    parse_int,
    project_or_404,
    unit_or_404,
)

if TYPE_CHECKING:  # the assistant's libraries (nltk, scikit-learn) load in the views that use them
    from coding.assist.similar import Neighbour

DEFAULT_THRESHOLD = 0.25
TOP_SUGGESTIONS = 5
SIMILAR = 5
CANDIDATES = 50  # similar units fetched before those without codes visible to the viewer are dropped
SNIPPET = 300
MAX_THEME_UNITS = 5000
KWIC_LIMIT = 200
NO_FIT_BELOW = 0.3


# Settings: per reviewer and project, kept in the signed session cookie.

@dataclass
class Settings:
    """A reviewer's assistant settings for one project."""

    threshold: float
    target: str


def _parse_threshold(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        abort(400, f"threshold '{value}': a number between 0 and 1")
    if not 0.0 <= number <= 1.0:
        abort(400, f"threshold '{value}': a number between 0 and 1")
    return number


def _check_target(project: Project, value: str) -> str:
    try:
        coder = target_coder(value)
    except ProjectError as exc:
        abort(400, str(exc))
    if coder is not None and coder not in projects.coders(get_session(), project):
        abort(400, f"training target: '{coder}' has coded nothing in project '{project.name}'")
    return value


def settings(project: Project) -> Settings:
    """Return my saved settings for *project* (only the settings form's POST changes them: a GET changes nothing)."""
    saved = cookie.get("assist", {}).get(project.name, {})
    return Settings(float(saved.get("threshold", DEFAULT_THRESHOLD)), str(saved.get("target", CONSENSUS)))


def _save(project: Project, chosen: Settings) -> None:
    everything = dict(cookie.get("assist", {}))
    everything[project.name] = {"threshold": chosen.threshold, "target": chosen.target}
    cookie["assist"] = everything


def target_label(target: str) -> str:
    """Describe a training target for a reviewer."""
    coder = target_coder(target)
    return "the team's codes (consensus, else majority)" if coder is None else f"{coder}'s codes"


@bp.post("/<name>/assist/settings")
@allowed("project_manage")
def assist_settings(name: str) -> Any:
    """Save my threshold and training target for the project's suggestions."""
    proj = project_or_404(name)
    if not ActionForm().validate_on_submit():
        abort(400)
    chosen = settings(proj)
    threshold = _parse_threshold(request.form.get("threshold"))
    target = request.form.get("target")
    _save(proj, Settings(threshold if threshold is not None else chosen.threshold,
                         _check_target(proj, target) if target else chosen.target))
    flash("Suggestion settings saved.", "info")
    back = request.form.get("next", "")
    if not back.startswith(f"/coding/{name}/") or "//" in back or "\\" in back:
        back = url_for(".project", name=name)
    return redirect(back)


# The panel of the coding screen

@dataclass
class Offered:
    """A suggestion as the panel shows it; ``value`` travels back with Accept/Reject."""

    code_id: int
    path: str
    probability: float
    source: str
    calibrated: bool = True

    @property
    def value(self) -> str:
        """Return the form value naming this suggestion: code id, score and source."""
        return f"{self.code_id}|{self.probability:.4f}|{self.source}"


@dataclass
class Similar:
    """A similar unit with the codes the viewer may see on it and the words it shares with this one."""

    unit_id: int
    label: str
    position: int
    text: str
    score: float
    shared: list[str]
    codes: VisibleCodes


def _suggestions(project: Project, unit: Unit, mine: Any, tree: Tree, me: str, chosen: Settings,
                 assistant: Any) -> list[Offered]:
    active = {c.id for _, c, _ in active_codes(tree)}
    applied = set(mine.codes) if mine is not None else set()
    decided = assist_log.decided_codes(get_session(), project, unit.id, me, tree)
    offered = []
    calibrated = assistant.calibrated(me, chosen.target)
    for s in assistant.suggest(me, chosen.target, unit.text, chosen.threshold):
        code_id = tree.ids.get(s.code)
        # Retired codes are not offered; applied ones need no offer; a decided one is not asked again.
        if code_id is None or code_id not in active or code_id in applied or code_id in decided:
            continue
        offered.append(Offered(code_id, s.code, s.probability, s.source, s.code in calibrated))
    return offered[:TOP_SUGGESTIONS]


def _similar(project: Project, neighbours: list[Neighbour], me: str, tree: Tree) -> list[Similar]:
    session = get_session()
    seen: dict[int, VisibleCodes] = {}
    kept: list[Neighbour] = []
    # Most of the nearest units usually have codes the viewer may see: check a few first, the rest if needed.
    for batch in (neighbours[:2 * SIMILAR], neighbours[2 * SIMILAR:]):
        seen.update(visible_codes(session, project, [int(n.unit_id) for n in batch], me, tree))
        kept += [n for n in batch if int(n.unit_id) in seen]
        if len(kept) >= SIMILAR:
            break
    kept = kept[:SIMILAR]
    if not kept:
        return []
    rows = {uid: (label, position, text) for uid, label, position, text in session.execute(
        select(Unit.id, Unit.label, Unit.position, Unit.text).where(Unit.id.in_([int(n.unit_id) for n in kept])))}
    out = []
    for n in kept:
        label, position, text = rows[int(n.unit_id)]
        snippet = text if len(text) <= SNIPPET else text[:SNIPPET].rsplit(" ", 1)[0] + " …"
        out.append(Similar(int(n.unit_id), label, position, snippet, n.score, sorted(set(n.shared.values())),
                           seen[int(n.unit_id)]))
    return out


def coding_assist(project: Project, unit: Unit, mine: Any, revealed: bool, tree: Tree) -> dict[str, Any]:
    """Return what the coding screen's assistant panel shows for *unit* (called from the template)."""
    me = current_coder()
    chosen = settings(project)
    session = get_session()
    panel: dict[str, Any] = {"settings": chosen, "target_label": target_label(chosen.target), "suggestions": [],
                             "similar": None, "error": None, "revealed": revealed, "MODEL": MODEL,
                             "CODEBOOK": CODEBOOK,
                             "precision": current_app.config.get("SURVEYKIT_ASSIST_PRECISION")}
    try:
        assistant = service().poke(session, project, me, chosen.target)
        panel["status"] = assistant.status(me, chosen.target)
        if not revealed:
            panel["suggestions"] = _suggestions(project, unit, mine, tree, me, chosen, assistant)
        neighbours = assistant.similar(unit.id, unit.text, CANDIDATES)
        panel["similar"] = None if neighbours is None else _similar(project, neighbours, me, tree)
    except Exception:  # the panel is optional: a failure there must not take the coding screen down
        current_app.logger.exception("coding assistant panel failed for project %s", project.name)
        panel["error"] = "The assistant failed on this unit (the error is in the server log); coding works as usual."
    return panel


def assist_options(project: Project) -> dict[str, Any]:
    """Return my settings for *project* and the training targets I may choose (for the settings form)."""
    coders = projects.coders(get_session(), project)
    return {"settings": settings(project),
            "targets": [(CONSENSUS, target_label(CONSENSUS))] + [(coder_target(c), target_label(coder_target(c)))
                                                                  for c in coders]}


@bp.context_processor
def _assist_context() -> dict[str, Any]:
    return {"coding_assist": coding_assist, "assist_options": assist_options, "backend_labels": BACKEND_LABELS}


# Accept and reject

def _offered(value: str | None) -> tuple[int, float, str]:
    parts = (value or "").split("|")
    if len(parts) != 3 or parts[2] not in (MODEL, CODEBOOK):
        abort(400, "Which suggestion? Expected 'code id|score|source'.")
    code_id = parse_bounded_int(parts[0])
    try:
        probability = float(parts[1])
    except ValueError:
        probability = -1.0
    if code_id is None or not 0.0 <= probability <= 1.0:
        abort(400, "Which suggestion? Expected 'code id|score|source'.")
    return code_id, probability, parts[2]


@bp.post("/<name>/assist/<int:unit_id>/accept")
@allowed("project_code")
def assist_accept(name: str, unit_id: int) -> Any:
    """Apply a suggested code along with the coding form's other codes and memo, and log the acceptance."""
    session = get_session()
    proj = project_or_404(name)
    unit = unit_or_404(proj, unit_id)
    back = redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))
    form = CodingForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    code_id, probability, source = _offered(request.form.get("accept"))
    chosen = set(form_ids("code"))
    quotes = set(form_ids("quote")) & chosen
    me = current_coder()
    try:
        applying.set_codes(session, proj, unit.id, me, chosen | {code_id}, memo=form.memo.data or "", quotes=quotes)
        decision = assist_log.record_decision(session, proj, unit.id, me, code_id, probability, source, True)
        session.commit()
    except ProjectError as exc:
        fail(exc)
        return back
    flash(f"Applied '{decision.code_path}' (suggested) and saved your codes.", "info")
    return back


@bp.post("/<name>/assist/<int:unit_id>/reject")
@allowed("project_code")
def assist_reject(name: str, unit_id: int) -> Any:
    """Log that I rejected a suggestion (it is not offered again for this unit)."""
    session = get_session()
    proj = project_or_404(name)
    unit = unit_or_404(proj, unit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    code_id, probability, source = _offered(request.form.get("suggestion"))
    try:
        decision = assist_log.record_decision(session, proj, unit.id, current_coder(), code_id, probability, source,
                                              False)
        session.commit()
    except ProjectError as exc:
        if request.headers.get("X-Requested-With") == "fetch":
            session.rollback()
            abort(400, str(exc))
        fail(exc)
        return redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))
    if request.headers.get("X-Requested-With") == "fetch":  # the panel's script hides the row itself
        return Response(status=204)
    flash(f"Rejected the suggestion '{decision.code_path}'.", "info")
    return redirect(url_for(".code", name=name, **nav_args(pos=unit.position)))


# Candidate themes and the queue of answers no code fits

@bp.get("/<name>/themes")
@allowed("project_code")
def themes(name: str) -> Any:
    """Show candidate themes among answers no code fits (or all I have not coded), and the no-fit queue."""
    from coding.assist.encoders import resolve
    from coding.assist.themes import candidate_themes, no_fit_queue

    session = get_session()
    proj = project_or_404(name)
    me = current_coder()
    chosen = settings(proj)
    among = request.args.get("among", "nofit")
    if among not in ("nofit", "uncoded"):
        abort(400, "among: 'nofit' or 'uncoded'")
    below = _parse_threshold(request.args.get("below"))
    below = NO_FIT_BELOW if below is None else below
    n_themes = min(max(parse_int(request.args.get("n")) or 5, 1), 20)
    uncoded = unit_texts(session, proj, navigation.filter_clause(proj, me, "uncoded"))
    total_uncoded = len(uncoded)
    # Positions follow response keys, not arrival, so the first units by position are a fair sample.
    uncoded = dict(list(uncoded.items())[:MAX_THEME_UNITS])
    assistant = service().poke(session, proj, me, chosen.target)
    with assistant.lock:
        suggester = assistant.suggesters[(me, chosen.target)].suggester
    queue = no_fit_queue({str(u): t for u, t in uncoded.items()}, suggester, threshold=below)
    # Answers I read and found no code for are the clearest "no code fits".
    mine_empty = ~select(Application.unit_id).where(Application.unit_id == Review.unit_id,
                                                    Application.coder == me).exists()
    empty = unit_texts(session, proj, select(Review.unit_id).where(Review.unit_id == Unit.id, Review.coder == me,
                                                                   mine_empty).exists())
    pool = {**{int(n.unit_id): uncoded[int(n.unit_id)] for n in queue}, **empty} if among == "nofit" else uncoded
    backend = resolve(service().backend)
    found = candidate_themes({str(u): t for u, t in pool.items()}, n_themes=n_themes, backend=backend)
    texts = {**uncoded, **empty}
    rows = {uid: (label, position) for uid, label, position in session.execute(
        select(Unit.id, Unit.label, Unit.position).where(Unit.id.in_(list(texts))))}
    return render_template("coding/themes.html", project=proj, among=among, below=below, n_themes=n_themes,
                           themes=found, queue=queue[:KWIC_LIMIT], queue_total=len(queue), empty=list(empty),
                           rows=rows, texts=texts, total_uncoded=total_uncoded, sampled=len(uncoded),
                           pool_size=len(pool), target_label=target_label(chosen.target), snippet=SNIPPET,
                           backend=backend, suggestions_backend=suggester.backend_name)


# Keyword in context

@bp.get("/<name>/kwic")
@allowed("project_code")
def kwic_page(name: str) -> Any:
    """Show every occurrence of a word or phrase (matched by stem), filterable by code and by coder."""
    from coding.assist.kwic import Found, search  # nltk: loaded by the views that stem

    session = get_session()
    proj = project_or_404(name)
    me = current_coder()
    term = (request.args.get("term") or "").strip()[:200]
    code_id = parse_int(request.args.get("code"))
    coder = request.args.get("coder") or None
    tree = load_tree(session, proj.id)
    if code_id is not None and code_id not in tree.codes:
        abort(400, f"code {code_id} is not in this project's codebook")
    coders = visible_coders(session, proj, me)
    if coder is not None and coder != CONSENSUS and coder not in coders:
        abort(400, f"coder '{coder}': none of their codes is visible to you")
    found = search(session, scope_clause(proj, me, code_id=code_id, coder=coder), term, KWIC_LIMIT) if term \
        else Found()
    return render_template("coding/kwic.html", project=proj, term=term, code_id=code_id, coder=coder, tree=tree,
                           coders=coders, consensus=CONSENSUS, hits=found.hits, rows=found.rows,
                           complete=found.complete, units=len({h.unit_id for h in found.hits}), limit=KWIC_LIMIT,
                           coder_target=coder_target)
