"""Agreement statistics against published worked examples and independent implementations."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pytest
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import masi_distance
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from coding.agreement import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_ci,
    krippendorff_alpha_nominal,
    krippendorff_alpha_per_code,
    krippendorff_alpha_sets,
    percent_agreement,
    single_codes,
)
from coding.agreement.alpha import SetAlpha
from coding.agreement.table import coding_table

nan = math.nan

# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12 units with
# missing values; nominal alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]

# Fleiss (1971), 30 patients x 6 psychiatrists, 5 diagnoses, as published in R's irr::diagnoses (and in
# statsmodels' tests); kappa = 0.430.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]

# Wikipedia "Fleiss' kappa" worked example: 10 subjects x 14 raters, counts per category; kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]

# Cohen (1960), table 1: 200 units, 3 categories, rows judge A, columns judge B; kappa = 0.492.
COHEN_1960 = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]


def codings_from_rows(rows: list[list[float]], coders: str = "ABCDEFGHIJKLMNOP") -> dict:
    """Build Codings from a coders x units matrix with NaN for missing."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for u in range(len(rows[0])):
        out[f"u{u}"] = {
            coders[i]: frozenset([str(int(row[u]))]) for i, row in enumerate(rows) if not math.isnan(row[u])
        }
    return out


def codings_from_confusion(table: list[list[int]]) -> dict:
    """Expand a two-coder confusion matrix into single-code Codings."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            for _ in range(count):
                out[f"u{len(out)}"] = {"A": frozenset([f"c{i}"]), "B": frozenset([f"c{j}"])}
    return out


def ratings_from_counts(counts: list[list[int]]) -> dict:
    """Expand a subjects x categories count table into unit -> rater -> category (raters arbitrary)."""
    out: dict[str, dict[str, str]] = {}
    for s, row in enumerate(counts):
        labels = [f"k{k}" for k, n in enumerate(row) for _ in range(n)]
        out[f"s{s}"] = {f"r{r}": label for r, label in enumerate(labels)}
    return out


def random_codings(seed: int, *, n_units: int = 150, coders: str = "ABC", n_codes: int = 6,
                   max_codes: int = 3, missing: float = 0.15, min_codes: int = 0) -> dict:
    """Make random set-valued codings with agreement above chance and some missing coders."""
    rng = np.random.default_rng(seed)
    codes = [f"D{k % 2}/T{k}" for k in range(n_codes)]
    out: dict[str, dict[str, frozenset[str]]] = {}
    for u in range(n_units):
        truth = set(rng.choice(codes, rng.integers(max(min_codes, 1), max_codes + 1), replace=False).tolist())
        per: dict[str, frozenset[str]] = {}
        for coder in coders:
            if rng.random() < missing:
                continue
            s = set(truth) if rng.random() < 0.6 else set(
                rng.choice(codes, rng.integers(min_codes, max_codes + 1), replace=False).tolist())
            per[coder] = frozenset(s)
        out[f"u{u}"] = per
    return out


def random_single(seed: int, *, n_units: int = 200, coders: str = "ABC", missing: float = 0.0) -> dict:
    """Make random single-code codings."""
    rng = np.random.default_rng(seed)
    codes = ["a", "b", "c", "d"]
    out: dict[str, dict[str, frozenset[str]]] = {}
    for u in range(n_units):
        truth = rng.choice(codes)
        out[f"u{u}"] = {
            c: frozenset([truth if rng.random() < 0.6 else str(rng.choice(codes))])
            for c in coders
            if rng.random() >= missing
        }
    return out


def reliability_rows(codings: dict, coders: str, value) -> np.ndarray:
    """Build a coders x units float matrix (NaN missing) from Codings via `value(set) -> float`."""
    rows = np.full((len(coders), len(codings)), np.nan)
    for j, per in enumerate(codings.values()):
        for i, c in enumerate(coders):
            if c in per:
                rows[i, j] = value(per[c])
    return rows


# Published worked examples


def test_krippendorff_2011_nominal():
    assert round(krippendorff_alpha_nominal(codings_from_rows(KRIPPENDORFF_2011)), 3) == 0.743


def test_krippendorff_2011_sets_equal_nominal_on_single_codes():
    codings = codings_from_rows(KRIPPENDORFF_2011)
    assert krippendorff_alpha_sets(codings) == pytest.approx(krippendorff_alpha_nominal(codings), abs=1e-12)


def test_fleiss_1971():
    ratings = {f"p{i}": {f"psy{j}": str(d) for j, d in enumerate(row)} for i, row in enumerate(FLEISS_1971)}
    assert round(fleiss_kappa(ratings), 3) == 0.430


def test_fleiss_wikipedia():
    assert round(fleiss_kappa(ratings_from_counts(WIKIPEDIA_FLEISS)), 3) == 0.210


def test_cohen_1960():
    codings = codings_from_confusion(COHEN_1960)
    single = single_codes(codings)
    a = {u: c["A"] for u, c in single.items()}
    b = {u: c["B"] for u, c in single.items()}
    assert round(cohen_kappa(a, b), 3) == 0.492
    assert round(agreement_report(codings, bootstrap=0)["overall"]["cohen_kappa"]["A|B"], 3) == 0.492


def qualcoder_kappa(coded_a: int, coded_b: int, both: int) -> float:
    """QualCoder's "Kappa" column, transcribed from ccbogel/QualCoder src/qualcoder/report_compare_coder_file.py
    (the same block is in reports.py): Po and both chance terms are taken over the units either coder coded,
    and the two chance terms are multiplied, ``Pe = Pyes * Pno``, where Cohen adds them."""
    unique_codings = coded_a + coded_b - both
    po = both / unique_codings
    p_yes = coded_a / unique_codings * coded_b / unique_codings
    p_no = (unique_codings - coded_a) / unique_codings * (unique_codings - coded_b) / unique_codings
    pe = p_yes * p_no
    return round((po - pe) / (1 - pe), 4)


def test_binary_cohen_uses_both_marginals_qualcoder_regression():
    # The figures, QualCoder 0.5895 where Cohen gives 0.6875 "on the same data". A search over every
    # 2x2 table with N <= 200 finds exactly one table up to scale reproducing both: 3 units coded by both, 1 by
    # A only, 1 by B only, 15 by neither (and its multiples).
    yes_yes, yes_no, no_yes, no_no = 3, 1, 1, 15
    codings = codings_from_confusion([[yes_yes, yes_no], [no_yes, no_no]])
    codings = {u: {c: frozenset({"Code"}) if s == {"c0"} else frozenset() for c, s in per.items()}
               for u, per in codings.items()}
    got = agreement_report(codings, bootstrap=0)["per_code"]["Code"]["cohen_kappa"]["A|B"]
    a = [int("Code" in per["A"]) for per in codings.values()]
    b = [int("Code" in per["B"]) for per in codings.values()]
    assert round(got, 4) == 0.6875
    assert got == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert qualcoder_kappa(yes_yes + yes_no, yes_yes + no_yes, yes_yes) == 0.5895


# Cross-checks against independent libraries on random data


@pytest.mark.parametrize("seed", range(6))
def test_nominal_alpha_matches_krippendorff_package(seed):
    codings = random_single(seed, coders="ABCD", missing=0.3)
    rows = reliability_rows(codings, "ABCD", lambda s: "abcd".index(next(iter(s))))
    expected = krippendorff.alpha(reliability_data=rows, level_of_measurement="nominal")
    assert krippendorff_alpha_nominal(codings) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_per_code_alpha_matches_krippendorff_package(seed):
    codings = random_codings(seed, coders="ABCD")
    got = krippendorff_alpha_per_code(codings)
    for code, alpha in got.items():
        rows = reliability_rows(codings, "ABCD", lambda s, code=code: float(code in s))
        expected = krippendorff.alpha(reliability_data=rows, level_of_measurement="nominal")
        assert alpha == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_masi_alpha_matches_nltk(seed):
    # nltk's masi_distance divides by zero on two empty sets, so the reference data has no empty sets.
    codings = random_codings(seed, n_codes=5 + seed, max_codes=1 + seed % 4, min_codes=1)
    data = [(c, u, s) for u, per in codings.items() for c, s in per.items()]
    expected = AnnotationTask(data, distance=masi_distance).alpha()
    assert krippendorff_alpha_sets(codings) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_masi_alpha_with_empty_sets_matches_nltk_with_empty_pairs_defined(seed):
    codings = random_codings(seed + 100, max_codes=2, min_codes=0)
    assert any(not s for per in codings.values() for s in per.values())

    def distance(a, b):
        return 0.0 if not a and not b else masi_distance(a, b)

    data = [(c, u, s) for u, per in codings.items() for c, s in per.items()]
    expected = AnnotationTask(data, distance=distance).alpha()
    assert krippendorff_alpha_sets(codings) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_jaccard_alpha_matches_nltk(seed):
    from nltk.metrics.distance import jaccard_distance

    codings = random_codings(seed, min_codes=1, max_codes=4)
    data = [(c, u, s) for u, per in codings.items() for c, s in per.items()]
    expected = AnnotationTask(data, distance=jaccard_distance).alpha()
    assert krippendorff_alpha_sets(codings, distance="jaccard") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_sets_equal_nominal_when_every_coder_gives_one_code(seed):
    codings = random_single(seed, missing=0.2)
    assert krippendorff_alpha_sets(codings) == pytest.approx(krippendorff_alpha_nominal(codings), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_fleiss_matches_statsmodels(seed):
    codings = random_single(seed, coders="ABCDE", missing=0.05)
    single = single_codes(codings)
    complete = [per for per in single.values() if len(per) == 5]
    table, _ = aggregate_raters(np.array([[per[c] for c in "ABCDE"] for per in complete]))
    expected = sm_fleiss_kappa(table, method="fleiss")
    assert fleiss_kappa(single) == pytest.approx(expected, abs=1e-9)
    report = agreement_report(codings, bootstrap=0)["overall"]
    assert report["fleiss_kappa"] == pytest.approx(expected, abs=1e-9)
    assert report["fleiss_n_units"] == len(complete)


@pytest.mark.parametrize("seed", range(6))
def test_cohen_matches_sklearn(seed):
    codings = random_single(seed, coders="ABC", missing=0.2)
    report = agreement_report(codings, bootstrap=0)
    for a, b in [("A", "B"), ("A", "C"), ("B", "C")]:
        both = [per for per in codings.values() if a in per and b in per]
        expected = cohen_kappa_score([min(p[a]) for p in both], [min(p[b]) for p in both])
        assert report["overall"]["cohen_kappa"][f"{a}|{b}"] == pytest.approx(expected, abs=1e-9)
        assert report["overall"]["cohen_n_units"][f"{a}|{b}"] == len(both)


@pytest.mark.parametrize("seed", range(4))
def test_per_code_kappas_match_sklearn_and_statsmodels(seed):
    codings = random_codings(seed, missing=0.1)
    report = agreement_report(codings, bootstrap=0)["per_code"]
    everyone = [per for per in codings.values() if len(per) == 3]
    for code, stats in report.items():
        for a, b in [("A", "B"), ("A", "C"), ("B", "C")]:
            both = [per for per in codings.values() if a in per and b in per]
            expected = cohen_kappa_score([code in p[a] for p in both], [code in p[b] for p in both])
            assert stats["cohen_kappa"][f"{a}|{b}"] == pytest.approx(expected, abs=1e-9)
        table, _ = aggregate_raters(np.array([[int(code in per[c]) for c in "ABC"] for per in everyone]))
        assert stats["fleiss_kappa"] == pytest.approx(sm_fleiss_kappa(table), abs=1e-9)
        pairable = [per for per in codings.values() if len(per) >= 2]
        agree = np.mean([len({code in s for s in per.values()}) == 1 for per in pairable])
        assert stats["percent_agreement"] == pytest.approx(agree, abs=1e-12)
        assert stats["n_units"] == len(pairable)


# Percent agreement, bootstrap and the report


def test_percent_agreement_counts_units_with_two_or_more_coders():
    codings = {
        "u1": {"A": frozenset({"x"}), "B": frozenset({"x"})},
        "u2": {"A": frozenset({"x", "y"}), "B": frozenset({"y", "x"}), "C": frozenset({"x"})},
        "u3": {"A": frozenset(), "B": frozenset()},
        "u4": {"A": frozenset({"z"})},  # one coder: nothing to agree with
    }
    assert percent_agreement(codings) == pytest.approx(2 / 3)


def test_weighted_alpha_equals_alpha_on_duplicated_units():
    # The bootstrap reweights units; a unit drawn k times must count exactly like k copies of it.
    codings = random_codings(3, n_units=40)
    pieces = SetAlpha(coding_table(codings), "masi")
    units = [u for u, per in codings.items() if len(per) >= 2]
    weights = np.random.default_rng(0).integers(0, 4, size=len(units))
    duplicated = {f"{u}#{k}": codings[u] for u, w in zip(units, weights, strict=True) for k in range(w)}
    got = pieces.alpha_from_weights(weights[None, :].astype(float))[0]
    assert got == pytest.approx(krippendorff_alpha_sets(duplicated), abs=1e-12)


@pytest.mark.parametrize("method", ["fixed_de", "full"])
def test_bootstrap_interval_is_seeded_and_brackets_alpha(method):
    codings = random_codings(5, n_units=300)
    ci = krippendorff_alpha_ci(codings, reps=300, seed=7, method=method)
    assert ci == krippendorff_alpha_ci(codings, reps=300, seed=7, method=method)
    assert ci != krippendorff_alpha_ci(codings, reps=300, seed=8, method=method)
    lo, hi = ci
    assert lo < krippendorff_alpha_sets(codings) < hi
    assert hi - lo < 0.3


def test_fixed_de_is_the_default():
    codings = random_codings(5, n_units=200)
    ci = krippendorff_alpha_ci(codings, reps=200, seed=3, method="fixed_de")
    assert krippendorff_alpha_ci(codings, reps=200, seed=3) == ci
    report = agreement_report(codings, bootstrap=200, seed=3)["overall"]
    assert report["alpha_ci"] == list(ci)
    assert report["alpha_ci_method"] == "fixed_de"
    assert agreement_report(codings, bootstrap=20, ci_method="full")["overall"]["alpha_ci_method"] == "full"


@pytest.mark.parametrize("seed", range(3))
def test_fixed_de_and_full_intervals_agree_on_many_units(seed):
    # Measured on these data: endpoints differ by at most 0.003 (different random streams included); the
    # intervals are about 0.054 wide, so a tolerance of 0.01 fails on any real shift of either endpoint.
    codings = random_codings(seed, n_units=1000)
    fixed = krippendorff_alpha_ci(codings, reps=2000, seed=1)
    full = krippendorff_alpha_ci(codings, reps=2000, seed=1, method="full")
    assert fixed[0] == pytest.approx(full[0], abs=0.01)
    assert fixed[1] == pytest.approx(full[1], abs=0.01)
    assert 0.8 < (fixed[1] - fixed[0]) / (full[1] - full[0]) < 1.25


def test_fixed_de_bootstrap_matches_resampling_units_one_by_one():
    # The fixed-De bootstrap draws how many units fall in each (m_u, d_u) class from a multinomial; that must
    # give the same distribution as drawing unit indices and summing their observed disagreement.
    codings = random_codings(11, n_units=400)
    pieces = SetAlpha(coding_table(codings), "masi")
    alpha = krippendorff_alpha_sets(codings)
    observed = pieces.d.sum() / pieces.m.sum()
    expected = observed / (1 - alpha)
    rng = np.random.default_rng(5)
    draws = rng.integers(0, pieces.n_units, size=(8000, pieces.n_units))
    replicates = 1 - pieces.d[draws].sum(axis=1) / pieces.m[draws].sum(axis=1) / expected
    lo, hi = np.percentile(replicates, [2.5, 97.5])
    got = krippendorff_alpha_ci(codings, reps=8000, seed=2)
    assert got[0] == pytest.approx(lo, abs=0.004)
    assert got[1] == pytest.approx(hi, abs=0.004)


def test_unknown_bootstrap_method_is_rejected():
    with pytest.raises(ValueError, match="bootstrap method"):
        krippendorff_alpha_ci(random_codings(1, n_units=20), reps=10, method="jackknife")


def test_undefined_coefficients_are_none_and_report_is_strict_json():
    codings = {f"u{i}": {"A": frozenset({"x"}), "B": frozenset({"x"})} for i in range(5)}
    report = agreement_report(codings, bootstrap=50)
    json.dumps(report, allow_nan=False)
    overall = report["overall"]
    assert overall["percent_agreement"] == 1.0
    assert overall["krippendorff_alpha"] is None
    assert overall["alpha_ci"] is None
    assert overall["fleiss_kappa"] is None
    assert overall["cohen_kappa"] == {"A|B": None}
    assert report["per_code"]["x"]["krippendorff_alpha"] is None


def test_report_shape():
    codings = random_codings(1, n_units=60)
    report = agreement_report(codings, bootstrap=20, seed=1)
    assert set(report) == {"units", "coders", "overall", "per_code"}
    assert report["units"] == 60
    assert report["coders"] == ["A", "B", "C"]
    overall = report["overall"]
    assert overall["alpha_distance"] == "masi (Passonneau, as nltk)"
    assert "fleiss_kappa" not in overall and "cohen_kappa" not in overall  # sets, not single codes
    assert len(overall["alpha_ci"]) == 2
    assert set(report["per_code"]) == {c for per in codings.values() for s in per.values() for c in s}
    entry = next(iter(report["per_code"].values()))
    assert {"percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "n_units"} <= set(entry)
    assert set(entry["cohen_kappa"]) == {"A|B", "A|C", "B|C"}
    json.dumps(report, allow_nan=False)


def test_single_codes_rejects_several_codes():
    with pytest.raises(ValueError, match="2 codes"):
        single_codes({"u1": {"A": frozenset({"x", "y"})}})


def test_string_instead_of_set_is_rejected():
    with pytest.raises(TypeError, match="string"):
        krippendorff_alpha_sets({"u1": {"A": "x", "B": frozenset({"x"})}})


@pytest.mark.parametrize(
    "codings",
    [
        {},
        {"u1": {"A": frozenset({"x"})}},
        {"u1": {"A": frozenset()}, "u2": {"B": frozenset({"x"})}},
        {"u1": {"A": frozenset(), "B": frozenset()}},
    ],
)
@pytest.mark.parametrize("method", ["fixed_de", "full"])
def test_degenerate_inputs_give_nulls_not_errors(codings, method):
    # Warnings are errors in this suite, so this also checks that no division by zero is warned about.
    report = agreement_report(codings, bootstrap=10, ci_method=method)
    json.dumps(report, allow_nan=False)
    assert report["overall"]["krippendorff_alpha"] is None
    assert report["overall"]["alpha_ci"] is None
    assert krippendorff_alpha_ci(codings, reps=10, method=method) is None


@pytest.mark.parametrize("method", ["fixed_de", "full"])
def test_one_value_throughout_gives_no_interval(method):
    codings = {f"u{i}": {"A": frozenset({"x", "y"}), "B": frozenset({"x", "y"})} for i in range(30)}
    assert krippendorff_alpha_ci(codings, reps=50, method=method) is None
