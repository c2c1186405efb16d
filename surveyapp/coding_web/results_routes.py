"""The coding project's results page: its theme tables as the project workbook has them, in the browser.

Counts per theme of the final codes (a recorded consensus, else the rule chosen for units without one,
``?rule=all|majority|any``), with the units still awaiting consensus or re-review next to each theme and the
per-question denominators. Blindness holds here too: only units revealed to the viewer are counted (another
coder's codes stay out until the round is finished), and the page says how many were left out.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from coding import blindness, reconcile

from ..auth.access import allowed
from ..db import get_session
from ..exporting import question_texts
from .blueprint import bp
from .view_helpers import consensus_rule, current_coder, project_or_404


@bp.get("/<name>/results")
@allowed("project_code")
def results(name: str) -> Any:
    """Show the project's theme tables over the units revealed to me."""
    from coding.tables import theme_tables  # NumPy loads when the page is asked for, not when the app starts

    session = get_session()
    project = project_or_404(name)
    rule = consensus_rule()
    final = reconcile.final_codes(session, project, rule)
    shown = final.only(blindness.revealed_unit_ids(session, project, current_coder()))
    tables = theme_tables(session, project, final=shown)
    return render_template("coding/results.html", project=project, tables=tables, rule=rule,
                           rules=reconcile.CONSENSUS_RULES, not_revealed=len(final.codes) - len(shown.codes),
                           texts=question_texts(session, project))
