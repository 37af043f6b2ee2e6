"""Train the user-turn dissatisfaction model of analytics.scoring; write analytics/scoring/model_weights.json.

    python bench/train_scoring.py --data ../shared/datasets [--out analytics/scoring/model_weights.json]

Trains on every file in --data whose conversations carry per-user-turn satisfaction votes
(`labels.turn_satisfaction_votes`, as in the USS files). The target of a user turn is "a majority of
annotators rated it 2 or lower". The model is a logistic regression over the interpretable features of
`analytics.scoring.features.user_turn_features`, so each weight reads as "how much this cue raises the
odds that the user was dissatisfied at this turn". The files it was trained on are recorded (by SHA-256)
so that bench/quality.py reports out-of-fold figures for them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.scoring.features import WEIGHTS_PATH, build_views, user_turn_features  # noqa: E402
from analytics.scoring.types import Message  # noqa: E402

# Strong regularisation: the features are few and binary, and the weights must carry over to other bots.
REGULARISATION_C = 0.5


def data_files(directory: Path) -> list[Path]:
    """Return the *.jsonl and *.jsonl.gz files of `directory`, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))


def read_conversations(path: Path) -> Iterator[dict[str, Any]]:
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


def turn_rows(conversations: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, float]], list[int]]:
    """Return (features, target) for every user turn with annotator votes."""
    features: list[dict[str, float]] = []
    targets: list[int] = []
    for conversation in conversations:
        labels = conversation.get("labels") or {}
        votes_per_turn = labels.get("turn_satisfaction_votes")
        indexes = labels.get("turn_message_index")
        if not votes_per_turn or not indexes:
            continue
        views = build_views(to_messages(conversation))
        for index, votes in zip(indexes, votes_per_turn, strict=True):
            if index is None or not votes or views[index].role != "user":
                continue
            features.append(user_turn_features(views, views[index]))
            targets.append(int(2 * sum(v <= 2 for v in votes) >= len(votes)))
    return features, targets


def fit_user_turn_model(features: Sequence[Mapping[str, float]], targets: Sequence[int]) -> dict[str, Any]:
    """Fit the logistic regression; return {"intercept", "weights"} in the shape model_weights.json holds."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    names = sorted(features[0])
    x = np.array([[row[n] for n in names] for row in features])
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000).fit(x, np.array(targets))
    weights = {n: round(float(w), 4) for n, w in zip(names, model.coef_[0], strict=True)}
    return {"intercept": round(float(model.intercept_[0]), 4), "weights": weights}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args()

    features: list[dict[str, float]] = []
    targets: list[int] = []
    trained_on = []
    for path in data_files(args.data):
        file_features, file_targets = turn_rows(read_conversations(path))
        if not file_targets:
            continue
        features += file_features
        targets += file_targets
        trained_on.append(
            {
                "file": path.name,
                "sha256": fingerprint(path),
                "user_turns": len(file_targets),
                "positives": sum(file_targets),
            }
        )
    if not targets:
        raise SystemExit(f"no file in {args.data} has per-user-turn satisfaction votes")
    model = fit_user_turn_model(features, targets)
    payload = {
        "user_turn_model": {
            **model,
            "target": "majority of annotators rated the user turn <= 2 (1-5 satisfaction scale)",
            "regularisation_c": REGULARISATION_C,
            "trained_on": trained_on,
        }
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
