"""The trial's statistics: a worked example with known values, and a generated 70 + 70 trial cross-checked.

The generated trial is built from PFI answers: each participant's ten burnout items are drawn around a latent
level, scored with the instrument's own score (so the missing-item rule applies), with a known coaching effect
and 10% drop-out at follow-up. Every figure is recomputed in the test from the raw scores through other routes
(numpy, statsmodels' DescrStatsW / CompareMeans, and the formula ANCOVA on a pandas frame).
"""

from __future__ import annotations

import numpy as np
import pytest
from trial_check import cross_check

from exports.trial import Participant, TrialError, compare, pre_post
from instrument import load_instrument, score_value

from conftest import INSTRUMENTS


def worked_rows() -> list[Participant]:
    # coaching: changes -1, -2, -3; control: changes 0, 1, 2; baselines differ within each arm
    return [Participant("coaching", b, f) for b, f in ((2, 1), (3, 1), (4, 1))] + \
           [Participant("control", b, f) for b, f in ((0, 0), (1, 2), (2, 4))]


def test_worked_example_with_known_values():
    result = compare(worked_rows(), ["coaching", "control"])
    coaching, control = result.arms
    # mean change -2, SD 1, n 3: -2 +/- t(2, .975) 4.302653 x 1/sqrt(3)
    assert coaching.change.value == -2
    assert (coaching.change.low, coaching.change.high) == pytest.approx((-4.484138, 0.484138), abs=1e-6)
    assert (control.change.low, control.change.high) == pytest.approx((-1.484138, 3.484138), abs=1e-6)
    assert coaching.percent_change == pytest.approx(-200 / 3)  # 3 -> 1
    assert control.percent_change == pytest.approx(100.0)  # 1 -> 2
    # Welch: difference -3, SE sqrt(1/3 + 1/3), df 4: -3 +/- 2.776445 x 0.816497
    assert result.difference_in_change.value == pytest.approx(-3)
    assert (result.difference_in_change.low, result.difference_in_change.high) == pytest.approx(
        (-5.266958, -0.733042), abs=1e-6)
    # ANCOVA: pooled within-arm slope 1, adjusted difference (1 - 2) - 1 x (3 - 1) = -3; residual variance 4/3,
    # SE sqrt(4/3 x (1/3 + 1/3 + 4/4)) = 1.490712, t(3, .975) = 3.182446
    assert result.adjusted_difference.value == pytest.approx(-3)
    assert (result.adjusted_difference.low, result.adjusted_difference.high) == pytest.approx(
        (-3 - 3.182446 * 1.490712, -3 + 3.182446 * 1.490712), abs=1e-5)
    assert result.cohens_d == pytest.approx(-3.0)  # pooled SD of change 1
    assert coaching.attrition == 0 and "Complete-case" in result.note
    assert result.difference_in_change.text() == "-3.00 (-5.27 to -0.73)"


def test_pre_post_paired_where_linked_unpaired_otherwise():
    paired = pre_post([(1, 2), (2, 4), (3, 3), (2, None)])
    assert paired.method == "paired" and paired.summary.n_both == 3
    assert paired.summary.change.value == pytest.approx(1.0)
    assert (paired.summary.change.low, paired.summary.change.high) == pytest.approx((-1.484138, 3.484138), abs=1e-6)
    assert "1 answers at one wave only" in paired.note
    unpaired = pre_post(baseline_only=[1, 2, 3], follow_up_only=[2, 4, 3])
    assert unpaired.method == "unpaired (Welch)" and "not linked" in unpaired.note
    assert unpaired.summary.change.value == pytest.approx(1.0)
    assert (unpaired.summary.change.low, unpaired.summary.change.high) == pytest.approx((-1.266958, 3.266958),
                                                                                        abs=1e-6)


def test_impossible_comparisons_say_why():
    with pytest.raises(TrialError, match="exactly two arms; found 1"):
        compare([Participant("a", 1, 2), Participant("a", 2, 2)])
    with pytest.raises(TrialError, match="arm 'b': 1 participant"):
        compare([Participant("a", 1, 2), Participant("a", 2, 4), Participant("b", 1, 1), Participant("b", 1, None)])
    with pytest.raises(TrialError, match="all 2 changes are 1: with no spread"):
        compare([Participant("a", 1, 2), Participant("a", 2, 3), Participant("b", 1, 1), Participant("b", 2, 4)])
    with pytest.raises(TrialError, match="no participant in arm 'c'"):
        compare([Participant("a", 1, 2), Participant("b", 2, 3)], ["a", "c"])
    with pytest.raises(TrialError, match="at least 2 answers at each wave"):
        pre_post(baseline_only=[1], follow_up_only=[2, 3])


def generated_trial(seed: int = 16) -> list[Participant]:
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    burnout = next(s for s in pfi.scores if s.id == "burnout")
    rng = np.random.default_rng(seed)

    def answers(latent: float) -> dict:
        levels: list[int | None] = [int(v) + 1 for v in np.clip(np.rint(latent + rng.normal(0, 0.7, 10)), 0, 4)]
        if rng.random() < 0.05:
            for i in rng.choice(10, 3, replace=False):
                levels[int(i)] = None  # 3 of 10 missing: no score (max_missing 2)
        return {"we": {f"we{i + 1}": levels[i] for i in range(4)},
                "idg": {f"id{i + 1}": levels[i + 4] for i in range(6)}}

    rows = []
    for arm, effect in (("coaching", -0.8), ("control", 0.05)):
        dropped = set(rng.choice(70, 7, replace=False).tolist())  # 10% drop-out
        for i in range(70):
            latent = float(rng.normal(1.6, 0.7))
            before = score_value(burnout, answers(latent))
            after = None if i in dropped else score_value(burnout, answers(latent + effect + rng.normal(0, 0.3)))
            rows.append(Participant(arm, before, after))
    return rows


def test_generated_trial_cross_checked_against_statsmodels_and_scipy():
    import pandas as pd

    rows = generated_trial()
    result = compare(rows, ["coaching", "control"])
    frame = pd.DataFrame([{"arm": p.arm, "baseline": p.baseline, "follow_up": p.follow_up} for p in rows])
    frame = frame.astype({"baseline": float, "follow_up": float})
    cross_check(result, frame)
    for summary in result.arms:
        assert summary.randomised == 70 and summary.n_follow_up <= 63 and summary.attrition >= 7
    diff, adjusted = result.difference_in_change, result.adjusted_difference

    # the known effect is found: coaching lowers burnout, the CI excludes 0 and holds the generated effect's size
    assert adjusted.high < 0 and diff.high < 0
    assert -1.2 < adjusted.value < -0.4
    coaching, control = result.arms
    assert coaching.percent_change < -15 and abs(control.percent_change) < 10


def test_compare_command_over_a_file(runner, tmp_path):
    from openpyxl import load_workbook

    rows = generated_trial()
    path = tmp_path / "trial.csv"
    lines = ["study_id,arm,burnout_w1,burnout_w2"]
    lines += [f"P{i:03},{p.arm},{'' if p.baseline is None else p.baseline},"
              f"{'' if p.follow_up is None else p.follow_up}" for i, p in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "table.xlsx"
    result = runner.invoke(args=["trial", "compare", str(path), "--arm", "arm", "--baseline", "burnout_w1",
                                 "--follow-up", "burnout_w2", "--arms", "coaching,control", "--outcome", "burnout",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = compare(rows, ["coaching", "control"])
    assert expected.adjusted_difference.text() in result.output
    assert "Complete-case" in result.output
    cells = {r[0]: r for r in load_workbook(out)["Comparison"].iter_rows(values_only=True) if r and r[0]}
    assert cells["Mean change (95% CI)"][3] == expected.difference_in_change.text()
    assert cells["Randomised, n"][1:3] == (70, 70)

    one_group = runner.invoke(args=["trial", "compare", str(path), "--baseline", "burnout_w1",
                                    "--follow-up", "burnout_w2"])
    assert one_group.exit_code == 0, one_group.output
    assert "(paired)" in one_group.output

    path.write_text("arm,burnout_w1,burnout_w2\ncoaching,1.2,high\n")
    bad = runner.invoke(args=["trial", "compare", str(path), "--arm", "arm", "--baseline", "burnout_w1",
                              "--follow-up", "burnout_w2"])
    assert bad.exit_code == 1 and "trial.csv:2" in bad.output and "'high' is not a number" in bad.output
    assert "Traceback" not in bad.output


def test_waves_command_links_two_exports_by_study_id_or_compares_them_unpaired(runner, tmp_path):
    import random

    rows = generated_trial()
    ids = [f"S{i:03}" for i in range(len(rows))]
    order = list(range(len(rows)))
    random.Random(4).shuffle(order)  # the follow-up export lists participants in another order

    def cell(value):
        return "" if value is None else repr(value)

    first = tmp_path / "wave1.csv"
    first.write_text("study_id,arm,burnout\n" + "".join(f"{ids[i]},{rows[i].arm},{cell(rows[i].baseline)}\n"
                                                        for i in range(len(rows))))
    second = tmp_path / "wave2.csv"
    second.write_text("burnout,study_id,arm\n" + "".join(f"{cell(rows[i].follow_up)},{ids[i]},{rows[i].arm}\n"
                                                         for i in order if i % 10 != 3 or rows[i].follow_up))
    expected = compare(rows, ["coaching", "control"])
    result = runner.invoke(args=["trial", "waves", str(first), str(second), "--outcome", "burnout", "--id",
                                 "study_id", "--arm", "arm", "--arms", "coaching,control"])
    assert result.exit_code == 0, result.output
    assert expected.adjusted_difference.text() in result.output
    assert expected.difference_in_change.text() in result.output

    paired = runner.invoke(args=["trial", "waves", str(first), str(second), "--outcome", "burnout", "--id",
                                 "study_id"])
    assert paired.exit_code == 0 and "(paired)" in paired.output
    unpaired = runner.invoke(args=["trial", "waves", str(first), str(second), "--outcome", "burnout"])
    assert unpaired.exit_code == 0 and "(unpaired (Welch))" in unpaired.output
    before = [p.baseline for p in rows if p.baseline is not None]
    after = [p.follow_up for p in rows if p.follow_up is not None]
    assert pre_post(baseline_only=before, follow_up_only=after).summary.change.text() in unpaired.output

    refused = runner.invoke(args=["trial", "waves", str(first), str(second), "--outcome", "burnout", "--arm", "arm"])
    assert refused.exit_code == 1 and "--arm needs --id" in refused.output
    second.write_text(second.read_text() + f"1.5,{ids[0]},{rows[0].arm}\n")
    twice = runner.invoke(args=["trial", "waves", str(first), str(second), "--outcome", "burnout", "--id",
                                "study_id"])
    assert twice.exit_code == 1 and f"id '{ids[0]}' is also on line" in twice.output and "wave2.csv:" in twice.output


def test_tables_round_the_change_of_the_mean_half_up_like_every_percentage():
    from exports.trialtable import comparison_table, pre_post_table

    rows = {r[0]: r for r in comparison_table(compare(worked_rows(), ["coaching", "control"]), "burnout").rows}
    assert rows["Change of the mean, %"][1:3] == ["-66.7%", "+100.0%"]
    assert rows["Attrition, n (%)"][1:3] == ["0 (0.0%)", "0 (0.0%)"]
    # Welch t = -3.674 on 4 df: p between .02 and .025 (t tables)
    assert rows["Mean change (95% CI)"][3:] == ["-3.00 (-5.27 to -0.73)", "0.021"]
    # baseline mean 32, follow-up mean 50: +56.25% exactly, printed +56.3% (round() would give 56.2)
    table = pre_post_table(pre_post([(31, 49), (33, 52), (32, 49)]), "burnout")
    assert {r[0]: r for r in table.rows}["Change of the mean, %"][1] == "+56.3%"


def test_waves_command_with_several_outcomes_writes_one_table_each(runner, tmp_path):
    from openpyxl import load_workbook

    rows = generated_trial()

    def cell(value, scale=1):
        return "" if value is None else repr(value * scale)

    for name, attr in (("w1.csv", "baseline"), ("w2.csv", "follow_up")):
        (tmp_path / name).write_text("study_id,arm,burnout,burnout100\n" + "".join(
            f"S{i},{p.arm},{cell(getattr(p, attr))},{cell(getattr(p, attr), 25)}\n" for i, p in enumerate(rows)))
    out = tmp_path / "waves.xlsx"
    result = runner.invoke(args=["trial", "waves", str(tmp_path / "w1.csv"), str(tmp_path / "w2.csv"), "--outcome",
                                 "burnout", "--outcome", "burnout100", "--id", "study_id", "--arm", "arm", "--arms",
                                 "coaching,control", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = [r for r in load_workbook(out)["Comparison"].iter_rows(values_only=True)]
    titles = [r[0] for r in cells if r[0] and str(r[0]).endswith("change from baseline by arm")]
    assert titles == ["burnout: change from baseline by arm", "burnout100: change from baseline by arm"]
    adjusted = [r[3] for r in cells if r[0] == "Baseline-adjusted difference (ANCOVA)"]
    expected = compare(rows, ["coaching", "control"]).adjusted_difference
    scaled = compare([Participant(p.arm, None if p.baseline is None else p.baseline * 25,
                                  None if p.follow_up is None else p.follow_up * 25) for p in rows],
                     ["coaching", "control"]).adjusted_difference
    assert adjusted == [expected.text(), scaled.text()]
    assert scaled.value == pytest.approx(25 * expected.value)  # the rescaled outcome: 25 times the difference


def test_a_missing_column_is_named(runner, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("study_id,arm,burnout\nS1,a,1.5\n")
    result = runner.invoke(args=["trial", "waves", str(path), str(path), "--outcome", "burnot", "--id", "study_id"])
    assert result.exit_code == 1
    assert "w.csv:1: no column 'burnot' in the header (found: study_id, arm, burnout)" in result.output
