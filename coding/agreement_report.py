"""The agreement report as typed rows, defined once and rendered by the CLI table, the web page and the workbook.

``coding.agreement.agreement_report`` computes a JSON-ready dict (the `--json` output); :func:`summarize` turns
it into the figures and per-code rows every human-readable rendering shows, with their labels, so the three
renderings cannot drift apart. Labels read as running text ("percent agreement ..."); tables and sheets
show :attr:`Figure.heading`, the same text with a capital first letter. Pure Python: importing this loads
neither NumPy nor SciPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One overall figure: its label, its value (None where undefined) and, when bootstrapped, its 95% interval."""

    label: str
    value: float | None
    ci: tuple[float, float] | None = None
    bootstrapped: bool = False  # the figure has an interval, computed or not (a sheet then shows "-")

    @property
    def heading(self) -> str:
        """Return the label with its first letter capitalised (the rest kept: names such as Krippendorff stay)."""
        return self.label[:1].upper() + self.label[1:]


@dataclass(frozen=True)
class CodeRow:
    """Presence/absence agreement on one code; ``cohen_kappa`` follows :attr:`AgreementSummary.pairs`."""

    code: str
    n_units: int
    percent_agreement: float | None
    krippendorff_alpha: float | None
    fleiss_kappa: float | None
    cohen_kappa: tuple[float | None, ...]


@dataclass(frozen=True)
class AgreementSummary:
    """What an agreement report shows: who and how many, the overall figures, a row per code."""

    coders: tuple[str, ...]  # display names when summarize was given them
    units: int
    pairable_units: int  # coded by two or more coders
    figures: tuple[Figure, ...]
    pairs: tuple[str, ...]  # "coder a|coder b", in the order of the coders
    per_code: tuple[CodeRow, ...]


def summarize(report: dict[str, Any], names: Mapping[str, str] | None = None) -> AgreementSummary:
    """Return the figures and per-code rows of an agreement report (coding.agreement's JSON shape).

    *names* maps coders to the names to show (coding.coders.display_names); coders not in it show as stored.
    """
    overall = report["overall"]
    stored = tuple(report["coders"])
    keys = tuple(f"{a}|{b}" for i, a in enumerate(stored) for b in stored[i + 1:])  # the report's pair keys
    shown = {c: (names or {}).get(c, c) for c in stored}
    coders = tuple(shown[c] for c in stored)
    pairs = tuple(f"{shown[a]}|{shown[b]}" for i, a in enumerate(stored) for b in stored[i + 1:])
    label = dict(zip(keys, pairs, strict=True))
    ci = overall.get("alpha_ci")
    figures = [
        Figure("percent agreement (identical code sets)", overall["percent_agreement"]),
        Figure(f"Krippendorff's alpha ({overall['alpha_distance']})", overall["krippendorff_alpha"],
               (ci[0], ci[1]) if ci else None, bootstrapped=True),
    ]
    if "fleiss_kappa" in overall:
        figures.append(Figure("Fleiss' kappa (one code per unit)", overall["fleiss_kappa"]))
        figures.extend(Figure(f"Cohen's kappa {label.get(pair, pair)}", kappa)
                       for pair, kappa in overall["cohen_kappa"].items())
    rows = tuple(
        CodeRow(code, stats["n_units"], stats["percent_agreement"], stats["krippendorff_alpha"],
                stats["fleiss_kappa"], tuple(stats["cohen_kappa"].get(p) for p in keys))
        for code, stats in report["per_code"].items()
    )
    return AgreementSummary(coders, report["units"], overall["n_units"], tuple(figures), pairs, rows)
