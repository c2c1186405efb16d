"""Inter-coder agreement for two or more coders, vectorised with NumPy (SciPy for sparse sums).

table: codings as arrays; alpha: Krippendorff's alpha over code sets, per code, bootstrap; kappa: Cohen,
Fleiss, percent agreement; report: all of them at once. Importing this package loads NumPy and SciPy, so
light processes import it only in the functions that report.
"""

from coding.agreement.alpha import (
    CI_METHODS,
    DISTANCES,
    MASI_LABEL,
    krippendorff_alpha_ci,
    krippendorff_alpha_nominal,
    krippendorff_alpha_per_code,
    krippendorff_alpha_sets,
)
from coding.agreement.kappa import cohen_kappa, fleiss_kappa, percent_agreement, single_codes
from coding.agreement.report import agreement_report
from coding.agreement.table import Codings

__all__ = [
    "CI_METHODS", "DISTANCES", "MASI_LABEL", "Codings", "agreement_report", "cohen_kappa", "fleiss_kappa",
    "krippendorff_alpha_ci", "krippendorff_alpha_nominal", "krippendorff_alpha_per_code", "krippendorff_alpha_sets",
    "percent_agreement", "single_codes",
]
