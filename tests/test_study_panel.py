"""An anonymous panel's codes matched across waves as documented (one typo matched when unique; ambiguous and
duplicate codes reported, never merged), and a confidential wave answered through its invitation link."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from invite_scenario import answer_through
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import select

from exports.panel import code_part, match_codes, panel_code
from surveyapp.db import new_session
from surveyapp.models import Response
from surveyapp.studies.models import StudyLink, StudyParticipant

from conftest import make_test_app

WELLBEING = """\
  - id: wellbeing
    title: Well-being
    questions:
      - id: wellbeing
        type: number
        min: 0
        max: 10
        text: How would you rate your well-being (0-10)?
"""
PANEL_INSTRUMENT = """\
id: wellbeing-panel
version: 1
title: Well-being, repeated
intro: Your answers are anonymous.
thanks: Thank you.
sections:
  - id: code
    title: Your panel code
    questions:
      - id: mother_initials
        type: text
        text: The first two letters of your mother's first name
      - id: birth_day
        type: number
        integer: true
        min: 1
        max: 31
        text: The day of the month you were born
""" + WELLBEING


def cli(app):  # type: ignore[no-untyped-def]
    """Return ok(*args): run a command, assert it succeeded, return its output."""
    runner = app.test_cli_runner()

    def ok(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return ok


def test_codes_are_normalised_and_a_missing_part_gives_no_code():
    assert code_part(" m.a ") == "MA" and code_part(7) == "07" and code_part(7.0) == "07" and code_part("7") == "07"
    assert code_part(None) is None and code_part("") is None and code_part(7.5) is None
    assert panel_code({"m": "Ma", "d": 7}, ["m", "d"]) == "MA07"
    assert panel_code({"m": "Ma"}, ["m", "d"]) is None


def test_matching_exact_one_typo_ambiguous_duplicate_and_unmatched():
    first = ["MA07", "JO12", "KL03", "KL04", "AB01", "AB01", "ZZ99", "XY21", None]
    second = ["MA07", "JO13", "KL05", "AB01", "QQ11", "XY2", None, None]
    result = match_codes(first, second)
    pairs = {(m.first, m.second, m.differing) for m in result.matched}
    # exact; one character differing and unique on both sides -> matched
    assert pairs == {("MA07", "MA07", 0), ("JO12", "JO13", 1)}
    # KL05 is one character from both KL03 and KL04: all three reported, none merged
    assert {(a.wave, a.code, a.candidates) for a in result.ambiguous} == {
        (1, "KL03", ("KL05",)), (1, "KL04", ("KL05",)), (2, "KL05", ("KL03", "KL04"))}
    # AB01 twice in wave 1: a duplicate, so not matched to wave 2's AB01 (which is then unmatched)
    assert result.duplicates_first == {"AB01": 2} and "AB01" in result.unmatched_second
    # different lengths never match (XY21 vs XY2); ZZ99 has no partner
    assert set(result.unmatched_first) == {"ZZ99", "XY21"}
    assert set(result.unmatched_second) == {"AB01", "QQ11", "XY2"}
    assert (result.no_code_first, result.no_code_second) == (1, 2)
    # control: two typos are not one
    assert match_codes(["JO12"], ["JA13"]).matched == []


def test_matching_agrees_with_the_rules_applied_pair_by_pair():
    """The index finds exactly the pairs a brute-force reading of the rules finds (many near codes)."""
    rng = np.random.default_rng(4)
    for _ in range(30):
        draw = lambda n: ["".join(rng.choice(list("AB12"), int(rng.integers(2, 4)))) for _ in range(n)]  # noqa: E731
        first, second = draw(25), draw(25)
        result = match_codes(first, second)
        once = [c for c in set(first) if first.count(c) == 1], [c for c in set(second) if second.count(c) == 1]
        rest = [c for c in once[0] if c not in once[1]], [c for c in once[1] if c not in once[0]]
        near = {a: {b for b in rest[1] if len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1}
                for a in rest[0]}
        back = {b: {a for a in rest[0] if b in near[a]} for b in rest[1]}
        expected = {(c, c) for c in once[0] if c in once[1]} | {
            (a, next(iter(bs))) for a, bs in near.items() if len(bs) == 1 and len(back[next(iter(bs))]) == 1}
        assert {(m.first, m.second) for m in result.matched} == expected
        merged = {m.first for m in result.matched} | {m.second for m in result.matched}
        assert not merged & {a.code for a in result.ambiguous}


def write(path: Path, rows: list[tuple[str, int, float]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["mother_initials", "birth_day", "wellbeing"])
        writer.writerows(rows)
    return path


@pytest.fixture
def panel_app(database_url, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "wellbeing-panel.yaml").write_text(PANEL_INSTRUMENT, encoding="utf-8")
    application = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    yield application
    application.extensions["surveykit.engine"].dispose()


def test_an_anonymous_panel_matched_and_compared_through_the_commands(panel_app, tmp_path):
    from scipy import stats

    runner = panel_app.test_cli_runner()

    ok = cli(panel_app)

    for slug in ("wb-1", "wb-2"):
        ok("surveys", "create", "wellbeing-panel", "--id", slug)
    refused = runner.invoke(args=["studies", "create", "wb", "--linkage", "anonymous_panel"])
    assert refused.exit_code == 1 and "--code-questions" in refused.output
    ok("studies", "create", "wb", "--linkage", "anonymous_panel", "--code-questions", "mother_initials,birth_day")
    ok("studies", "add-wave", "wb", "wb-1", "--label", "2024")
    ok("studies", "add-wave", "wb", "wb-2", "--label", "2025")
    rng = np.random.default_rng(9)
    letters = [a + b for a in "ABCDEFGH" for b in "AEIOU"]  # 40 distinct initials
    people = [(letters[i], i % 28 + 1, float(rng.integers(3, 8))) for i in range(40)]
    before = list(people) + [("KA", 3, 5.0), ("KA", 4, 6.0)]  # two codes one character apart
    after = [(m, d, min(10.0, w + 1.0 + float(rng.integers(-1, 2)))) for m, d, w in people]
    after[0] = ("a.a ", after[0][1], after[0][2])  # the same code written differently
    after[1] = ("AF", after[1][1], after[1][2])  # one typo: AE -> AF (AF is nobody's)
    after += [("KA", 5, 4.0)]  # one character from both KA03 and KA04: ambiguous
    ok("import", "wb-1", str(write(tmp_path / "w1.csv", before)))
    ok("import", "wb-2", str(write(tmp_path / "w2.csv", after)))
    shown = ok("studies", "match", "wb")
    assert "matched exactly: 39" in shown and "matched with 1 character differing: 1" in shown
    assert "ambiguous (not merged): 3" in shown
    assert "KA05 could be KA03 or KA04 (not merged)" in shown
    compared = ok("studies", "compare", "wb", "--outcome", "wellbeing")
    assert "Linked by matched panel codes" in compared and "(paired)" in compared
    assert "Paired: 40 respondents linked" in compared and "3 answers at one wave only" in compared
    # the figures: a paired t on the 40 matched pairs, computed here from the raw rows
    changes = np.array([a[2] - b[2] for b, a in zip(people, after[:40], strict=True)])
    ci = stats.ttest_1samp(changes, 0).confidence_interval(0.95)
    assert f"{changes.mean():.2f} ({ci.low:.2f} to {ci.high:.2f})" in compared
    no = runner.invoke(args=["studies", "enroll", "wb", "--email", "a@b.example", "--department", "EM"])
    assert no.exit_code == 1 and "anonymous panel" in no.output


def test_a_confidential_wave_answered_through_its_invitation_is_linked_by_study_id(database_url, tmp_path,
                                                                                   smtp):  # noqa: F811
    app = make_test_app(database_url, tmp_path, **smtp.config(), SURVEYKIT_MIX_BATCH=1)
    try:
        ok = cli(app)

        ok("surveys", "create", "department-survey", "--id", "conf-w1", "--mode", "invitation")
        ok("surveys", "create", "department-survey", "--id", "plain", "--mode", "invitation")
        ok("studies", "create", "conf", "--linkage", "confidential")
        ok("studies", "add-wave", "conf", "conf-w1", "--label", "baseline")
        roster = tmp_path / "r.csv"
        roster.write_text("email,department,arm\na@hospital.example,EM,early\nb@hospital.example,EM,delayed\n",
                          encoding="utf-8")
        ok("studies", "enroll", "conf", "--roster", str(roster))
        sent = ok("studies", "invite", "conf", "--wave", "baseline")
        assert "2 participants added" in sent and "invitations: 2 sent" in sent
        messages = {str(m["To"]): m for m in smtp.handler.messages}
        body = messages["a@hospital.example"].get_body(("plain",)).get_content()
        assert "confidential" in body and "anonym" not in body.lower()
        assert "Thank you" in answer_through(app.test_client(), link_in(messages["a@hospital.example"]))
        with app.app_context(), new_session() as db:
            (link,) = db.scalars(select(StudyLink)).all()
            participant = db.scalars(select(StudyParticipant).where(StudyParticipant.arm == "early")).one()
            assert (link.study_id, link.arm, link.wave) == (participant.study_id, "early", 1)
            response = db.get(Response, link.response_key)
            assert response is not None and response.survey_slug == "conf-w1"
            assert "@" not in str(response.answers)
        # control: the same person answering an ordinary survey gets no link
        other = tmp_path / "other.csv"
        other.write_text("email,department\na@hospital.example,EM\n", encoding="utf-8")
        ok("surveys", "invite", "plain", str(other))
        assert len(smtp.handler.messages) == 3
        message = smtp.handler.messages[-1]
        assert "anonymous" in message.get_body(("plain",)).get_content()
        assert "Thank you" in answer_through(app.test_client(), link_in(message))
        with app.app_context(), new_session() as db:
            assert len(db.scalars(select(Response).where(Response.survey_slug == "plain")).all()) == 1
            assert len(db.scalars(select(StudyLink)).all()) == 1
    finally:
        app.extensions["surveykit.engine"].dispose()


WAVE_ONE = """\
id: wb-random-1
version: 1
title: Well-being, first round
intro: Your answers are anonymous.
thanks: Thank you.
sections:
""" + WELLBEING
WAVE_TWO = WAVE_ONE.replace("wb-random-1", "wb-random-2").replace("first round", "second round").replace(
    "questions:\n", "questions:\n      - id: panel_code\n        type: text\n"
                    "        text: The code you were given at the end of the first round\n", 1)


def test_a_random_code_shown_at_the_end_of_wave_one_links_the_next_wave(database_url, tmp_path):
    from respondent import Respondent

    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "wb-random-1.yaml").write_text(WAVE_ONE, encoding="utf-8")
    (folder / "wb-random-2.yaml").write_text(WAVE_TWO, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    try:
        ok = cli(app)

        ok("surveys", "create", "wb-random-1", "--id", "r-1")
        ok("surveys", "create", "wb-random-2", "--id", "r-2")
        ok("studies", "create", "rp", "--linkage", "anonymous_panel", "--random-code", "panel_code")
        wrong = app.test_cli_runner().invoke(args=["studies", "add-wave", "rp", "r-2", "--number", "1"])
        assert wrong.exit_code == 1 and "must not ask for it" in wrong.output
        ok("studies", "add-wave", "rp", "r-1", "--label", "first")
        ok("studies", "add-wave", "rp", "r-2", "--label", "second")
        codes = []
        for score in ("4", "5", "6"):
            respondent = Respondent(app.test_client(), "r-1")
            respondent.start()
            page = respondent.answer({"wellbeing": score})
            found = re.search(r'<span class="panel-code">([A-Z0-9]{4}-[A-Z0-9]{4})</span>', page.text)
            assert found, page.text
            codes.append(found.group(1))
        assert len(set(codes)) == 3
        # wave 2: one code copied exactly, one in lower case with a space, one with a typo; one new respondent
        typo = codes[2][:-1] + ("A" if codes[2][-1] != "A" else "B")
        path = tmp_path / "w2.csv"
        path.write_text("panel_code,wellbeing\n"
                        f"{codes[0]},6\n{codes[1].lower().replace('-', ' ')},6\n{typo},8\nZZZZ-ZZZZ,3\n",
                        encoding="utf-8")
        ok("import", "r-2", str(path))
        shown = ok("studies", "match", "rp")
        assert "matched exactly: 2" in shown and "matched with 1 character differing: 1" in shown
        assert "unmatched, second wave only: 1" in shown
        compared = ok("studies", "compare", "rp", "--outcome", "wellbeing")
        assert "Paired: 3 respondents linked" in compared
        assert "1.67 (" in compared  # changes 4 -> 6, 5 -> 6, 6 -> 8: mean 5/3
    finally:
        app.extensions["surveykit.engine"].dispose()
