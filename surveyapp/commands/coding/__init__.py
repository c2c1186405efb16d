"""`surveykit coding`: coding projects, agreement, codebooks, codebook evolution and the theme workbook.

One module per part of the group; importing them registers their commands on ``group``. Commands that work on
files only (`agreement FILE`, `codebook convert`) run without an app, so they also work from a plain click
runner; the others run in the app context and use its database. Each command is one transaction: it commits
when it succeeds and leaves nothing behind when it fails.
"""

from __future__ import annotations

from . import agreement, codebook, export, projects
from .common import group

__all__ = ["agreement", "codebook", "export", "group", "projects"]
