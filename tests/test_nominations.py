"""The nomination tally: normalised names, the review step, the number to invite, ties, anonymity."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from survey_setup import open_survey, store

from exports.nominations import NominationError, normalise, parse_merge, read_merge_file, resolve, rows, tally


@pytest.mark.parametrize("spelling", ["Jane Smith", "jane  smith ", "Dr. Jane Smith", "DR JANE SMITH", "Smith, Jane",
                                      "Dr.Jane Smith", "Jane Smith, MD", "Doctor Jane Smith", "jane smith md"])
def test_spellings_of_one_name_normalise_alike(spelling):
    assert normalise(spelling) == "jane smith"


def test_a_different_name_stays_apart():
    assert normalise("Jane Smyth") != normalise("Jane Smith")
    assert normalise("Drew Barry") == "drew barry"  # "Dr" only as a word of its own


def test_ties_share_a_rank_and_a_tie_at_the_cut_is_marked():
    ballots = [("EM", ["A One", "B Two"]), ("EM", ["A One", "C Three"]), ("EM", ["B Two", "D Four"]),
               ("EM", ["C Three"])]
    (dept,) = tally(ballots, physicians={"EM": 12}, physicians_from="roster")
    assert dept.to_invite == 2  # 12 physicians: ceil(12 / 10)
    got = [(n.name, n.nominations, n.rank, n.tied, n.invite) for n in dept.nominees]
    assert got == [("A One", 2, 1, True, "tied at the cut"), ("B Two", 2, 1, True, "tied at the cut"),
                   ("C Three", 2, 1, True, "tied at the cut"), ("D Four", 1, 4, False, "no")]
    (clear,) = tally(ballots, physicians={"EM": 30}, physicians_from="roster")
    assert [n.invite for n in clear.nominees] == ["yes", "yes", "yes", "no"]


def test_unknown_department_size_is_said_not_guessed():
    (dept,) = tally([("EM", ["A One"])])
    assert dept.to_invite is None
    assert rows([dept])[0][-2:] == ["not known (no roster or invitations)", "not known"]
    assert dept.nominees[0].invite == ""


def test_a_name_twice_on_one_form_counts_once():
    (dept,) = tally([("EM", ["Jane Smith", "Dr Jane Smith", "jane smith"])])
    assert [(n.name, n.nominations) for n in dept.nominees] == [("Jane Smith", 1)]


def test_merges_follow_chains_and_refuse_cycles_and_conflicts(tmp_path: Path):
    assert resolve([("a b", "a c", "x"), ("a c", "a d", "y")]) == {"a b": "a d", "a c": "a d"}
    with pytest.raises(NominationError, match="circle"):
        resolve([("a b", "a c", "x"), ("a c", "a b", "y")])
    with pytest.raises(NominationError, match="y: 'a b' is already merged into 'a c' \\(x\\)"):
        resolve([("a b", "a c", "x"), ("a b", "a d", "y")])
    with pytest.raises(NominationError, match="--merge: a merge is"):
        parse_merge("Jane Smith", "--merge")
    merges = tmp_path / "merges.txt"
    merges.write_text("# reviewed 2026-01-05\nJane Smyth = Jane Smith\n\nJ Smith\n")
    with pytest.raises(NominationError, match=f"{merges}:4: a merge is"):
        read_merge_file(merges)
    merges.write_text("Jane Smyth = Jane Smith  # same person\n")
    assert read_merge_file(merges) == [("jane smyth", "jane smith", f"{merges}:1")]


# A generated department: 10 nominators; Jane Smith nominated 6 times under 3 spellings, 2 of which normalise
# alike and the third ("Jane Smyth") only merges after review.
FORMS = [
    {"nominee_1": "Dr. Jane Smith", "nominee_2": "Omar Haddad", "qualities": ["listener"], "why": "nominator-1"},
    {"nominee_1": "jane smith", "nominee_2": "Li Wei", "why": "nominator-2"},
    {"nominee_1": "Jane Smyth", "nominee_2": "Omar Haddad", "nominee_3": "Rosa Diaz", "why": "nominator-3"},
    {"nominee_1": "Smith, Jane", "why": "nominator-4"},
    {"nominee_1": "Omar Haddad", "nominee_2": "JANE SMYTH", "why": "nominator-5"},
    {"nominee_1": "Li Wei", "nominee_2": "Rosa Diaz", "why": "nominator-6"},
    {"nominee_1": "Dr Jane Smith", "nominee_2": "Li Wei", "why": "nominator-7"},
    {"nominee_1": "Rosa Diaz", "why": "nominator-8"},
    {"nominee_1": "Ken Ito", "nominee_2": "Omar Haddad", "why": "nominator-9"},
    {"nominee_1": "Li  Wei", "why": "nominator-10"},
]


def test_tally_of_a_generated_department_after_the_merge_step(app, runner, tmp_path: Path):
    slug = open_survey(runner, "nomination", "nom-em")
    store(app, slug, FORMS)
    roster = tmp_path / "roster.csv"
    roster.write_text("email,department\n" + "".join(f"doc{i}@example.org,Emergency Medicine\n" for i in range(23)))
    out = tmp_path / "tally.csv"

    first = runner.invoke(args=["nominations", "tally", slug, "--roster", str(roster), "--out", str(out)])
    assert first.exit_code == 1
    assert "proposed merge: 'jane smyth' looks like 'jane smith'" in first.output
    assert "23 physicians (roster roster.csv): invite 3" in first.output
    assert "not written: decide the 1 proposed merge(s) first" in first.output and not out.exists()

    final = runner.invoke(args=["nominations", "tally", slug, "--roster", str(roster), "--out", str(out),
                                "--merge", "Jane Smyth=Jane Smith"])
    assert final.exit_code == 0, final.output
    assert "Final: no spelling left to review." in final.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        got = list(csv.reader(handle))
    assert got[0] == ["Department", "Rank", "Nominee", "Nominations", "Invite", "Spellings merged", "Physicians",
                      "To invite (1 per 10)"]
    table = [(r[0], r[1], r[2], r[3], r[4]) for r in got[1:]]
    assert table == [
        ("Emergency Medicine", "1", "Jane Smith", "6", "yes"),
        ("Emergency Medicine", "2=", "Li Wei", "4", "yes"),
        ("Emergency Medicine", "2=", "Omar Haddad", "4", "yes"),
        ("Emergency Medicine", "4", "Rosa Diaz", "3", "no"),
        ("Emergency Medicine", "5", "Ken Ito", "1", "no"),
    ]
    assert got[1][5] == "jane smith; jane smyth"  # normalised: no nominator's own typing in the file
    assert all(r[6:] == ["23", "3"] for r in got[1:])
    # Anonymity: nothing of a nominator's form but the names sits in the file (control: the forms held more).
    text = out.read_text(encoding="utf-8-sig")
    assert "nominator-" not in text and "listener" not in text
    assert any("nominator-" in str(f.get("why")) for f in FORMS)

    book = tmp_path / "tally.xlsx"
    result = runner.invoke(args=["nominations", "tally", slug, "--roster", str(roster), "--out", str(book),
                                 "--merge", "Jane Smyth=Jane Smith"])
    assert result.exit_code == 0, result.output
    cells = list(load_workbook(book)["Nominations"].iter_rows(values_only=True))
    assert cells[3][:5] == ("Emergency Medicine", 1, "Jane Smith", 6, "yes")
    assert "Nothing about the nominators" in cells[1][0]


def test_kept_apart_is_not_proposed_again_and_no_roster_says_so(app, runner):
    slug = open_survey(runner, "nomination", "nom-apart")
    store(app, slug, FORMS)
    result = runner.invoke(args=["nominations", "tally", slug, "--apart", "Jane Smyth=Jane Smith"])
    assert result.exit_code == 0, result.output
    assert "proposed merge" not in result.output and "Final" in result.output
    assert "physicians not known (no roster given and no invitations)" in result.output
    assert "Jane Smyth" in result.output


def test_bad_merge_is_one_clear_error(app, runner):
    slug = open_survey(runner, "nomination", "nom-bad")
    result = runner.invoke(args=["nominations", "tally", slug, "--merge", "Jane Smith"])
    assert result.exit_code == 1
    assert "--merge Jane Smith: a merge is 'spelling to merge=spelling to keep'" in result.output
    assert "Traceback" not in result.output


MULTI = """\
id: nomination-multi
version: 1
title: Nominate your peer supporters
sections:
  - id: nominate
    questions:
      - id: department
        type: single_choice
        text: Your department
        choices:
          - {code: em, label: Emergency Medicine}
          - {code: surg, label: Surgery}
      - id: nominee_1
        type: text
        text: First colleague
        required: true
      - id: nominee_2
        type: text
        text: Second colleague
"""


def test_one_survey_for_several_departments_counts_physicians_from_its_invitations(database_url, tmp_path: Path):
    import shutil

    from surveyapp.db import new_session
    from surveyapp.models import Invitation

    from conftest import INSTRUMENTS, make_test_app

    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "nomination-multi.yaml").write_text(MULTI)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    try:
        runner = app.test_cli_runner()
        slug = open_survey(runner, "nomination-multi", "nom-all")
        with app.app_context(), new_session() as session:
            session.add_all([Invitation(survey_slug=slug, department="Emergency Medicine") for _ in range(23)]
                            + [Invitation(survey_slug=slug, department="Surgery") for _ in range(9)])
            session.commit()
        store(app, slug, [{"department": "em", "nominee_1": "Ana Ruiz", "nominee_2": "Bo Chen"},
                          {"department": "em", "nominee_1": "ana ruiz"},
                          {"department": "surg", "nominee_1": "Bo Chen"},
                          {"nominee_1": "Cy Diaz"}])
        out = tmp_path / "all.csv"
        result = runner.invoke(args=["nominations", "tally", slug, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "Emergency Medicine: 2 nominating forms; 23 physicians (invitations): invite 3" in result.output
        assert "Surgery: 1 nominating forms; 9 physicians (invitations): invite 1" in result.output
        with out.open(encoding="utf-8-sig", newline="") as handle:
            got = [(r[0], r[2], r[3], r[4]) for r in list(csv.reader(handle))[1:]]
        # Bo Chen is counted in each department that nominated him; a form without a department is its own group
        assert got == [("Emergency Medicine", "Ana Ruiz", "2", "yes"), ("Emergency Medicine", "Bo Chen", "1", "yes"),
                       ("No department given", "Cy Diaz", "1", ""), ("Surgery", "Bo Chen", "1", "yes")]
    finally:
        app.extensions["surveykit.engine"].dispose()
