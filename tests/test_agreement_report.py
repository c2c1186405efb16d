"""Agreement rows are defined once (coding.agreement_report) and the CLI, the page and the workbook show them."""

from __future__ import annotations

import math

from flask import Flask
from markupsafe import escape
from openpyxl import load_workbook

from coding import applying as Ap
from coding import codings as Cg
from coding import projects as P
from coding import rounds as Rd
from coding.agreement import agreement_report
from coding.agreement_report import Figure, summarize
from coding.codebook import stored as C
from surveyapp import db
from surveyapp.auth.models import create_user

from conftest import csrf_from

A, B, PASSWORD = "a@example.org", "b@example.org", "correct horse battery"
CODINGS = {
    "u1": {"ann": frozenset({"X"}), "bob": frozenset({"X"}), "cy": frozenset({"Y"})},
    "u2": {"ann": frozenset({"Y"}), "bob": frozenset({"Y"}), "cy": frozenset({"Y"})},
    "u3": {"ann": frozenset({"X"}), "bob": frozenset({"Y"})},
}


def test_summary_holds_every_figure_and_row_of_the_report() -> None:
    report = agreement_report(CODINGS, bootstrap=50, seed=1)
    summary = summarize(report)
    overall = report["overall"]
    assert summary.coders == ("ann", "bob", "cy")
    assert (summary.units, summary.pairable_units) == (3, overall["n_units"])
    assert summary.pairs == ("ann|bob", "ann|cy", "bob|cy")
    labels = [f.label for f in summary.figures]
    assert labels == ["percent agreement (identical code sets)",
                      f"Krippendorff's alpha ({overall['alpha_distance']})",
                      "Fleiss' kappa (one code per unit)",
                      "Cohen's kappa ann|bob", "Cohen's kappa ann|cy", "Cohen's kappa bob|cy"]
    alpha = summary.figures[1]
    assert alpha.bootstrapped and alpha.ci == tuple(overall["alpha_ci"])
    assert [f.value for f in summary.figures[3:]] == list(overall["cohen_kappa"].values())
    assert summary.figures[0].heading == "Percent agreement (identical code sets)"
    assert alpha.heading == alpha.label  # a name keeps its case
    rows = {row.code: row for row in summary.per_code}
    assert set(rows) == set(report["per_code"])
    for code, row in rows.items():
        stats = report["per_code"][code]
        assert row.cohen_kappa == tuple(stats["cohen_kappa"][p] for p in summary.pairs)
        assert (row.n_units, row.percent_agreement, row.krippendorff_alpha, row.fleiss_kappa) == (
            stats["n_units"], stats["percent_agreement"], stats["krippendorff_alpha"], stats["fleiss_kappa"])


def test_a_report_without_single_codes_has_no_kappas() -> None:
    summary = summarize(agreement_report({"u1": {"ann": frozenset({"X", "Y"}), "bob": frozenset({"X"})}},
                                         bootstrap=0))
    assert [f.label.split(" ")[0] for f in summary.figures] == ["percent", "Krippendorff's"]
    assert summary.figures[1] == Figure(summary.figures[1].label, summary.figures[1].value, None, True)


def _login(app: Flask, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": email, "password": PASSWORD})
    return client


def _text(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value + 0.0:.3f}"


def test_cli_page_and_workbook_show_the_same_figures(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.new_session() as s:
        create_user(s, A, PASSWORD, "Coder A")
        create_user(s, B, PASSWORD, "Coder B")
        project = P.create_project(s, "same")
        for path in ("Barriers", "Support"):
            C.add_code(s, project, None, path, A)
        tree = C.load_tree(s, project.id)
        added = P.add_units(s, project, [P.NewUnit(f"s{i}", f"answer {i}") for i in range(4)])
        for i, unit in enumerate(added.units):
            Ap.set_codes(s, project, unit.id, A, {tree.id_of("Barriers" if i % 2 else "Support")})
            Ap.set_codes(s, project, unit.id, B, {tree.id_of("Barriers" if i < 3 else "Support")})
        assert added.round is not None
        Rd.close_round(s, added.round)
        s.commit()
        report = Cg.project_agreement(s, project, bootstrap=500)
    summary = summarize(report, {A: "Coder A", B: "Coder B"})  # every rendering shows the accounts' names
    assert len(summary.figures) == 4  # one code per unit: percent, alpha, Fleiss, one Cohen pair
    assert summary.figures[3].label == "Cohen's kappa Coder A|Coder B"

    cli = app.test_cli_runner().invoke(args=["coding", "agreement", "same", "--bootstrap", "500"])
    assert cli.exit_code == 0, cli.output
    page = _login(app, A).get("/coding/same/agreement").text
    out = tmp_path / "same.xlsx"
    exported = app.test_cli_runner().invoke(args=["coding", "export", "same", "--out", str(out),
                                                  "--bootstrap", "500"])
    assert exported.exit_code == 0, exported.output
    sheet = {row[0]: row[1] for row in load_workbook(out)["Agreement"].iter_rows(values_only=True) if row}

    for figure in summary.figures:
        assert f"{figure.label}  {_text(figure.value):>8}" in cli.output
        assert f'<th>{escape(figure.heading)}</th><td class="num">{_text(figure.value)}' in page
        assert _text(sheet[figure.heading]) == _text(figure.value)
    alpha = summary.figures[1]
    assert alpha.ci is not None
    assert f"95% CI [{alpha.ci[0]:.3f}, {alpha.ci[1]:.3f}]" in cli.output
    assert f"95% CI {alpha.ci[0]:.3f} to {alpha.ci[1]:.3f}" in page
    assert sheet["  bootstrap 95% interval"] == f"{alpha.ci[0]:.3f} to {alpha.ci[1]:.3f}"
    for row in summary.per_code:
        assert sheet[row.code] == row.n_units
    assert A not in cli.output and B not in cli.output  # names, not e-mail addresses
    assert "Coder A, Coder B" in cli.output and sheet["Coders"] == "Coder A, Coder B"
