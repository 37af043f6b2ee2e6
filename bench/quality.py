"""Measure how well the health score and failure evidence agree with human labels.

    python bench/quality.py --data ../shared/datasets [--json] [--folds 5]

Scores every *.jsonl / *.jsonl.gz file in --data (format: shared/datasets/README.md) with
`score_conversation(..., ended=True)` and reports, per file, whichever metrics its labels allow:

- `dissatisfied`, `dissatisfied_majority`: ROC-AUC of (100 - health);
- `dialogue_satisfaction`: Spearman rho of health;
- `turn_breakdown` (DBDC3): ROC-AUC of each bot turn's failure evidence against X >= 0.5, and the precision
  and recall of the flagged bot turns (a failure names the turn as its evidence or cause);
- `turn_satisfaction_votes`: ROC-AUC of each user turn's dissatisfaction risk against a majority vote <= 2.

A file the committed user-turn model was trained on (same SHA-256 as in model_weights.json) is scored
out-of-fold: its conversations are split into --folds folds and each fold is scored by a model retrained on
the other folds plus the other training files found in --data. The output says which way each file was scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.scoring import ConversationScore, ScoringSettings, score_conversation  # noqa: E402
from analytics.scoring.features import committed_weights  # noqa: E402
from bench.train_scoring import (  # noqa: E402
    data_files,
    fingerprint,
    fit_user_turn_model,
    read_conversations,
    to_messages,
    turn_rows,
)


def _score_all(conversations: Sequence[Mapping[str, Any]], settings: ScoringSettings | None) -> list[ConversationScore]:
    return [score_conversation(to_messages(c), ended=True, settings=settings) for c in conversations]


def score_file(
    path: Path, conversations: list[dict[str, Any]], training: Mapping[str, Path], folds: int
) -> tuple[list[ConversationScore], str]:
    """Return the scores of a file's conversations and how they were obtained (committed or out-of-fold)."""
    digest = fingerprint(path)
    if digest not in training:
        return _score_all(conversations, None), "committed model (file not in its training set)"
    others = [p for d, p in training.items() if d != digest]
    other_rows: tuple[list[dict[str, float]], list[int]] = ([], [])
    for other in others:
        f, t = turn_rows(read_conversations(other))
        other_rows[0].extend(f)
        other_rows[1].extend(t)
    scores: list[ConversationScore | None] = [None] * len(conversations)
    base = committed_weights()
    for fold in range(folds):
        held = [i for i in range(len(conversations)) if i % folds == fold]
        kept = [c for i, c in enumerate(conversations) if i % folds != fold]
        f, t = turn_rows(kept)
        model = fit_user_turn_model(other_rows[0] + f, other_rows[1] + t)
        settings = ScoringSettings(model_weights={**base, "user_turn_model": model})
        for i, s in zip(held, _score_all([conversations[i] for i in held], settings), strict=True):
            scores[i] = s
    names = ", ".join(p.name for p in others) or "nothing else"
    how = f"out-of-fold ({folds} folds; each fold's model trained on the other folds + {names})"
    return [s for s in scores if s is not None], how


def _auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def file_metrics(conversations: Sequence[Mapping[str, Any]], scores: Sequence[ConversationScore]) -> dict[str, Any]:
    """Return every metric the file's labels allow; a metric without labels is left out."""
    from scipy.stats import spearmanr

    out: dict[str, Any] = {"conversations": len(conversations)}
    labels = [c.get("labels") or {} for c in conversations]
    out["mean_health"] = round(sum(s.health for s in scores) / len(scores), 2)
    for key in ("dissatisfied", "dissatisfied_majority", "has_breakdown"):
        pairs = [
            (int(bool(lab[key])), 100.0 - s.health)
            for lab, s in zip(labels, scores, strict=True)
            if lab.get(key) is not None
        ]
        if pairs:
            out[f"auc_{key}"] = _auc([p[0] for p in pairs], [p[1] for p in pairs])
            out[f"positives_{key}"] = sum(p[0] for p in pairs)
    pairs = [
        (lab["dialogue_satisfaction"], s.health)
        for lab, s in zip(labels, scores, strict=True)
        if lab.get("dialogue_satisfaction") is not None
    ]
    if len(pairs) > 2:
        out["spearman_dialogue_satisfaction"] = round(float(spearmanr(*zip(*pairs, strict=True))[0]), 4)

    turn_y: list[int] = []
    turn_p: list[float] = []
    bot_y: list[int] = []
    bot_p: list[float] = []
    bot_flagged: list[int] = []
    for lab, s in zip(labels, scores, strict=True):
        indexes = lab.get("turn_message_index") or []
        for index, votes in zip(indexes, lab.get("turn_satisfaction_votes") or [], strict=False):
            if votes and index in s.user_turn_risk:
                turn_y.append(int(2 * sum(v <= 2 for v in votes) >= len(votes)))
                turn_p.append(s.user_turn_risk[index])
        flagged = s.flagged_turns
        for index, shares in zip(indexes, lab.get("turn_breakdown") or [], strict=False):
            if shares is not None and index in s.turn_failure_evidence:
                bot_y.append(int(shares["X"] >= 0.5))
                bot_p.append(s.turn_failure_evidence[index])
                bot_flagged.append(int(index in flagged))
    if turn_y:
        out["auc_user_turn_majority_dissatisfied"] = _auc(turn_y, turn_p)
    if bot_y:
        out["auc_bot_turn_breakdown"] = _auc(bot_y, bot_p)
        hits = sum(y and f for y, f in zip(bot_y, bot_flagged, strict=True))
        out["bot_turns"] = len(bot_y)
        out["breakdown_turns"] = sum(bot_y)
        out["flagged_turns"] = sum(bot_flagged)
        out["flagged_precision"] = round(hits / sum(bot_flagged), 4) if sum(bot_flagged) else None
        out["flagged_recall"] = round(hits / sum(bot_y), 4) if sum(bot_y) else None
        out["breakdown_base_rate"] = round(sum(bot_y) / len(bot_y), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by file name")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    trained = committed_weights().get("user_turn_model", {}).get("trained_on", [])
    present = {fingerprint(p): p for p in data_files(args.data)}
    training = {t["sha256"]: present[t["sha256"]] for t in trained if t["sha256"] in present}

    results: dict[str, Any] = {}
    for path in data_files(args.data):
        conversations = list(read_conversations(path))
        if not conversations:
            continue
        started = time.perf_counter()
        scores, how = score_file(path, conversations, training, args.folds)
        results[path.name] = {
            "scored_with": how,
            **file_metrics(conversations, scores),
            "seconds": round(time.perf_counter() - started, 1),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(f"\n{name}  [{figures['scored_with']}]")
        for key, value in figures.items():
            if key != "scored_with":
                print(f"  {key:40} {value}")


if __name__ == "__main__":
    main()
