"""The reviewers' pages at /coding: projects, the coding screen, codebook editor, agreement, reconciliation."""

from __future__ import annotations

# Importing the view modules registers their views on bp: routes (projects, coding screen, agreement,
# reconciliation), codebook_routes (the codebook editor), assist_routes (suggestions, themes, keyword in context),
# results_routes (the theme tables), members (the project's team), setup_routes (new project, new answers,
# imports, the theme workbook and the jobs that write them).
from . import assist_routes, codebook_routes, members, results_routes, routes, setup_routes
from .blueprint import bp

__all__ = ["assist_routes", "bp", "codebook_routes", "members", "results_routes", "routes", "setup_routes"]
