"""Where a suggestion came from, the text representations, and the codebook entries suggesters start from.

Kept apart from ``coding.assist.suggest`` (which loads scikit-learn) so that the decision log and the web
pages can name these without loading it.
"""

from __future__ import annotations

MODEL = "model"
CODEBOOK = "codebook"

# The text representations (``coding.assist.encoders``), as pages name them.
BACKEND_LABELS = {"tfidf": "TF-IDF over word stems", "embeddings": "sentence embeddings (all-MiniLM-L6-v2)"}

# (code path, definition and "use when", example[, "not when"]): what the codebook matcher reads of a code.
CodebookEntry = tuple[str, str, str] | tuple[str, str, str, str]
