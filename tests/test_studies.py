"""Studies through their commands: a randomized two-wave trial end to end, the key table, concealed allocation.

The trial: 140 physicians in four departments enrolled from a roster into a study randomized by permuted blocks
(2 and 4, stratified by department); PFI answers generated with a known coaching effect and 10% drop-out per
arm at follow-up, imported into each wave with their study id; `studies compare` is checked figure by figure
against statsmodels/SciPy computed here from the raw generated answers.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect, text
from trial_check import cross_check

from exports.trial import compare
from instrument import load_instrument, score_value
from instrument.allocation import allocation_list
from surveyapp.db import new_session
from surveyapp.studies.analysis import linked_participants
from surveyapp.studies.models import Study
from surveyapp.studies.store import find_wave

from conftest import INSTRUMENTS

DEPARTMENTS = {"EM": 38, "IM": 36, "Surgery": 34, "ICU": 32}  # 140
ARMS = ("coaching", "control")
ID_RE = re.compile(r"^(P-[A-Z0-9]{8})  (\S+)  (.+)$", re.M)


def ok(runner, *args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exc_info and "".join(
        __import__("traceback").format_exception(*result.exc_info)))
    return result


def seventy_seventy_seed() -> int:
    """The first seed whose stratified lists put 70 of the 140 in each arm (the trial's 70 + 70)."""
    for seed in range(1, 1000):
        arms = Counter(a.arm for d, n in DEPARTMENTS.items()
                       for a in allocation_list(ARMS, (1, 1), (2, 4), [d], n, seed)[:n])
        if arms["coaching"] == arms["control"] == 70:
            return seed
    raise AssertionError("no seed found")


def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    lines = ["email,department"] + [f"{d.lower()}.{i:02d}@hospital.example,{d}"
                                    for d, n in DEPARTMENTS.items() for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_trial(runner, tmp_path: Path, seed: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Open two PFI waves, create the study, randomize, enroll the roster; return study id -> arm."""
    for slug in ("coach-w1", "coach-w2"):
        ok(runner, "surveys", "create", "pfi", "--id", slug, "--mode", "invitation")
    ok(runner, "studies", "create", "coach", "--linkage", "confidential", "--title", "Peer coaching trial")
    ok(runner, "studies", "add-wave", "coach", "coach-w1", "--label", "baseline")
    ok(runner, "studies", "add-wave", "coach", "coach-w2", "--label", "3 months")
    ok(runner, "studies", "randomize", "coach", "--arms", ",".join(ARMS), "--ratio", "1:1", "--block-sizes", "2,4",
       "--strata", "department", "--seed", str(seed))
    enrolled = ok(runner, "studies", "enroll", "coach", "--roster", str(roster(tmp_path)))
    return {sid: arm for sid, _dept, arm in ID_RE.findall(enrolled.output)}


PFI_ITEMS = ([("pf", f"pf{i}") for i in range(1, 7)] + [("we", f"we{i}") for i in range(1, 5)]
             + [("idg", f"id{i}") for i in range(1, 7)])


def generated_answers(arms: dict[str, str], seed: int = 16) -> dict[int, dict[str, dict]]:
    """PFI answers per wave and study id: burnout around a latent level, coaching -0.8, control +0.05,
    7 of 70 per arm missing at follow-up, some sheets with too many items missing to score."""
    rng = np.random.default_rng(seed)

    def sheet(latent: float) -> dict:
        levels: list[int | None] = [int(v) + 1 for v in np.clip(np.rint(latent + rng.normal(0, 0.7, 16)), 0, 4)]
        if rng.random() < 0.05:
            for i in rng.choice(10, 3, replace=False):
                levels[6 + int(i)] = None  # 3 of the 10 burnout items missing: no burnout score
        answers: dict[str, dict] = {"pf": {}, "we": {}, "idg": {}}
        for (question, item), level in zip(PFI_ITEMS, levels, strict=True):
            answers[question][item] = level
        return answers

    waves: dict[int, dict[str, dict]] = {1: {}, 2: {}}
    for arm, effect in (("coaching", -0.8), ("control", 0.05)):
        ids = sorted(sid for sid, a in arms.items() if a == arm)
        dropped = set(rng.choice(len(ids), 7, replace=False).tolist())
        for i, sid in enumerate(ids):
            latent = float(rng.normal(1.6, 0.7))
            waves[1][sid] = sheet(latent)
            if i not in dropped:
                waves[2][sid] = sheet(latent + effect + rng.normal(0, 0.3))
    return waves


def write_wave(path: Path, sheets: dict[str, dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["study_id", *(f"{q}.{i}" for q, i in PFI_ITEMS)])
        for sid, answers in sheets.items():
            writer.writerow([sid, *("" if answers[q][i] is None else answers[q][i] for q, i in PFI_ITEMS)])
    return path


def all_rows(app) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    engine = app.extensions["surveykit.engine"]
    with engine.connect() as conn:
        return {t: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{t}"'))]
                for t in inspect(engine).get_table_names()}


def row_text(row: dict) -> str:
    return " ".join(json.dumps(v, default=str) if isinstance(v, dict | list) else str(v) for v in row.values())


def test_a_randomized_two_wave_trial_through_the_study_commands(app, runner, tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    arms = make_trial(runner, tmp_path, seventy_seventy_seed())
    assert Counter(arms.values()) == {"coaching": 70, "control": 70}
    waves = generated_answers(arms)
    assert len(waves[2]) == 126  # 10% drop-out in each arm
    for number in (1, 2):
        result = ok(runner, "import", f"coach-w{number}", str(write_wave(tmp_path / f"w{number}.csv", waves[number])))
        assert f"{len(waves[number])}" in result.output

    out = tmp_path / "trial.xlsx"
    shown = ok(runner, "studies", "compare", "coach", "--outcome", "burnout", "--arms", "coaching,control",
               "--out", str(out)).output
    assert "Linked by study id (266 responses linked" in shown

    # The raw data, scored by the instrument's own score, analysed here by other routes.
    burnout = next(s for s in load_instrument(INSTRUMENTS / "pfi.yaml").scores if s.id == "burnout")
    frame = pd.DataFrame([{"arm": arm, "baseline": score_value(burnout, waves[1][sid]),
                           "follow_up": score_value(burnout, waves[2][sid]) if sid in waves[2] else None}
                          for sid, arm in arms.items()])
    frame = frame.astype({"baseline": float, "follow_up": float})
    with app.app_context(), new_session() as db:
        study = db.get(Study, "coach")
        rows = linked_participants(db, study, find_wave(db, study, "baseline", 1), find_wave(db, study, None, 2),
                                   "burnout")
    result = compare(rows, list(ARMS))
    changes = cross_check(result, frame)
    for summary in result.arms:
        assert summary.randomised == 70 and summary.attrition >= 7
        # the printed table shows the same figures
        change = summary.change
        assert f"{change.value:.2f} ({change.low:.2f} to {change.high:.2f})" in shown
        assert f"{summary.n_both}" in shown and len(changes[summary.arm]) == summary.n_both
    diff, adjusted = result.difference_in_change, result.adjusted_difference
    assert f"{diff.value:.2f} ({diff.low:.2f} to {diff.high:.2f})" in shown
    assert f"{adjusted.value:.2f} ({adjusted.low:.2f} to {adjusted.high:.2f})" in shown
    assert f"{round(result.cohens_d, 2)}" in shown
    # the known effect is found
    assert adjusted.high < 0 and -1.2 < adjusted.value < -0.4
    # the workbook sheet holds the same table
    cells = [c for row in load_workbook(out)["Comparison"].iter_rows(values_only=True) for c in row if c is not None]
    assert f"{adjusted.value:.2f} ({adjusted.low:.2f} to {adjusted.high:.2f})" in cells
    assert "Complete-case" in " ".join(str(c) for c in cells)

    # Confidential: no address in any table the analysis reads.
    tables = all_rows(app)
    for name in ("responses", "study_links", "study_participants", "study_allocations", "surveys"):
        assert tables[name] and not any("@" in row_text(r) for r in tables[name]), name
    assert {r["arm"] for r in tables["study_links"]} == set(ARMS)


def test_the_key_table_is_exported_then_destroyed(app, runner, tmp_path):
    arms = make_trial(runner, tmp_path, 7)
    ok(runner, "import", "coach-w1", str(write_wave(tmp_path / "w1.csv", generated_answers(arms)[1])))
    key_csv = tmp_path / "key.csv"
    ok(runner, "studies", "export-key", "coach", "--out", str(key_csv))
    with key_csv.open(encoding="utf-8-sig") as handle:
        keys = {row["study_id"]: row["email"] for row in csv.DictReader(handle)}
    assert set(keys) == set(arms) and all("@hospital.example" in e for e in keys.values())

    def linked_rows() -> list[tuple[str, dict]]:
        """Rows of any table holding both an address and a study id."""
        return [(name, r) for name, rows in all_rows(app).items() for r in rows
                if any(e in row_text(r) for e in keys.values()) and any(s in row_text(r) for s in keys)]

    # Control: before the key is destroyed, the check finds the key table's rows (and only them).
    found = linked_rows()
    assert len(found) == 140 and {name for name, _ in found} == {"study_keys"}
    refused = runner.invoke(args=["studies", "destroy-key", "coach"])
    assert refused.exit_code == 1 and "cannot be undone" in refused.output
    assert len(linked_rows()) == 140
    url = app.config["SURVEYKIT_DATABASE_URL"]
    files = [Path(url.removeprefix("sqlite:///") + suffix) for suffix in ("", "-wal")] if url.startswith("sqlite") \
        else []

    def on_disk() -> bool:
        """Whether any address is in the database's files (SQLite: the file and its WAL, freed pages included)."""
        return any(b"@hospital.example" in f.read_bytes() for f in files if f.exists())

    assert on_disk() or not files  # control: the key table's addresses are there before
    done = ok(runner, "studies", "destroy-key", "coach", "--yes")
    assert "140 links" in done.output
    assert linked_rows() == []
    assert not on_disk()
    # The study ids and arms stay for the analysis; nobody can be invited to a further wave.
    assert len(all_rows(app)["study_participants"]) == 140
    again = runner.invoke(args=["studies", "invite", "coach", "--wave", "3 months"])
    assert again.exit_code == 1 and "no key table" in again.output


def test_allocation_is_concealed_until_enrollment_and_reproducible(app, runner, tmp_path):
    seed = 424242
    ok(runner, "surveys", "create", "pfi", "--id", "r-w1")
    ok(runner, "studies", "create", "rct", "--linkage", "confidential")
    ok(runner, "studies", "add-wave", "rct", "r-w1", "--label", "baseline")
    ok(runner, "studies", "randomize", "rct", "--arms", "a,b", "--block-sizes", "2,4", "--strata", "department",
       "--seed", str(seed))
    # Before enrollment: no place of the list in the database or the commands, nor the seed.
    tables = all_rows(app)
    assert tables["study_allocations"] == [] and tables["study_participants"] == []
    assert not any(str(seed) in row_text(r) for rows in tables.values() for r in rows)
    (sealed,) = tables["study_randomizations"]
    assert b'"a"' not in bytes(sealed["sealed"]) and str(seed).encode() not in bytes(sealed["sealed"])
    shown = ok(runner, "studies", "allocation", "rct")
    assert "0 allocated" in shown.output and str(seed) not in shown.output
    early = runner.invoke(args=["studies", "allocation", "rct", "--with-seed"])
    assert early.exit_code == 1 and str(seed) not in early.output and "waves still open: r-w1" in early.output
    # One participant: their place, and only theirs, appears.
    one = ok(runner, "studies", "enroll", "rct", "--email", "x@hospital.example", "--department", "EM")
    (first,) = ID_RE.findall(one.output)
    expected = allocation_list(("a", "b"), (1, 1), (2, 4), ["EM"], 60, seed)
    assert first[2] == expected[0].arm
    assert len(all_rows(app)["study_allocations"]) == 1
    # The rest of a roster: each stratum follows its list in enrollment order, blocks balanced.
    path = tmp_path / "more.csv"
    path.write_text("email,department\n" + "".join(f"p{i}@hospital.example,{'EM' if i % 3 else 'IM'}\n"
                                                   for i in range(90)), encoding="utf-8")
    ok(runner, "studies", "enroll", "rct", "--roster", str(path))
    out = tmp_path / "allocation.csv"
    ok(runner, "studies", "allocation", "rct", "--out", str(out))
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 91
    for stratum in ("EM", "IM"):
        places = [r for r in rows if r["Stratum"] == stratum]
        drawn = allocation_list(("a", "b"), (1, 1), (2, 4), [stratum], len(places), seed)
        assert [r["Arm"] for r in places] == [d.arm for d in drawn[:len(places)]]  # same seed, same list
        blocks: dict[str, Counter] = {}
        for r in places:
            blocks.setdefault(r["Block"], Counter())[r["Arm"]] += 1
        for number, counts in blocks.items():
            size = int(next(r["Block size"] for r in places if r["Block"] == number))
            if sum(counts.values()) == size:  # a whole block holds each arm size/2 times
                assert counts["a"] == counts["b"] == size // 2, (stratum, number)
        running = 0
        for r in places:
            running += 1 if r["Arm"] == "a" else -1
            assert abs(running) <= 2  # half the largest block
    # The same settings and seed on another study give the same lists.
    ok(runner, "surveys", "create", "pfi", "--id", "r2-w1")
    ok(runner, "studies", "create", "rct2", "--linkage", "confidential")
    ok(runner, "studies", "randomize", "rct2", "--arms", "a,b", "--block-sizes", "2,4", "--strata", "department",
       "--seed", str(seed))
    ok(runner, "studies", "enroll", "rct2", "--roster", str(path))
    out2 = tmp_path / "allocation2.csv"
    ok(runner, "studies", "allocation", "rct2", "--out", str(out2))
    with out2.open(encoding="utf-8-sig") as handle:
        second = [(r["Stratum"], r["Sequence"], r["Arm"]) for r in csv.DictReader(handle)]
    im = [x for x in second if x[0] == "IM"]
    assert im == [(r["Stratum"], r["Sequence"], r["Arm"]) for r in rows if r["Stratum"] == "IM"]
    # An arm from the roster is refused in a randomized study; the seed shows once every wave is closed.
    armed = tmp_path / "armed.csv"
    armed.write_text("email,department,arm\nz@hospital.example,EM,a\n", encoding="utf-8")
    refused = runner.invoke(args=["studies", "enroll", "rct", "--roster", str(armed)])
    assert refused.exit_code == 1 and "armed.csv:2" in refused.output and "randomized" in refused.output
    ok(runner, "surveys", "close", "r-w1")
    assert f"seed {seed}" in ok(runner, "studies", "allocation", "rct", "--with-seed").output


def test_arms_from_the_roster_and_a_pre_post_without_arms(app, runner, tmp_path):
    ok(runner, "surveys", "create", "pfi", "--id", "pp-w1")
    ok(runner, "surveys", "create", "pfi", "--id", "pp-w2")
    ok(runner, "studies", "create", "pp", "--linkage", "confidential")
    ok(runner, "studies", "add-wave", "pp", "pp-w1", "--label", "2024")
    ok(runner, "studies", "add-wave", "pp", "pp-w2", "--label", "2025")
    path = tmp_path / "r.csv"
    path.write_text("email,department\n" + "".join(f"d{i}@hospital.example,EM\n" for i in range(30)),
                    encoding="utf-8")
    enrolled = ok(runner, "studies", "enroll", "pp", "--roster", str(path))
    ids = {sid: arm for sid, _d, arm in ID_RE.findall(enrolled.output)}
    assert len(ids) == 30 and set(ids.values()) == {"(no arm)"}  # neither randomized nor arms in the roster
    rng = np.random.default_rng(5)
    sheets = {n: {sid: {"pf": {f"pf{i}": int(rng.integers(1, 6)) for i in range(1, 7)},
                        "we": {f"we{i}": int(rng.integers(1, 6)) for i in range(1, 5)},
                        "idg": {f"id{i}": int(rng.integers(1, 6)) for i in range(1, 7)}} for sid in ids}
              for n in (1, 2)}
    del sheets[2][sorted(ids)[0]]
    for n in (1, 2):
        ok(runner, "import", f"pp-w{n}", str(write_wave(tmp_path / f"pp{n}.csv", sheets[n])))
    shown = ok(runner, "studies", "compare", "pp", "--outcome", "burnout", "--baseline", "2024",
               "--follow-up", "2025").output
    assert "(paired)" in shown and "Paired: 29 respondents linked" in shown
    # A study's roster may give the arms instead of randomization.
    ok(runner, "surveys", "create", "pfi", "--id", "arm-w1")
    ok(runner, "studies", "create", "armed", "--linkage", "confidential")
    armed = tmp_path / "armed.csv"
    armed.write_text("email,department,arm\na@hospital.example,EM,early\nb@hospital.example,EM,delayed\n",
                     encoding="utf-8")
    got = ok(runner, "studies", "enroll", "armed", "--roster", str(armed))
    assert sorted(arm for _s, _d, arm in ID_RE.findall(got.output)) == ["delayed", "early"]
    late = runner.invoke(args=["studies", "randomize", "armed", "--arms", "a,b"])
    assert late.exit_code == 1 and "from the roster" in late.output


def test_a_confidential_wave_says_confidential_and_rejects_anonymous_wording(app, runner):
    from surveyapp.invitations.wording import save_template, survey_template

    ok(runner, "surveys", "create", "pfi", "--id", "c-w1", "--mode", "invitation")
    ok(runner, "surveys", "create", "pfi", "--id", "plain", "--mode", "invitation")
    ok(runner, "studies", "create", "conf", "--linkage", "confidential")
    ok(runner, "studies", "add-wave", "conf", "c-w1", "--label", "baseline")
    with app.app_context(), new_session() as db:
        for kind in ("invitation", "reminder"):
            subject, body, html = survey_template(db, "c-w1", kind)
            assert "confidential" in body and "anonym" not in (subject + body + html).lower()
            # control: a survey outside a study keeps its anonymous wording
            assert "anonymous" in survey_template(db, "plain", kind)[1]
        with pytest.raises(ValueError, match="must say \"confidential\", never \"anonymous\""):
            save_template(db, "c-w1", "invitation", "Survey", "Your answers are anonymous. {{ link }}", "")
        save_template(db, "plain", "invitation", "Survey", "Your answers are anonymous. {{ link }}", "")
        db.commit()
    ok(runner, "studies", "create", "conf2", "--linkage", "confidential")
    refused = runner.invoke(args=["studies", "add-wave", "conf2", "plain"])
    assert refused.exit_code == 1 and "says \"anonymous\"" in refused.output


def test_bad_input_gets_one_clear_error_and_nothing_half_written(app, runner, tmp_path):
    def fails(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        return result.output

    assert "no study 'nosuch'" in fails("studies", "compare", "nosuch", "--outcome", "burnout")
    assert "lower-case letters" in fails("studies", "create", "Bad_Slug", "--linkage", "confidential")
    ok(runner, "surveys", "create", "pfi", "--id", "e-w1")
    ok(runner, "studies", "create", "e", "--linkage", "confidential")
    assert "block size 3 is not a multiple of 2" in fails("studies", "randomize", "e", "--arms", "a,b",
                                                          "--block-sizes", "3")
    assert "has 0 wave(s)" in fails("studies", "compare", "e", "--outcome", "burnout")
    ok(runner, "studies", "add-wave", "e", "e-w1", "--label", "baseline")
    assert "already wave 1 of study 'e'" in fails("studies", "add-wave", "e", "e-w1")
    assert "has no wave 'later'" in fails("studies", "compare", "e", "--outcome", "burnout", "--follow-up", "later")
    ok(runner, "studies", "enroll", "e", "--email", "a@hospital.example", "--department", "EM")
    assert "a@hospital.example is already enrolled" in fails("studies", "enroll", "e", "--email",
                                                             "a@hospital.example", "--department", "EM")
    no_id = tmp_path / "no-id.csv"
    no_id.write_text("we.we1\n2\n", encoding="utf-8")
    assert "needs a 'study_id' column" in fails("import", "e-w1", str(no_id))
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("study_id,we.we1\nP-AAAAAAAA,2\n", encoding="utf-8")
    assert "unknown.csv:2, column A ('study_id'): 'P-AAAAAAAA' is not a participant" in fails(
        "import", "e-w1", str(unknown))
    (sid,) = [r["study_id"] for r in all_rows(app)["study_participants"]]
    twice = tmp_path / "twice.csv"
    twice.write_text(f"study_id,we.we1\n{sid},2\n{sid},3\n", encoding="utf-8")
    assert f"twice.csv:3, column A ('study_id'): '{sid}' already answered wave 1 (in line 2)" in fails(
        "import", "e-w1", str(twice))
    tables = all_rows(app)
    assert tables["responses"] == [] and tables["study_links"] == []
    assert "no score or number question 'burnot'" in fails("studies", "compare", "e", "--outcome", "burnot",
                                                           "--follow-up", "baseline")
