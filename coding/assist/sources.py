"""Where a suggestion came from, and the codebook entries suggesters start from.

Kept apart from ``coding.assist.suggest`` (which loads scikit-learn) so that the decision log and the web
pages can name these without loading it.
"""

from __future__ import annotations

MODEL = "model"
CODEBOOK = "codebook"

CodebookEntry = tuple[str, str, str]  # (code path, definition, example)
