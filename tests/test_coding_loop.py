"""The paper's loop end to end: 42 open-ended answers (of 66 respondents) coded blind by 3 physician-investigators,
agreement, discrepancies reconciled, a code merged and one split with re-review, theme tables exported.

The test keeps its own model of who applied what; after every step the database must hold exactly that model
(every application accounted for) and the counts each step reports must explain the difference.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from coding import applying as Ap
from coding import blindness as Bl
from coding import codings as Cg
from coding import evolution as E
from coding import projects as P
from coding import reconcile as R
from coding import rounds as Rd
from coding.agreement import agreement_report
from coding.codebook.stored import load_tree
from coding.store import Application, ConsensusCode, Unit
from surveyapp import db
from surveyapp.models import Response

CODERS = ["cl@example.org", "mt@example.org", "sl@example.org"]
LEAD = CODERS[1]
EFF, IMP = "Perceived effectiveness", "Implementation"
THEMES = [f"{EFF}/Perspective taking", f"{EFF}/Resilience", f"{EFF}/Hopefulness", f"{EFF}/Culture change",
          f"{EFF}/Skilled supporters", f"{IMP}/Institutional support", f"{IMP}/Accessibility",
          f"{IMP}/Time constraints"]
CODEBOOK = f"""
name: POST open-ended answers
codes:
  - name: {EFF}
    definition: Effects of the program as respondents perceive them.
    color: "#1F77B4"
    children:
""" + "".join(f"      - name: {t.split('/')[1]}\n        definition: Answer mentions {t.split('/')[1].lower()}.\n"
              for t in THEMES[:5]) + f"""  - name: {IMP}
    definition: What helps or hinders using the program.
    color: "#D62728"
    children:
""" + "".join(f"      - name: {t.split('/')[1]}\n" for t in THEMES[5:])

Model = dict[str, dict[str, set[str]]]  # coder -> unit label -> code paths


def cli(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["coding", *args])
    assert result.exit_code == 0, result.output
    return result.output


def snapshot(app: Flask) -> tuple[Model, dict[str, set[str]], int, int]:
    """Return what the database holds: codings per coder, consensus per unit, #applications, #consensus codes."""
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        tree = load_tree(s, project.id)
        held: Model = {c: {} for c in CODERS}
        for label, by in Cg.codings(s, project).items():
            for coder, codes in by.items():
                held[coder][label] = set(codes)
        labels = dict(s.execute(select(Unit.id, Unit.label).where(Unit.project_id == project.id)).all())
        consensus: dict[str, set[str]] = {}
        for unit_id, code_id in s.execute(select(ConsensusCode.unit_id, ConsensusCode.code_id)):
            consensus.setdefault(labels[unit_id], set()).add(tree.path(code_id))
        apps = s.scalar(select(func.count()).select_from(Application)) or 0
        cons = s.scalar(select(func.count()).select_from(ConsensusCode)) or 0
    return held, consensus, apps, cons


def rounded(value: object) -> object:
    """Round every float in a JSON-like value to 12 decimals."""
    if isinstance(value, float):
        return round(value, 12)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def size(model: Model) -> int:
    return sum(len(codes) for by in model.values() for codes in by.values())


def test_the_papers_coding_loop(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    rng = random.Random(2023)
    # 66 respondents were aware of the program; 42 of them answered the open-ended question.
    assert runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept"]).exit_code == 0
    truth: dict[str, set[str]] = {}
    with app.app_context(), db.new_session() as s:
        for i in range(66):
            themes = set(rng.sample(THEMES, rng.choice([1, 1, 2, 2, 3]))) if i < 42 else set()
            text = f"Answer {i}: " + "; ".join(sorted(t.split("/")[1].lower() for t in themes)) if themes else None
            answers = {"aware": "yes", "benefits_text": text}
            response = Response(survey_slug="dept", instrument_id="department-survey", instrument_version=1,
                                instrument_sha256="0" * 64, submitted_on=dt.date.today(), answers=answers)
            s.add(response)
            s.flush()
            if themes:
                truth[f"dept:benefits_text:{response.key}"] = themes
        s.commit()
    book = tmp_path / "codebook.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    assert "42 answers to code as 'Round 1'" in cli(runner, "create", "post", "--survey", "dept", "--question",
                                                    "benefits_text", "--codebook", str(book), "--by", LEAD)

    # 1. Three coders code all 42 answers blind: each misses or adds a theme now and then.
    model: Model = {c: {} for c in CODERS}
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        ids = load_tree(s, project.id).ids
        units = {u.label: u for u in s.scalars(select(Unit).where(Unit.project_id == project.id))}
        assert set(units) == set(truth)
        for coder in CODERS:
            for label in sorted(truth):
                codes = set(truth[label])
                if rng.random() < 0.25:
                    codes.symmetric_difference_update({rng.choice(THEMES)})
                model[coder][label] = codes
                quotes = {ids[c] for c in codes if rng.random() < 0.1}
                Ap.set_codes(s, project, units[label].id, coder, {ids[c] for c in codes}, quotes=quotes,
                            memo=f"{coder} on {label[-6:]}")
                # Blind: nobody sees another coder's codes before finishing the round.
                assert set(Bl.visible_reviews(s, units[label].id, coder)) == {coder}
        s.commit()
    held, _, apps, _ = snapshot(app)
    assert held == model and apps == size(model)

    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        rnd = Rd.get_round(s, project, "Round 1")
        for coder in CODERS:
            Rd.finish_round(s, rnd, coder)
        s.commit()

    # 2. Agreement through the CLI equals the report on the codings the test itself applied.
    report = json.loads(cli(runner, "agreement", "post", "--json", "--bootstrap", "200"))
    expected = agreement_report({label: {c: frozenset(model[c][label]) for c in CODERS} for label in truth},
                                bootstrap=200)
    # Equal up to float summation order (the project lists units by position, the model by label).
    assert rounded(report) == rounded(expected)
    assert report["units"] == 42 and report["coders"] == CODERS
    assert set(report["per_code"]) <= set(THEMES)

    # 3. Discrepancies: exactly the units where the coders' sets differ; the team records a majority consensus.
    disputed = {label for label in truth if len({frozenset(model[c][label]) for c in CODERS}) > 1}
    consensus: dict[str, set[str]] = {}
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        ids = load_tree(s, project.id).ids
        queue = R.disputes(s, project, viewer=LEAD)
        assert {d.label for d in queue} == disputed and disputed
        weights = [d.score for d in queue]
        assert weights == sorted(weights, reverse=True)  # most disputed codes first
        for d in queue:
            votes = [model[c][d.label] for c in CODERS]
            consensus[d.label] = {t for t in THEMES if sum(t in v for v in votes) >= 2}
            R.record_consensus(s, project, d.unit_id, {ids[t] for t in consensus[d.label]},
                               "majority after discussion", LEAD)
        final = R.final_codes(s, project)
        assert (final.n_consensus, final.n_fallback, final.n_unresolved) == (len(disputed), 42 - len(disputed), 0)
        assert R.disputes(s, project, viewer=LEAD) == []
        s.commit()
    held, cons_held, apps, cons = snapshot(app)
    assert held == model and cons_held == {k: v for k, v in consensus.items() if v} and apps == size(model)

    # 4. Merge Hopefulness into Resilience: a coder who had both keeps one application.
    a, b = f"{EFF}/Hopefulness", f"{EFF}/Resilience"
    both = sum(1 for c in CODERS for codes in model[c].values() if {a, b} <= codes)
    cons_both = sum(1 for codes in consensus.values() if {a, b} <= codes)
    before, cons_before = apps, cons
    out = cli(runner, "merge", "post", a, b, "--why", "hope is part of resilience here", "--by", LEAD)
    assert f"{both} collapsed (coder had both)" in out
    for by in [*model.values(), consensus]:
        for codes in by.values():
            if a in codes:
                codes.discard(a)
                codes.add(b)
    held, cons_held, apps, cons = snapshot(app)
    assert held == model and cons_held == {k: v for k, v in consensus.items() if v}
    assert apps == before - both == size(model) and cons == cons_before - cons_both

    # 5. Split Accessibility into two codes: every application is queued for its coder to re-review.
    split, new = f"{IMP}/Accessibility", [f"{IMP}/Ease of access", f"{IMP}/Proactive outreach"]
    n_split = sum(1 for by in model.values() for codes in by.values() if split in codes)
    n_cons_split = sum(1 for codes in consensus.values() if split in codes)
    out = cli(runner, "split", "post", split, "Ease of access", "Proactive outreach", "--why", "two ideas",
              "--by", LEAD)
    assert f"{n_split} applications and {n_cons_split} consensus decisions queued" in out
    held, _, apps, _ = snapshot(app)
    assert held == model and apps == size(model)  # nothing moves before the re-review
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        ids = load_tree(s, project.id).ids
        labels = dict(s.execute(select(Unit.id, Unit.label)).all())
        entries = E.rereviews(s, project)
        assert len(entries) == n_split + n_cons_split
        for entry in entries:
            picked = [new[0]] if rng.random() < 0.5 else [new[1]] if rng.random() < 0.5 else new
            E.resolve(s, project, entry.id, [ids[p] for p in picked], entry.coder or LEAD)
            target = model[entry.coder] if entry.coder else consensus
            target[labels[entry.unit_id]].discard(split)
            target[labels[entry.unit_id]].update(picked)
        assert E.rereviews(s, project) == []
        s.commit()
    held, cons_held, apps, _ = snapshot(app)
    assert held == model and cons_held == {k: v for k, v in consensus.items() if v} and apps == size(model)
    assert not any(split in codes for by in model.values() for codes in by.values())

    # 6. Theme tables: per theme n (%) of the 42 coded answers and of the 66 respondents, by domain.
    out_path = tmp_path / "themes.xlsx"
    cli(runner, "export", "post", "--out", str(out_path), "--respondents", "66", "--bootstrap", "100")
    # Units without consensus count by the default rule, majority: a code 2 of the 3 coders gave.
    final_codes = {label: consensus[label] if label in consensus else
                   {code for code in set().union(*(model[c][label] for c in CODERS))
                    if 2 * sum(code in model[c][label] for c in CODERS) > len(CODERS)}
                   for label in truth}
    workbook = load_workbook(out_path)
    assert workbook.sheetnames[:3] == ["Summary", EFF, IMP]
    summary = {r[0]: r[1] for r in workbook["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Coded units (denominator of % of units)"] == 42
    assert summary["Respondents (denominator of % of respondents)"] == 66
    assert summary["Units whose final codes are a recorded consensus"] == len(disputed)
    assert summary["Units without consensus, counted by that rule"] == 42 - len(disputed)
    assert summary["Rule for units without consensus"].startswith("'majority'")
    for domain in (EFF, IMP):
        rows = list(workbook[domain].iter_rows(values_only=True))
        header = next(i for i, r in enumerate(rows) if r[0] == "Theme")
        for row in rows[header + 1:]:
            path = f"{domain}/{row[0].strip()}"
            n = sum(1 for codes in final_codes.values() if path in codes)
            assert row[8] == n and row[3] == (f"{n} ({100 * n / 42:.1f}%) of 42"), path
            assert row[10] == n and row[11] == round(100 * n / 66, 1), path  # one answer per respondent here
    themes_now = {f"{EFF}/Perspective taking", f"{EFF}/Resilience", f"{EFF}/Culture change",
                  f"{EFF}/Skilled supporters", f"{IMP}/Institutional support", f"{IMP}/Time constraints", *new}
    listed = {f"{d}/{r[0].strip()}" for d in (EFF, IMP) for r in list(workbook[d].iter_rows(values_only=True))[5:]}
    assert listed == themes_now | {split}  # the split code stays listed (retired), with no unit left
    # The per-coder matrices hold every application; the audit log every change.
    for i, coder in enumerate(CODERS):
        matrix = list(workbook[workbook.sheetnames[4 + i]].iter_rows(values_only=True))
        assert matrix[0][0] == f"Codes applied by {coder.partition('@')[0]}"  # display name, not the address
        assert sum(v for r in matrix[2:] for v in r[1:]) == size({coder: model[coder]})
    actions = [r[3] for r in list(workbook["Audit log"].iter_rows(values_only=True))[1:]]
    assert actions == ["import", "merge", "split"]
