"""Theme tables (the paper's Tables 2-3), code co-occurrence and unit x code matrices, from final codes.

Themes are grouped by domain: a domain is a top-level code with subcodes, and its descendants are its
themes (subthemes indented by level). Top-level codes without subcodes form one group, "Other themes". A
unit has a theme when its final codes hold the theme or a code below it; each unit counts once per theme.
Denominators are the coded units (units with final codes) and their respondents, overall and per question
when the units come from several survey questions (a unit's question is read from its survey source).

Nothing is left out silently: a unit without consensus counts by the export's rule
(``reconcile.CONSENSUS_RULES``), and each theme shows how many units still await a consensus on it (coders
differ on it or a code below it) and how many await re-review after a split (the split code and its
targets).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.codebook.stored import Tree, load_tree
from coding.reconcile import FinalCodes, final_codes
from coding.store import Application, ConsensusCode, Project, Rereview, Review, Unit
from exports.tabular.percent import percent

OTHER_THEMES = "Other themes"


@dataclass
class ThemeRow:
    """One theme of a domain table."""

    path: str
    name: str
    level: int
    definition: str
    n_units: int
    pct_units: float | None
    n_respondents: int
    pct_respondents: float | None
    quotes: list[str] = field(default_factory=list)
    awaiting_consensus: int = 0  # units without consensus whose coders differ on this theme (or one below it)
    awaiting_rereview: int = 0  # units with an open re-review of a split involving this theme
    by_question: dict[str, tuple[int, int]] = field(default_factory=dict)  # question -> (units, respondents)


@dataclass
class DomainTable:
    """The themes of one domain."""

    name: str
    definition: str
    n_units: int
    rows: list[ThemeRow] = field(default_factory=list)


@dataclass
class ThemeTables:
    """Every domain table plus the denominators and where the final codes came from."""

    domains: list[DomainTable]
    n_units: int
    n_respondents: int
    n_consensus: int
    n_fallback: int
    n_unresolved: int
    n_uncoded: int
    rule: str = "all"
    questions: dict[str, tuple[int, int]] = field(default_factory=dict)  # question -> (units, respondents)
    n_awaiting_rereview: int = 0


def question_of(source: str) -> str:
    """Return the question a unit answers: 'slug:qid' for a survey source (survey:slug:qid:key), else ''."""
    parts = source.split(":")
    return f"{parts[1]}:{parts[2]}" if len(parts) >= 4 and parts[0] == "survey" else ""


def theme_tables(session: Session, project: Project, *, quotes: int = 3, respondents: int | None = None,
                 final: FinalCodes | None = None, rule: str = "all") -> ThemeTables:
    """Build the theme tables; *respondents* overrides the respondent denominator (e.g. all who were asked);
    units without consensus count by *rule* (reconcile.CONSENSUS_RULES) unless *final* is given."""
    tree = load_tree(session, project.id)
    final = final or final_codes(session, project, rule)
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(final.codes))))} \
        if final.codes else {}
    n_units = len(final.codes)
    n_resp = respondents if respondents is not None else len({units[u].respondent for u in final.codes})
    # Units per code, counting a code's descendants as the code (a unit with a subtheme has the theme).
    with_code: dict[int, set[int]] = {c: set() for c in tree.codes}
    for unit_id, codes in final.codes.items():
        for code_id in codes:
            for c in (code_id, *tree.ancestors(code_id)):
                with_code[c].add(unit_id)
    quote_rank = _quote_candidates(session, project, tree, final)
    awaiting = _per_code(tree, final.disputed)
    # Only the units counted here: another coder's re-review on a unit not revealed to the viewer says what they coded.
    rereview_units = {u: c for u, c in _rereviews(session, project).items() if u in final.codes}
    awaiting_rereview = _per_code(tree, rereview_units)
    question = {u: question_of(unit.source) for u, unit in units.items()}
    questions: dict[str, tuple[int, int]] = {}
    if len(set(question.values())) > 1:
        for q in sorted(set(question.values())):
            mine = [u for u in final.codes if question[u] == q]
            questions[q] = (len(mine), len({units[u].respondent for u in mine}))

    def row(code_id: int, level: int) -> ThemeRow:
        code = tree.codes[code_id]
        hit = with_code[code_id]
        resp = {units[u].respondent for u in hit}
        ranked = sorted(quote_rank.get(code_id, {}).items(), key=lambda kv: (-kv[1], units[kv[0]].position))
        by_question = {q: (sum(1 for u in hit if question[u] == q),
                           len({units[u].respondent for u in hit if question[u] == q})) for q in questions}
        return ThemeRow(tree.path(code_id), code.name, level, code.definition, len(hit), percent(len(hit), n_units),
                        len(resp), percent(len(resp), n_resp), [units[u].text for u, _ in ranked[:quotes]],
                        len(awaiting.get(code_id, ())), len(awaiting_rereview.get(code_id, ())), by_question)

    domains: list[DomainTable] = []
    loose: list[ThemeRow] = []
    for top in tree.children.get(None, []):
        kids = tree.children.get(top, [])
        if not kids:
            loose.append(row(top, 1))
            continue
        table = DomainTable(tree.codes[top].name, tree.codes[top].definition, len(with_code[top]))
        stack = [(c, 1) for c in reversed(kids)]
        while stack:
            code_id, level = stack.pop()
            table.rows.append(row(code_id, level))
            stack.extend((c, level + 1) for c in reversed(tree.children.get(code_id, [])))
        domains.append(table)
    if loose:
        hit = set().union(*(with_code[tree.id_of(r.path)] for r in loose))
        domains.append(DomainTable(OTHER_THEMES, "", len(hit), loose))
    return ThemeTables(domains, n_units, n_resp, final.n_consensus, final.n_fallback, final.n_unresolved,
                       final.uncoded, final.rule, questions, len(rereview_units))


def _per_code(tree: Tree, codes_of: dict[int, frozenset[int]]) -> dict[int, set[int]]:
    """Return code -> units whose *codes_of* set holds the code or a code below it."""
    out: dict[int, set[int]] = {}
    for unit_id, codes in codes_of.items():
        for code_id in codes:
            for c in (code_id, *tree.ancestors(code_id)):
                out.setdefault(c, set()).add(unit_id)
    return out


def _rereviews(session: Session, project: Project) -> dict[int, frozenset[int]]:
    """Return unit -> codes of its open re-reviews (the split code and every code it was split into)."""
    out: dict[int, set[int]] = {}
    for entry in session.scalars(select(Rereview).where(Rereview.project_id == project.id,
                                                        Rereview.resolved.is_(False))):
        out.setdefault(entry.unit_id, set()).update([entry.code_id, *entry.targets])
    return {u: frozenset(c) for u, c in out.items()}


def _quote_candidates(session: Session, project: Project, tree: Tree,
                      final: FinalCodes) -> dict[int, dict[int, int]]:
    """Return code -> unit -> weight of representative-quote flags, for units whose final codes hold the code.

    A consensus flag weighs more than all coders' flags together; a flag on a subcode also counts for its
    ancestors.
    """
    out: dict[int, dict[int, int]] = {}

    def add(unit_id: int, code_id: int, weight: int) -> None:
        for c in (code_id, *tree.ancestors(code_id)):
            if unit_id in final.codes and any(c == f or c in tree.ancestors(f) for f in final.codes[unit_id]):
                out.setdefault(c, {})
                out[c][unit_id] = out[c].get(unit_id, 0) + weight

    for unit_id, code_id in session.execute(select(Application.unit_id, Application.code_id)
                                            .join(Unit, Unit.id == Application.unit_id)
                                            .where(Unit.project_id == project.id, Application.quote.is_(True))):
        add(unit_id, code_id, 1)
    for unit_id, code_id in session.execute(select(ConsensusCode.unit_id, ConsensusCode.code_id)
                                            .join(Unit, Unit.id == ConsensusCode.unit_id)
                                            .where(Unit.project_id == project.id, ConsensusCode.quote.is_(True))):
        add(unit_id, code_id, 1000)
    return out


@dataclass
class Matrix:
    """A 0/1 unit x code matrix: rows are unit labels, columns code paths."""

    units: list[str]
    codes: list[str]
    values: np.ndarray


def _columns(tree: Tree) -> list[int]:
    return [tree.id_of(path) for path, _, _ in tree.walk()]


def coder_matrices(session: Session, project: Project, viewer: str | None = None,
                   revealed: Collection[int] = ()) -> dict[str, Matrix]:
    """Return, per coder, the matrix of the codes they applied to each unit they reviewed.

    With a *viewer*, another coder's matrix keeps only the units *revealed* to the viewer (coding.blindness),
    and a coder with none left is not listed; the viewer's own matrix is whole.
    """
    shown = set(revealed)
    tree = load_tree(session, project.id)
    columns = _columns(tree)
    col = {c: i for i, c in enumerate(columns)}
    reviewed: dict[str, list[tuple[int, str]]] = {}
    for coder, unit_id, label in session.execute(
            select(Review.coder, Unit.id, Unit.label).join(Unit, Unit.id == Review.unit_id)
            .where(Unit.project_id == project.id).order_by(Review.coder, Unit.position)):
        if viewer is None or coder == viewer or unit_id in shown:
            reviewed.setdefault(coder, []).append((unit_id, label))
    out: dict[str, Matrix] = {}
    for coder, rows in reviewed.items():
        index = {u: i for i, (u, _) in enumerate(rows)}
        values = np.zeros((len(rows), len(columns)), dtype=np.int8)
        for unit_id, code_id in session.execute(
                select(Application.unit_id, Application.code_id).join(Unit, Unit.id == Application.unit_id)
                .where(Unit.project_id == project.id, Application.coder == coder)):
            if unit_id in index:
                values[index[unit_id], col[code_id]] = 1
        out[coder] = Matrix([label for _, label in rows], [tree.path(c) for c in columns], values)
    return out


def final_matrix(session: Session, project: Project, final: FinalCodes | None = None) -> Matrix:
    """Return the matrix of final codes (consensus, else what the rule of *final* keeps) for every coded unit."""
    tree = load_tree(session, project.id)
    final = final or final_codes(session, project)
    columns = _columns(tree)
    col = {c: i for i, c in enumerate(columns)}
    rows = session.execute(select(Unit.id, Unit.label).where(Unit.id.in_(list(final.codes)))
                           .order_by(Unit.position)).all() if final.codes else []
    values = np.zeros((len(rows), len(columns)), dtype=np.int8)
    for i, (unit_id, _) in enumerate(rows):
        for code_id in final.codes[unit_id]:
            values[i, col[code_id]] = 1
    return Matrix([label for _, label in rows], [tree.path(c) for c in columns], values)


def cooccurrence(matrix: Matrix) -> np.ndarray:
    """Return the code x code count of units having both codes (the diagonal: units having the code)."""
    m = matrix.values.astype(np.int64)
    return m.T @ m
