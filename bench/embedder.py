"""The embedding model's speed in each runtime: the product's (OpenVINO) against PyTorch, on the same texts.

    .venv/bin/python bench/embedder.py [--json] [--conversations 400] [--rounds 3]

Encodes the messages of --conversations of the benchmarks' workload (8 messages of 40–400 characters each, as
bench/pipeline.py) with:

- `pytorch_float32`: sentence-transformers' own `encode` (PyTorch, float32), the model as its authors run it:
  the baseline, and the reference the other vectors are compared with;
- `pytorch_bfloat16`: the same in bfloat16, only where OpenVINO chose bfloat16 (the CPU computes it natively;
  elsewhere PyTorch emulates it, slower than float32);
- `openvino_float32`: the product's `Embedder(precision="float32")`;
- `openvino_one_stream`: the product's `Embedder(streams=1)`, each batch in turn over every core;
- `openvino`: the product's `Embedder()`, as the worker runs it (OpenVINO picks the precision and the streams).

Each is loaded once and warmed up; the rounds run the variants in turn, so a change in the machine's speed hits
each alike; a variant's rate is its best round. Figures per variant: conversations/s, the rate as a share of
PyTorch in the same precision (`vs_pytorch`), and the cosine of its vectors to PyTorch's float32 ones (mean, min).
`one_conversation_ms`: the median time to encode one conversation's messages, for the product and one stream.
`padding`: the share of the tokens through the network that are padding, in batches of the product's size, with
the texts sorted by characters (as sentence-transformers sorts them) and by token count (as the product does).
Needs no database or broker.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import logger_for, machine, make_conversation, print_figures


def _sentence_transformers(dtype_name: str) -> Callable[[list[str]], np.ndarray]:
    import torch

    from analytics.scoring.embedder import load_sentence_transformer

    model = load_sentence_transformer()
    model.to(getattr(torch, dtype_name))

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            vectors = model.encode(texts, batch_size=32, convert_to_tensor=True, show_progress_bar=False)
        return torch.nn.functional.normalize(vectors.float(), dim=1).numpy()

    return encode


def _padding(token_counts: np.ndarray, order: np.ndarray, batch_size: int) -> float:
    """Share of padding among the tokens of batches taken in `order`, each padded to its longest text."""
    through = sum(
        int(token_counts[order[start : start + batch_size]].max()) * len(order[start : start + batch_size])
        for start in range(0, len(order), batch_size)
    )
    return round(1 - int(token_counts.sum()) / through, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    log = logger_for(quiet=args.json)

    from analytics.scoring.embedder import Embedder

    rng = random.Random(args.seed)
    start = datetime(2026, 11, 4, tzinfo=UTC)
    items = [make_conversation(rng, f"e-{i}", start) for i in range(args.conversations)]
    texts = [message["content"] for item in items for message in item["messages"]]

    log("loading the model in each runtime…")
    product = Embedder()
    product.encode(["warm-up"])
    variants: dict[str, Callable[[list[str]], np.ndarray]] = {
        "pytorch_float32": _sentence_transformers("float32"),
        "openvino_float32": Embedder(precision="float32").encode,
        "openvino_one_stream": Embedder(streams=1).encode,
        "openvino": product.encode,
    }
    if product.precision_in_use == "bfloat16":
        variants["pytorch_bfloat16"] = _sentence_transformers("bfloat16")
    baseline_of = {
        "pytorch_float32": "pytorch_float32",
        "openvino_float32": "pytorch_float32",
        # PyTorch in the precision OpenVINO chose, where it ran here (bfloat16 or float32); else float32.
        "openvino": next(v for v in (f"pytorch_{product.precision_in_use}", "pytorch_float32") if v in variants),
        "pytorch_bfloat16": "pytorch_float32",
    }
    baseline_of["openvino_one_stream"] = baseline_of["openvino"]
    for encode in variants.values():
        encode(texts[:64])

    best = dict.fromkeys(variants, float("inf"))
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):
        for name, encode in variants.items():
            started = time.perf_counter()
            vectors[name] = encode(texts)
            seconds = time.perf_counter() - started
            best[name] = min(best[name], seconds)
            log(f"round {round_ + 1}/{args.rounds}: {name} {len(items) / seconds:.1f} conversations/s")

    rates = {name: len(items) / seconds for name, seconds in best.items()}
    reference = vectors["pytorch_float32"]
    result: dict = {}
    for name in variants:
        cosine = (vectors[name] * reference).sum(axis=1)
        result[name] = {
            "per_s": round(rates[name], 1),
            "vs_pytorch": round(rates[name] / rates[baseline_of[name]], 2),
            "cosine_to_pytorch_float32_mean": round(float(cosine.mean()), 5),
            "cosine_to_pytorch_float32_min": round(float(cosine.min()), 5),
        }
    result["openvino"]["vs_one_stream"] = round(rates["openvino"] / rates["openvino_one_stream"], 2)
    for name in ("openvino", "openvino_one_stream"):  # what one conversation's scoring waits for
        times = []
        for item in items[:100]:
            started = time.perf_counter()
            variants[name]([message["content"] for message in item["messages"]])
            times.append(time.perf_counter() - started)
        result[name]["one_conversation_ms"] = round(1000 * float(np.median(times)), 1)
    from analytics.scoring.embedder import load_sentence_transformer

    tokens = load_sentence_transformer().preprocess(texts)["attention_mask"].sum(dim=1).numpy()
    by_characters = np.argsort([-len(text) for text in texts], kind="stable")
    result["padding"] = {
        "by_characters": _padding(tokens, by_characters, product.batch_size),
        "by_tokens": _padding(tokens, np.argsort(-tokens, kind="stable"), product.batch_size),
    }
    result["workload"] = {"conversations": len(items), "messages": len(texts)}
    result["machine"] = {**machine(), "openvino_precision": product.precision_in_use}
    print_figures(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
