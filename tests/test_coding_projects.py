"""Coding projects in the database: units, blind rounds, agreement, reconciliation, evolution, imports, tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding import applying as Ap
from coding import blindness as Bl
from coding import codings as Cg
from coding import evolution as E
from coding import navigation as Nav
from coding import projects as P
from coding import reconcile as R
from coding import rounds as Rd
from coding import tables as T
from coding.agreement import agreement_report
from coding.codebook import stored as C
from coding.codebook.files import load_codebook, save_codebook
from coding.errors import InvalidSpreadsheet
from coding.importing import import_sheet
from coding.store import Application, CodingBase, ConsensusCode, ProjectError, Rereview, Unit
from surveyapp import db

A, B, LEAD = "a@example.org", "b@example.org", "lead@example.org"
DATA = Path(__file__).parent / "data" / "coding"


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context(), db.new_session() as s:
        yield s


def make_project(s: Session, n: int = 6) -> tuple[P.Project, list[Unit], dict[str, int]]:
    project = P.create_project(s, "peer", LEAD)
    P.add_units(s, project, [P.NewUnit(f"survey:dept:benefits:key{k:02d}", f"answer {k}", respondent=f"r{k}")
                             for k in range(n)])
    for parent, name in [(None, "Effectiveness"), ("Effectiveness", "Perspective"), ("Effectiveness", "Resilience"),
                         (None, "Implementation"), ("Implementation", "Time"), ("Implementation", "Access")]:
        C.add_code(s, project, parent, name, LEAD, "first draft")
    units = list(s.scalars(select(Unit).where(Unit.project_id == project.id).order_by(Unit.position)))
    return project, units, C.load_tree(s, project.id).ids


def apps(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Application)) or 0


def test_migration_matches_models(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), CodingBase.metadata)
    assert [d for d in diffs if "coding_" in repr(d)] == []


def test_add_units_skips_known_sources_and_blanks(session: Session) -> None:
    project = P.create_project(session, "p1", LEAD)
    first = P.add_units(session, project, [P.NewUnit("survey:s:q:zz", "late key"), P.NewUnit("survey:s:q:aa", "x"),
                                           P.NewUnit("survey:s:q:mm", "   ")])
    assert (first.added, first.blank, first.round.name) == (2, 1, "Round 1")
    # Positions follow the (random) response key, not the order given.
    assert [u.source for u in sorted(first.units, key=lambda u: u.position)] == ["survey:s:q:aa", "survey:s:q:zz"]
    again = P.add_units(session, project, [P.NewUnit("survey:s:q:aa", "x"), P.NewUnit("survey:s:q:bb", "new")])
    assert (again.added, again.existing, again.round.name) == (1, 1, "Round 2")
    assert [u.position for u in again.units] == [3]
    with pytest.raises(ProjectError, match="exists already"):
        P.create_project(session, "p1")
    with pytest.raises(ProjectError, match="project name"):
        P.create_project(session, "bad name!")


def test_blind_until_the_round_is_finished(session: Session) -> None:
    project, units, ids = make_project(session, 3)
    rnd = Rd.rounds(session, project)[0]
    for u in units:
        Ap.set_codes(session, project, u.id, A, {ids["Effectiveness/Perspective"]}, memo="A's memo")
    Ap.set_codes(session, project, units[0].id, B, {ids["Implementation/Time"]})
    assert set(Bl.visible_reviews(session, units[0].id, B)) == {B}
    assert set(Bl.visible_reviews(session, units[0].id, A)) == {A}
    with pytest.raises(ProjectError, match=r"2 unit\(s\) not coded by b@example.org yet"):
        Rd.finish_round(session, rnd, B)
    Ap.set_codes(session, project, units[1].id, B, set())
    Ap.set_codes(session, project, units[2].id, B, {ids["Implementation/Time"]})
    Rd.finish_round(session, rnd, B)
    seen = Bl.visible_reviews(session, units[0].id, B)
    assert set(seen) == {A, B} and seen[A].memo == "A's memo"
    assert set(Bl.visible_reviews(session, units[0].id, A)) == {A}  # A has not finished
    with pytest.raises(ProjectError, match="frozen"):
        Ap.set_codes(session, project, units[0].id, B, set())
    # The disputed filter and the meeting view never show a coder what is still hidden from them.
    assert Nav.count_where(session, Nav.filter_clause(project, A, "disputed")) == 0
    assert Nav.count_where(session, Nav.filter_clause(project, B, "disputed")) == 3
    with pytest.raises(ProjectError, match="finish your round"):
        R.meeting(session, project, units[0].id, viewer=A)
    by_code = Nav.filter_clause(project, A, "code", code_id=ids["Implementation/Time"])
    assert Nav.count_where(session, by_code) == 0
    Rd.close_round(session, rnd)
    assert Nav.count_where(session, by_code) == 2


def test_codes_must_be_active_and_in_the_project(session: Session) -> None:
    project, units, ids = make_project(session, 1)
    E.retire(session, project, "Implementation/Access", LEAD, "unused")
    with pytest.raises(ProjectError, match="retired"):
        Ap.set_codes(session, project, units[0].id, A, {ids["Implementation/Access"]})
    with pytest.raises(ProjectError, match="not in this project"):
        Ap.set_codes(session, project, units[0].id, A, {10_000})
    with pytest.raises(ProjectError, match="representative quote"):
        Ap.set_codes(session, project, units[0].id, A, set(), quotes={ids["Implementation/Time"]})


def test_navigation_by_position_and_filters(session: Session) -> None:
    project, units, ids = make_project(session, 5)
    Ap.set_codes(session, project, units[1].id, A, {ids["Implementation/Time"]})
    Ap.set_codes(session, project, units[3].id, A, set())
    uncoded = Nav.filter_clause(project, A, "uncoded")
    assert Nav.unit_at(session, uncoded, 2, "next").id == units[2].id
    assert Nav.unit_at(session, uncoded, 3, "next").id == units[4].id
    assert Nav.unit_at(session, uncoded, 4, "previous").id == units[2].id
    assert Nav.unit_at(session, uncoded, 4).id == units[4].id  # position 4 is coded: next match
    assert Nav.unit_at(session, uncoded, 5, "next") is None
    assert Nav.count_where(session, uncoded) == 3 and Nav.rank_of(session, uncoded, 5) == 3
    mine = Nav.filter_clause(project, A, "code", code_id=ids["Implementation/Time"])
    assert [u.id for u in [Nav.unit_at(session, mine, 0)]] == [units[1].id]
    with pytest.raises(ProjectError, match="unknown filter"):
        Nav.filter_clause(project, A, "everything")


def code_two(s: Session, project: P.Project, units: list[Unit], ids: dict[str, int]) -> None:
    """A and B code six units: agree on 0, 1, 4; differ on 2, 3, 5."""
    per = {A: [{"Effectiveness/Perspective"}, {"Implementation/Time"}, {"Effectiveness/Perspective"},
               {"Implementation/Time", "Effectiveness/Resilience"}, set(), {"Implementation/Access"}],
           B: [{"Effectiveness/Perspective"}, {"Implementation/Time"}, {"Effectiveness/Resilience"},
               {"Implementation/Time"}, set(), {"Implementation/Time"}]}
    for coder, sets in per.items():
        for unit, paths in zip(units, sets, strict=True):
            Ap.set_codes(s, project, unit.id, coder, {ids[p] for p in paths},
                        quotes={ids[p] for p in paths if p == "Implementation/Time"})
        Rd.finish_round(s, Rd.rounds(s, project)[0], coder)


def test_project_agreement_is_agreement_report_of_its_codings(session: Session) -> None:
    project, units, ids = make_project(session)
    code_two(session, project, units, ids)
    data = Cg.codings(session, project)
    assert data[units[3].label] == {A: frozenset({"Implementation/Time", "Effectiveness/Resilience"}),
                                    B: frozenset({"Implementation/Time"})}
    report = Cg.project_agreement(session, project, bootstrap=100)
    assert report == agreement_report(data, bootstrap=100)
    assert report["overall"]["percent_agreement"] == pytest.approx(3 / 6)
    only_two = Cg.project_agreement(session, project, unit_ids=[units[0].id, units[1].id], bootstrap=0)
    assert only_two["units"] == 2


def test_discrepancy_queue_consensus_and_final_codes(session: Session) -> None:
    project, units, ids = make_project(session)
    code_two(session, project, units, ids)
    queue = R.disputes(session, project)
    # Resilience is disputed on 2 units, the other codes on 1: Resilience's units first, more disputed codes first.
    assert [d.unit_id for d in queue] == [units[2].id, units[3].id, units[5].id]
    assert queue[0].codes == [ids["Effectiveness/Resilience"], ids["Effectiveness/Perspective"]]
    assert R.code_dispute_counts(session, project) == {ids["Effectiveness/Resilience"]: 2,
                                                       ids["Implementation/Time"]: 1,
                                                       ids["Effectiveness/Perspective"]: 1,
                                                       ids["Implementation/Access"]: 1}
    R.record_consensus(session, project, units[5].id, {ids["Implementation/Access"]}, "A read it right", LEAD,
                       quotes={ids["Implementation/Access"]})
    assert [d.unit_id for d in R.disputes(session, project)] == [units[2].id, units[3].id]
    assert [d.decided for d in R.disputes(session, project, include_decided=True)] == [False, False, True]
    meet = R.meeting(session, project, units[5].id, viewer=A)
    assert set(meet.reviews) == {A, B} and meet.consensus.note == "A read it right"
    final = R.final_codes(session, project)
    assert final.codes[units[5].id] == {ids["Implementation/Access"]}
    assert final.codes[units[3].id] == {ids["Implementation/Time"]}  # intersection
    assert final.codes[units[2].id] == frozenset()
    assert (final.n_consensus, final.n_fallback, final.n_unresolved, final.uncoded) == (1, 5, 2, 0)
    with pytest.raises(ProjectError, match="who decided"):
        R.record_consensus(session, project, units[2].id, set(), "", "")


def test_theme_tables_count_units_and_respondents(session: Session) -> None:
    project, units, ids = make_project(session)
    units[1].respondent = units[0].respondent  # two answers of one respondent
    code_two(session, project, units, ids)
    R.record_consensus(session, project, units[5].id, {ids["Implementation/Access"]}, "", LEAD,
                       quotes={ids["Implementation/Access"]})
    tables = T.theme_tables(session, project)
    assert (tables.n_units, tables.n_respondents, tables.n_consensus, tables.n_fallback) == (6, 5, 1, 5)
    rows = {r.path: r for d in tables.domains for r in d.rows}
    assert [d.name for d in tables.domains] == ["Effectiveness", "Implementation"]
    assert (rows["Implementation/Time"].n_units, rows["Implementation/Time"].pct_units) == (2, 33.3)
    assert rows["Effectiveness/Perspective"].n_units == 1
    assert rows["Implementation/Access"].quotes == ["answer 5"]
    # Both Time units had the quote flag from both coders: ranked by flags, then position.
    assert rows["Implementation/Time"].quotes == ["answer 1", "answer 3"]
    assert rows["Implementation/Time"].n_respondents == 2
    matrix = T.final_matrix(session, project)
    co = T.cooccurrence(matrix)
    t = matrix.codes.index("Implementation/Time")
    assert co[t, t] == 2 and matrix.values.sum() == 4
    per_coder = T.coder_matrices(session, project)
    assert per_coder[A].values.sum() == 6 and per_coder[B].values.sum() == 5


def test_merge_accounts_for_every_application(session: Session) -> None:
    project, units, ids = make_project(session)
    code_two(session, project, units, ids)
    R.record_consensus(session, project, units[3].id, {ids["Implementation/Time"],
                                                       ids["Effectiveness/Resilience"]}, "", LEAD)
    before = apps(session)
    pairs_before = set(session.execute(select(Application.unit_id, Application.coder).where(
        Application.code_id.in_([ids["Effectiveness/Resilience"], ids["Effectiveness/Perspective"]]))))
    result = E.merge(session, project, "Effectiveness/Resilience", "Effectiveness/Perspective", LEAD, "overlap")
    assert (result.moved, result.collapsed, result.consensus_moved) == (2, 0, 1)
    assert apps(session) == before - result.collapsed
    pairs_after = set(session.execute(select(Application.unit_id, Application.coder).where(
        Application.code_id == ids["Effectiveness/Perspective"])))
    assert pairs_after == pairs_before
    # Now A's unit 2 has Perspective; a coder with both codes ends up with one application.
    E.rename(session, project, "Effectiveness/Perspective", "Perspective taking", LEAD, "paper's wording")
    C.add_code(session, project, "Effectiveness", "Hope", LEAD)
    unit = P.add_units(session, project, [P.NewUnit("survey:dept:benefits:zz", "both")]).units[0]
    tree = C.load_tree(session, project.id)
    hope, perspective = tree.ids["Effectiveness/Hope"], tree.ids["Effectiveness/Perspective taking"]
    Ap.set_codes(session, project, unit.id, A, {hope, perspective}, quotes={hope})
    before = apps(session)
    result = E.merge(session, project, "Effectiveness/Hope", "Effectiveness/Perspective taking", LEAD, "")
    assert (result.moved, result.collapsed) == (0, 1)
    assert apps(session) == before - 1
    kept = session.get(Application, (unit.id, A, perspective))
    assert kept.quote  # the quote flag survives the collapse
    with pytest.raises(ProjectError, match="into itself"):
        E.merge(session, project, "Implementation", "Implementation", LEAD)
    with pytest.raises(ProjectError, match="inside it"):
        E.merge(session, project, "Implementation", "Implementation/Time", LEAD)


def test_split_queues_every_application_for_re_review(session: Session) -> None:
    project, units, ids = make_project(session)
    code_two(session, project, units, ids)
    R.record_consensus(session, project, units[1].id, {ids["Implementation/Time"]}, "", LEAD)
    time_apps = session.scalar(select(func.count()).select_from(Application)
                               .where(Application.code_id == ids["Implementation/Time"]))
    before = apps(session)
    result = E.split(session, project, "Implementation/Time", ["Scheduling", "Workload"], LEAD, "two ideas")
    assert (result.queued, result.consensus_queued) == (time_apps, 1)
    assert result.created == ["Implementation/Scheduling", "Implementation/Workload"]
    assert apps(session) == before  # nothing moves until re-reviewed
    tree = C.load_tree(session, project.id)
    assert tree.codes[ids["Implementation/Time"]].retired
    sched, work = tree.ids["Implementation/Scheduling"], tree.ids["Implementation/Workload"]
    a_queue = E.rereviews(session, project, coder=A)
    assert Nav.count_where(session, Nav.filter_clause(project, A, "rereview")) == len(a_queue)
    with pytest.raises(ProjectError, match="belongs to"):
        E.resolve(session, project, a_queue[0].id, [sched], B)
    with pytest.raises(ProjectError, match="choose among"):
        E.resolve(session, project, a_queue[0].id, [ids["Implementation/Access"]], A)
    E.resolve(session, project, a_queue[0].id, [sched, work], A)   # one application becomes two
    E.resolve(session, project, a_queue[1].id, [], A)              # ... or none
    for entry in E.rereviews(session, project, coder=B):
        E.resolve(session, project, entry.id, [work], B)
    (cons,) = E.rereviews(session, project, consensus=True)
    E.resolve(session, project, cons.id, [sched], LEAD)
    assert apps(session) == before + 1 - 1
    resolved = E.rereviews(session, project, resolved=True)
    assert len(resolved) == time_apps + 1 and all(e.resolved_by for e in resolved)
    remaining = session.scalar(select(func.count()).select_from(Application)
                               .where(Application.code_id == ids["Implementation/Time"]))
    assert remaining == 0
    assert {cc.code_id for cc in session.scalars(select(ConsensusCode).filter_by(unit_id=units[1].id))} == {sched}
    assert session.scalar(select(func.count()).select_from(Rereview).where(Rereview.resolved.is_(False))) == 0


def test_move_rename_retire_and_diff(session: Session) -> None:
    project, _, _ = make_project(session, 1)
    v0 = C.current_version(session, project.id)
    E.move(session, project, "Implementation/Access", "Effectiveness", LEAD, "access is an outcome here")
    with pytest.raises(ProjectError, match="inside it"):
        E.move(session, project, "Effectiveness", "Effectiveness/Access", LEAD)
    with pytest.raises(ProjectError, match="exists already"):
        E.rename(session, project, "Effectiveness/Access", "Resilience", LEAD)
    E.rename(session, project, "Effectiveness/Access", "Accessibility", LEAD, "clearer")
    E.retire(session, project, "Implementation/Time", LEAD, "no longer used")
    C.edit_code(session, project, "Effectiveness", LEAD, "sharper", definition="Perceived effects",
                color="#1f77b4")
    changes = E.diff(session, project, v0, C.current_version(session, project.id))
    assert changes["moved"] == [{"from": "Implementation/Access", "to": "Effectiveness/Accessibility"}]
    assert changes["renamed"] == [{"from": "Implementation/Access", "to": "Effectiveness/Accessibility"}]
    assert changes["retired"] == ["Implementation/Time"]
    assert changes["edited"] == [{"path": "Effectiveness", "fields": ["definition", "color"]}]
    assert [e["action"] for e in changes["entries"]] == ["move", "rename", "retire", "edit"]
    assert changes["entries"][0]["why"] == "access is an outcome here" and changes["entries"][0]["who"] == LEAD
    assert E.diff(session, project, 0, 1)["added"] == ["Effectiveness"]


@pytest.mark.parametrize("suffix", [".yaml", ".qdc"])
def test_codebook_import_export_round_trip(session: Session, tmp_path: Path, suffix: str) -> None:
    project = P.create_project(session, "books", LEAD)
    book = load_codebook(DATA / "codebook.yaml")
    counts = C.import_codebook(session, project, book, LEAD, "initial", source="codebook.yaml")
    assert counts == {"added": 7, "updated": 0, "unchanged": 0}
    out = tmp_path / f"out{suffix}"
    save_codebook(C.to_codebook(session, project), out)
    back = load_codebook(out)
    assert [(p, c.guid, c.definition, c.color, c.retired) for p, c in back.walk()] == \
        [(p, c.guid, c.definition, c.color, c.retired) for p, c in book.walk()]
    # Re-import: same GUIDs, nothing new; an edited definition is an update.
    back.find("Barriers").definition = "Anything that stops staff."
    assert C.import_codebook(session, project, back, LEAD, "", source=out.name) == \
        {"added": 0, "updated": 1, "unchanged": 6}


def test_codebook_import_refuses_two_siblings_with_one_name(session: Session) -> None:
    project = P.create_project(session, "clash", LEAD)
    C.add_code(session, project, None, "Time", LEAD)
    book = load_codebook(DATA / "codebook.yaml")
    book.find("Barriers").children[0].name = "Staffing"  # Barriers/Time -> a second Barriers/Staffing
    with pytest.raises(ProjectError, match="two codes named 'Staffing' under Barriers"):
        C.import_codebook(session, project, book, LEAD, source="x.yaml")


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_spreadsheet_import_units_and_codings(session: Session, tmp_path: Path) -> None:
    project = P.create_project(session, "excel", LEAD)
    sheet = write_csv(tmp_path / "coded.csv",
                      "unit,text,coder,codes\n"
                      "u1,Felt heard,CL,Effectiveness/Perspective taking; Culture\n"
                      "u1,,MT,Effectiveness/Perspective taking\n"
                      "u2,No time,CL,Barriers/Time\n"
                      "u2,,MT,\n"
                      "u3,Not coded yet,,\n")
    result = import_sheet(session, project, sheet, LEAD)
    assert (result.units_added, result.reviews, result.applications) == (3, 4, 4)
    assert result.codes_created == ["Effectiveness", "Effectiveness/Perspective taking", "Culture",
                                    "Barriers", "Barriers/Time"]
    assert Cg.codings(session, project) == {
        "u1": {"CL": frozenset({"Effectiveness/Perspective taking", "Culture"}),
               "MT": frozenset({"Effectiveness/Perspective taking"})},
        "u2": {"CL": frozenset({"Barriers/Time"}), "MT": frozenset()},
    }
    # Codings from elsewhere are a closed round (visible to all); the uncoded unit is in an open one.
    states = {r.name: r.state for r in Rd.rounds(session, project)}
    assert states == {"Round 1": "open", "Import coded.csv": "closed"}
    assert C.audit_log(session, project)[0].action == "import"
    again = import_sheet(session, project, write_csv(tmp_path / "more.csv", "unit,text\nu3,Not coded yet\nu4,New\n"),
                         LEAD)
    assert (again.units_added, again.units_existing) == (1, 1)


@pytest.mark.parametrize(("body", "message"), [
    ("unit,text,coder,codes\nu1,,CL,A\n", r"bad.csv:2, column B \('text'\): unit 'u1' is new and has no text"),
    ("unit,text,coder,codes\nu1,x,CL,A/\n", r"bad.csv:2, column D \('codes'\): empty level"),
    ("unit,text,coder,codes\nu1,x,CL,A\nu1,x,CL,B\n",
     r"bad.csv:3, column C \('coder'\): unit 'u1' coded by 'CL' again"),
    ("text,coder\nx,CL\n", r"bad.csv:1: missing column 'unit'"),
    ("unit,text,codes\nu1,x,A\n", r"bad.csv:1: a 'codes' column needs a 'coder' column"),
    ("unit,text,coder,codes\nu1,x,CL,A\nu1,y,MT,A\n", r"bad.csv:3, column B \('text'\): text of unit 'u1' differs"),
])
def test_spreadsheet_import_errors_name_file_line_and_column(session: Session, tmp_path: Path, body: str,
                                                              message: str) -> None:
    project = P.create_project(session, "bad", LEAD)
    with pytest.raises(InvalidSpreadsheet, match=message):
        import_sheet(session, project, write_csv(tmp_path / "bad.csv", body), LEAD)


def test_spreadsheet_import_is_all_or_nothing(app: Flask, tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "s.csv", "unit,text,coder,codes\nu1,x,CL,A\n")
    with app.app_context():
        with db.new_session() as s:
            project = P.create_project(s, "once", LEAD)
            import_sheet(s, project, sheet, LEAD)
            s.commit()
        with db.new_session() as s:
            project = P.get_project(s, "once")
            twice = write_csv(tmp_path / "t.csv", "unit,text,coder,codes\nu9,new,CL,B\nu1,x,CL,A\n")
            with pytest.raises(InvalidSpreadsheet, match=r"t.csv:3, column C \('coder'\): unit 'u1' is already coded"):
                import_sheet(s, project, twice, LEAD)
            s.rollback()
        with db.new_session() as s:
            project = P.get_project(s, "once")
            assert P.project_stats(s, project) == {"units": 1, "coders": 1, "reviews": 1, "applications": 1}
            assert [p for p, _, _ in C.load_tree(s, project.id).walk()] == ["A"]
