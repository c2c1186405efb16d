"""Coding assistance on stored projects: `coding evaluate PROJECT`, the decision log, blind training labels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from coding import applying as Ap
from coding import assist_log
from coding import projects as P
from coding import reconcile as R
from coding import rounds as Rd
from coding.assist.synthetic import SyntheticData, make_dataset
from coding.assist_project import (
    CONSENSUS,
    coder_target,
    evaluate_project,
    scope_clause,
    training_labels,
    visible_codes,
)
from coding.codebook import stored as C
from coding.store import ProjectError, Unit
from surveyapp import db


def write_sheet(data: SyntheticData, path: Path, coders: list[str] | None = None) -> Path:
    """Write the data set as an import spreadsheet: one row per (unit, coder)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["unit", "text", "coder", "codes"])
        for unit, by in data.codings.items():
            for coder, codes in by.items():
                if coders is None or coder in coders:
                    out.writerow([unit, data.units[unit], coder, "; ".join(sorted(codes))])
    return path


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return make_dataset(150, n_coders=3, error_rate=0.1, seed=21)


def import_project(runner: FlaskCliRunner, path: Path, name: str = "syn") -> None:
    result = runner.invoke(args=["coding", "import", name, str(path), "--by", "lead@example.org"])
    assert result.exit_code == 0, result.output


def evaluate_json(runner: FlaskCliRunner, *args: str) -> dict:
    result = runner.invoke(args=["coding", "evaluate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("n_coders", [2, 3])
def test_evaluate_a_project_imported_from_a_spreadsheet(runner: FlaskCliRunner, data: SyntheticData,
                                                        tmp_path: Path, n_coders: int) -> None:
    coders = data.coders[:n_coders]
    import_project(runner, write_sheet(data, tmp_path / "coded.csv", coders))
    report = evaluate_json(runner, "syn", "--folds", "3")
    assert report["coders"] == coders
    assert report["units"] == 150
    assert report["target"] == "majority of the other coders (leave one coder out)"
    for block in ("human_vs_human", "suggestions_vs_humans", "baseline_vs_humans"):
        assert {"micro_f1", "macro_f1", "alpha", "per_code"} <= set(report[block])
        assert set(report[block]["per_code"]) <= {t for t, _, _ in data.codebook}
    ours, baseline = report["suggestions_vs_humans"], report["baseline_vs_humans"]
    # The ordering the issue asks for; the figures themselves depend on the generated answers.
    assert ours["micro_f1"] > baseline["micro_f1"]
    assert ours["macro_f1"] > baseline["macro_f1"]
    assert ours["alpha"] > baseline["alpha"]
    assert report["acceptance"] == {"overall": None, "per_code": {}}

    table = runner.invoke(args=["coding", "evaluate", "syn", "--folds", "3"])
    assert table.exit_code == 0, table.output
    assert f"150 units, coders: {', '.join(coders)}; held out in turn: {', '.join(coders)}; 3-fold" in table.output
    assert "per code" in table.output and "Care/Communication" in table.output
    assert "Suggestions agree with each held-out coder" in table.output


def test_evaluate_compares_with_the_recorded_consensus_and_holds_out_one_coder(app: Flask, runner: FlaskCliRunner,
                                                             data: SyntheticData, tmp_path: Path) -> None:
    import_project(runner, write_sheet(data, tmp_path / "coded.csv"))
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "syn")
        tree = C.load_tree(s, project.id)
        units = P.units_by_label(s, project, list(data.truth))
        for label, truth in list(data.truth.items())[:100]:
            R.record_consensus(s, project, units[label].id, {tree.id_of(c) for c in truth}, "", "lead@example.org")
        s.commit()
    report = evaluate_json(runner, "syn", "--folds", "3")
    # Never trained on: the held-out coder had a voice in the consensus.
    assert report["target"] == "majority of the other coders (leave one coder out)"
    assert report["consensus_units"] == 100
    assert report["suggestions_vs_humans"]["vs_consensus"]["units"] == 3 * 100  # once per held-out coder
    assert report["suggestions_vs_humans"]["micro_f1"] > report["baseline_vs_humans"]["micro_f1"]
    assert "A consensus was recorded on 100 units: compared with below, never trained on" in runner.invoke(
        args=["coding", "evaluate", "syn", "--folds", "3"]).output

    assert evaluate_json(runner, "syn", "--coder", "coder2", "--folds", "2")["held_out"] == ["coder2"]
    refused = runner.invoke(args=["coding", "evaluate", "syn", "--coder", "nobody"])
    assert refused.exit_code == 1 and "coder 'nobody' coded no unit" in refused.output
    refused = runner.invoke(args=["coding", "evaluate", "syn", "--consensus", "agreed"])
    assert refused.exit_code == 1 and "--consensus works on files" in refused.output
    missing = runner.invoke(args=["coding", "evaluate", "no-such-project"])
    assert missing.exit_code == 1 and "no coding project has that name" in missing.output


def test_a_file_still_works_next_to_projects(runner: FlaskCliRunner, data: SyntheticData, tmp_path: Path) -> None:
    path = write_sheet(data, tmp_path / "coded.csv")
    import_project(runner, path)
    assert evaluate_json(runner, str(path), "--folds", "2")["units"] == 150


def test_acceptance_rates_appear_after_decisions(app: Flask, runner: FlaskCliRunner, data: SyntheticData,
                                                 tmp_path: Path) -> None:
    import_project(runner, write_sheet(data, tmp_path / "coded.csv"))
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "syn")
        tree = C.load_tree(s, project.id)
        first, second, third = s.scalars(select(Unit.id).where(Unit.project_id == project.id)
                                         .order_by(Unit.position).limit(3)).all()
        food, wait = tree.id_of("Environment/Food"), tree.id_of("Organisation/Waiting")
        assist_log.record_decision(s, project, first, "a@example.org", food, 0.9, "model", True)
        assist_log.record_decision(s, project, second, "a@example.org", food, 0.6, "model", False)
        assist_log.record_decision(s, project, third, "b@example.org", wait, 0.2, "codebook", True)
        # A second decision on the same suggestion replaces the first: each suggestion counts once.
        assist_log.record_decision(s, project, second, "a@example.org", food, 0.6, "model", True)
        assist_log.record_decision(s, project, first, "b@example.org", food, 0.9, "model", False)
        s.commit()
    report = evaluate_json(runner, "syn", "--folds", "2")
    assert report["acceptance"]["overall"] == {"accepted": 3, "rejected": 1, "rate": 0.75}
    assert report["acceptance"]["per_code"]["Environment/Food"] == {"accepted": 2, "rejected": 1, "rate": 2 / 3}
    assert report["acceptance"]["per_code"]["Organisation/Waiting"]["rate"] == 1.0
    assert report["acceptance_by_coder"] == {"a@example.org": {"accepted": 2, "rejected": 0, "rate": 1.0},
                                             "b@example.org": {"accepted": 1, "rejected": 1, "rate": 0.5}}
    table = runner.invoke(args=["coding", "evaluate", "syn", "--folds", "2"]).output
    assert "suggestions accepted in the coding screen: 75% (3 accepted, 1 rejected)" in table
    assert "Environment/Food: 67% (2 accepted, 1 rejected)" in table


def test_decisions_follow_renames_and_survive_merges(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "p", "lead")
        P.add_units(s, project, [P.NewUnit("import:1", "The food was cold.", label="1")])
        C.add_code(s, project, None, "Food", "lead")
        C.add_code(s, project, None, "Meals", "lead")
        tree = C.load_tree(s, project.id)
        (unit_id,) = s.scalars(select(Unit.id).where(Unit.project_id == project.id)).all()
        assist_log.record_decision(s, project, unit_id, "a", tree.id_of("Food"), 0.7, "model", True)
        assert assist_log.decided_codes(s, project, unit_id, "a") == {tree.id_of("Food"): True}
        from coding import evolution

        evolution.rename(s, project, "Food", "Catering", "lead", "clearer")
        assert assist_log.decisions(s, project) == [("Catering", True)]
        evolution.merge(s, project, "Catering", "Meals", "lead", "same idea")
        # The merged code is gone; its decision stays and counts for the code it went into, as applications do.
        assert assist_log.decisions(s, project) == [("Meals", True)]
        evolution.rename(s, project, "Meals", "Food and drink", "lead", "wider")
        assert assist_log.decisions(s, project) == [("Food and drink", True)]
        s.commit()


@pytest.mark.parametrize(("probability", "source", "message"), [
    (1.5, "model", "between 0 and 1"),
    (0.5, "oracle", "suggestion source 'oracle'"),
])
def test_bad_decisions_are_refused(app: Flask, probability: float, source: str, message: str) -> None:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "p", "lead")
        P.add_units(s, project, [P.NewUnit("import:1", "text", label="1")])
        C.add_code(s, project, None, "Food", "lead")
        unit_id = s.scalar(select(Unit.id))
        code_id = C.load_tree(s, project.id).id_of("Food")
        with pytest.raises(ProjectError, match=message):
            assist_log.record_decision(s, project, unit_id, "a", code_id, probability, source, True)
        with pytest.raises(ProjectError, match="no unit"):
            assist_log.record_decision(s, project, unit_id + 1000, "a", code_id, 0.5, "model", True)


def test_training_labels_and_visible_codes_respect_blindness(app: Flask) -> None:
    """A coder's suggestions learn only from codes they may see; so do the similar answers' codes."""
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "blind", "lead")
        P.add_units(s, project, [P.NewUnit(f"import:{i}", t, label=str(i)) for i, t in
                                 enumerate(["The food was cold.", "We waited hours.", "Lovely nurses."])])
        for name in ("Food", "Waiting", "Staff"):
            C.add_code(s, project, None, name, "lead")
        tree = C.load_tree(s, project.id)
        food, waiting, staff = (tree.id_of(n) for n in ("Food", "Waiting", "Staff"))
        u0, u1, u2 = s.scalars(select(Unit.id).order_by(Unit.position)).all()
        Ap.set_codes(s, project, u0, "a", {food})
        Ap.set_codes(s, project, u1, "a", {waiting})
        Ap.set_codes(s, project, u0, "b", {food, staff})
        s.commit()

        # Nothing is revealed yet: b learns from b's own codes only, never from a's.
        assert training_labels(s, project, CONSENSUS, viewer="b") == {u0: frozenset({"Food", "Staff"})}
        assert training_labels(s, project, coder_target("a"), viewer="b") == {}
        assert visible_codes(s, project, [u0, u1, u2], "b") == {
            u0: visible_codes(s, project, [u0], "b")[u0]}
        assert visible_codes(s, project, [u0], "b")[u0].mine == frozenset({"Food", "Staff"})
        assert visible_codes(s, project, [u0], "b")[u0].others == {}
        assert s.scalars(select(Unit.id).where(scope_clause(project, "b", code_id=waiting))).all() == []
        assert s.scalars(select(Unit.id).where(scope_clause(project, "b", coder="a"))).all() == []
        # The team-level view (no viewer) sees everything: majority of a and b on u0 is Food.
        assert training_labels(s, project) == {u0: frozenset({"Food"}), u1: frozenset({"Waiting"})}

        Rd.close_round(s, Rd.rounds(s, project)[0])
        R.record_consensus(s, project, u0, {food, staff}, "both", "lead")
        s.commit()
        assert training_labels(s, project, CONSENSUS, viewer="b") == {
            u0: frozenset({"Food", "Staff"}), u1: frozenset({"Waiting"})}
        assert training_labels(s, project, coder_target("a"), viewer="b") == {
            u0: frozenset({"Food"}), u1: frozenset({"Waiting"})}
        seen = visible_codes(s, project, [u0, u1, u2], "b")
        assert seen[u0].others == {"a": frozenset({"Food"})}
        assert seen[u0].consensus == frozenset({"Food", "Staff"})
        assert seen[u1].mine is None and seen[u1].others == {"a": frozenset({"Waiting"})}
        assert u2 not in seen
        assert s.scalars(select(Unit.id).where(scope_clause(project, "b", code_id=waiting, coder="a"))).all() == [u1]
        assert s.scalars(select(Unit.id).where(scope_clause(project, "b", code_id=staff, coder=CONSENSUS))).all() \
            == [u0]


def test_evaluate_project_needs_coded_units(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "empty", "lead")
        with pytest.raises(ProjectError, match="no coded units yet"):
            evaluate_project(s, project)
