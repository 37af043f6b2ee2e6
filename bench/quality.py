"""Measure how well the health score and failure evidence agree with human labels.

    python bench/quality.py --data ../shared/datasets [--embeddings] [--json] [--folds 5]

Scores every *.jsonl / *.jsonl.gz file in --data (format: shared/datasets/README.md) with
`score_conversation(..., ended=True)` and reports, per file, whichever metrics its labels allow:

- `dissatisfied`, `dissatisfied_majority`: ROC-AUC of (100 - health);
- `dialogue_satisfaction`: Spearman rho of health;
- `turn_breakdown` (DBDC3): ROC-AUC of each bot turn's failure evidence (as stored in the health breakdown,
  `turns.bot_failure_evidence`) against X >= 0.5, and the precision
  and recall of the flagged bot turns (a failure names the turn as its evidence or cause);
- `failures` (a list of {"type", "message_index"} per conversation, and `has_failure`): ROC-AUC of (100 - health)
  for `has_failure`, and per failure type whether the detectors report it in the conversations labelled with it
  and only there (`labelled_<type>`, `labelled_all_types`, `fine_flagged`; see `failure_label_figures`);
- per failure detector (`detector_<type>`, repetition split by side): how often it fires (per conversation and
  share of conversations) and its precision against the file's turn labels, with its lift over the base rate
  (see `detector_figures`);
- `notable_user_turns`, `notable_bot_turns`: what the conversation page marks (`notable_turns`);
- `turn_satisfaction_votes`: ROC-AUC of each user turn's dissatisfaction risk against a majority vote <= 2, and
  how firm `dissatisfied` is (labels only, no score): the share of positives one annotator's vote, one point
  higher, would make negative (and of negatives one vote lower would make positive), and the ROC-AUC the
  annotators' own dialogue rating reaches for `dissatisfied` — a reference for any score read from the text.

Every file is scored lexically, as the worker scores with FEATURE_EMBEDDINGS off; with --embeddings it is scored a
second time with all-MiniLM-L6-v2 vectors of every message (`score_conversation(embeddings=...)`, cached per file
under --cache), as the worker scores with FEATURE_EMBEDDINGS on, and both figures are printed.

A file a committed model was trained on (same SHA-256 as in model_weights.json: the user-turn model on the USS
files, the bot-turn model on DBDC3) is scored out-of-fold: its conversations are split into --folds folds and
each fold is scored by models retrained on the other folds plus the other training files found in --data. The
output says which way each file was scored. Per-component ROC-AUCs show what each part of the health score
carries on its own.
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
    DEFAULT_CACHE,
    bot_rows,
    file_embeddings,
    fingerprint,
    fit_logistic,
    is_breakdown,
    majority_dissatisfied,
    read_dataset,
    to_messages,
    user_rows,
)


def _score_all(
    conversations: Sequence[Mapping[str, Any]],
    vectors: Sequence[Any] | None,
    settings: ScoringSettings | None,
) -> list[ConversationScore]:
    return [
        score_conversation(
            to_messages(c), ended=True, embeddings=None if vectors is None else vectors[n], settings=settings
        )
        for n, c in enumerate(conversations)
    ]


def _trained_on(model: Mapping[str, Any]) -> set[str]:
    return {t["sha256"] for t in model.get("trained_on", [])}


def score_file(
    path: Path,
    conversations: list[dict[str, Any]],
    others: Mapping[Path, tuple[list[dict[str, Any]], list[Any] | None]],
    vectors: list[Any] | None,
    folds: int,
) -> tuple[list[ConversationScore], str]:
    """Return the scores of a file's conversations and how they were obtained (committed or out-of-fold).

    `others` holds the other files of --data (conversations, embeddings or None); `vectors` switches the
    embeddings mode on. A model trained on this file is retrained per fold without the held-out fold.
    """
    suffix = "_embeddings" if vectors is not None else ""
    base = committed_weights()
    user_key, bot_key = "user_turn_model" + suffix, "bot_turn_model" + suffix
    digest = fingerprint(path)
    refit_user = digest in _trained_on(base[user_key])
    refit_bot = digest in _trained_on(base[bot_key])
    if not refit_user and not refit_bot:
        return _score_all(conversations, vectors, None), "committed models (file in neither training set)"
    centroid = base.get("complaint_centroid")
    user_files = [p for p in others if fingerprint(p) in _trained_on(base[user_key])]
    bot_files = [p for p in others if fingerprint(p) in _trained_on(base[bot_key])]
    other_user: tuple[list[dict[str, float]], list[int]] = ([], [])
    for other in user_files:
        convs, vecs = others[other]
        f, t = user_rows(convs, vecs, centroid)
        other_user[0].extend(f)
        other_user[1].extend(t)
    scores: list[ConversationScore | None] = [None] * len(conversations)
    for fold in range(folds):
        held = [i for i in range(len(conversations)) if i % folds == fold]
        kept = [i for i in range(len(conversations)) if i % folds != fold]
        kept_convs = [conversations[i] for i in kept]
        kept_vecs = None if vectors is None else [vectors[i] for i in kept]
        weights = dict(base)
        if refit_user:
            f, t = user_rows(kept_convs, kept_vecs, centroid)
            weights[user_key] = fit_logistic(other_user[0] + f, other_user[1] + t)
        if refit_bot:
            f, t = bot_rows(kept_convs, kept_vecs, weights)
            for other in bot_files:
                of, ot = bot_rows(*others[other], weights)
                f, t = f + of, t + ot
            weights[bot_key] = fit_logistic(f, t, nonnegative=True)
        settings = ScoringSettings(model_weights=weights)
        held_vecs = None if vectors is None else [vectors[i] for i in held]
        for i, s in zip(held, _score_all([conversations[i] for i in held], held_vecs, settings), strict=True):
            scores[i] = s
    retrained = " and ".join(k for k, on in ((user_key, refit_user), (bot_key, refit_bot)) if on)
    names = ", ".join(p.name for p in (user_files if refit_user else bot_files)) or "nothing else"
    how = f"out-of-fold ({folds} folds; {retrained} retrained per fold on the other folds + {names})"
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
    for key in ("dissatisfied", "dissatisfied_majority", "has_breakdown", "has_failure"):
        pairs = [
            (int(bool(lab[key])), 100.0 - s.health)
            for lab, s in zip(labels, scores, strict=True)
            if lab.get(key) is not None
        ]
        if pairs:
            out[f"auc_{key}"] = _auc([p[0] for p in pairs], [p[1] for p in pairs])
            out[f"positives_{key}"] = sum(p[0] for p in pairs)
    if any(lab.get("dissatisfied") is not None for lab in labels):
        # What each component ranks on its own: the combined score should be at least as good as the best.
        y = [int(bool(lab.get("dissatisfied"))) for lab in labels]
        for name in (c.name for c in scores[0].components):
            values = [next(c.value for c in s.components if c.name == name) for s in scores]
            out[f"auc_dissatisfied_component_{name}"] = _auc(y, values)
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
    every_user: list[float] = []
    every_bot: list[float] = []
    for lab, s in zip(labels, scores, strict=True):
        # The per-turn figures as the worker stores them: the health breakdown's `turns`.
        turns = s.breakdown["turns"]
        user_risk, bot_evidence = turns["user_dissatisfaction"], turns["bot_failure_evidence"]
        every_user += user_risk.values()
        every_bot += bot_evidence.values()
        indexes = lab.get("turn_message_index") or []
        for index, votes in zip(indexes, lab.get("turn_satisfaction_votes") or [], strict=False):
            if votes and str(index) in user_risk:
                turn_y.append(int(majority_dissatisfied(votes)))
                turn_p.append(user_risk[str(index)])
        flagged = s.flagged_turns
        for index, shares in zip(indexes, lab.get("turn_breakdown") or [], strict=False):
            if shares is not None and str(index) in bot_evidence:
                bot_y.append(int(is_breakdown(shares)))
                bot_p.append(bot_evidence[str(index)])
                bot_flagged.append(int(index in flagged))
    if turn_y:
        out["auc_user_turn_majority_dissatisfied"] = _auc(turn_y, turn_p)
    defaults = ScoringSettings()
    out["notable_user_turns"] = notable_turns(every_user, turn_y, turn_p, defaults.turn_risk_evidence)
    out["notable_bot_turns"] = notable_turns(every_bot, bot_y, bot_p, defaults.bot_turn_evidence)
    out.update(label_reliability(labels))
    out.update(detector_figures(conversations, scores))
    out.update(failure_label_figures(labels, scores))
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


def failure_label_figures(labels: Sequence[Mapping[str, Any]], scores: Sequence[ConversationScore]) -> dict[str, Any]:
    """Return, for files whose labels list each conversation's failures by type (`failures`), how the detectors
    agree per type, judged per conversation: found (`tp`), reported where the labels have none of that type (`fp`),
    missed (`fn`), precision and recall; the same over all types; and the share of the conversations labelled fine
    that get any failure (`fine_flagged`)."""
    if not any("failures" in lab for lab in labels):
        return {}
    counts: dict[str, dict[str, int]] = {}
    fine = fine_flagged = 0
    for lab, s in zip(labels, scores, strict=True):
        wanted = {f["type"] for f in lab.get("failures") or []}
        found = {f.type for f in s.failures}
        for kind in wanted | found:
            c = counts.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0})
            c["tp" if kind in wanted and kind in found else "fp" if kind in found else "fn"] += 1
        if not wanted:
            fine += 1
            fine_flagged += bool(found)

    def figures(c: Mapping[str, int]) -> dict[str, Any]:
        reported, labelled = c["tp"] + c["fp"], c["tp"] + c["fn"]
        return {
            **c,
            "precision": round(c["tp"] / reported, 3) if reported else None,
            "recall": round(c["tp"] / labelled, 3) if labelled else None,
        }

    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    out: dict[str, Any] = {f"labelled_{kind}": figures(counts[kind]) for kind in sorted(counts)}
    out["labelled_all_types"] = figures(total)
    out["fine_flagged"] = {"conversations": fine, "flagged": fine_flagged, "share": round(fine_flagged / fine, 3)}
    return out


def notable_turns(
    values: Sequence[float], labels: Sequence[int], labelled: Sequence[float], threshold: float
) -> dict[str, Any]:
    """What the conversation page marks (a turn figure at or above `threshold`): the share of all the file's turns
    of that role it marks, and, over the labelled ones, the share of marked turns the humans called bad (against
    the base rate)."""
    marked = [y for y, p in zip(labels, labelled, strict=True) if p >= threshold]
    return {
        "threshold": threshold,
        "share": round(sum(v >= threshold for v in values) / len(values), 4) if values else None,
        "precision": round(sum(marked) / len(marked), 4) if marked else None,
        "base_rate": round(sum(labels) / len(labels), 4) if labels else None,
    }


def _bad_turns(labels: Mapping[str, Any]) -> dict[int, bool]:
    """Return, per labelled message index, whether the humans judged that turn bad: a user turn most annotators
    rated 2 or lower (USS-style votes), a bot turn at least half the annotators called a breakdown (DBDC3-style)."""
    indexes = labels.get("turn_message_index") or []
    bad: dict[int, bool] = {}
    for index, votes in zip(indexes, labels.get("turn_satisfaction_votes") or [], strict=False):
        if index is not None and votes:
            bad[index] = majority_dissatisfied(votes)
    for index, shares in zip(indexes, labels.get("turn_breakdown") or [], strict=False):
        if index is not None and shares is not None:
            bad[index] = is_breakdown(shares)
    return bad


def _judging_turn(messages: Sequence[Mapping[str, Any]], index: int, bad: Mapping[int, bool]) -> int | None:
    """Return the labelled turn that judges a failure found on message `index`, None when there is none.

    The message itself when it is labelled; else a bot message is judged by the user's next turn (USS annotators
    rate each user turn for how the bot's turn before it left them) and a user message by the bot turn it
    reacts to (DBDC3 labels bot turns only).
    """
    if index in bad:
        return index
    role = messages[index]["role"]
    if role == "assistant":
        other = next((j for j in range(index + 1, len(messages)) if messages[j]["role"] == "user"), None)
    else:
        other = next((j for j in range(index - 1, -1, -1) if messages[j]["role"] == "assistant"), None)
    return other if other in bad else None


def detector_figures(
    conversations: Sequence[Mapping[str, Any]], scores: Sequence[ConversationScore]
) -> dict[str, dict[str, Any]]:
    """Return, per failure detector, how often it fires and how often the humans agree, from per-turn labels.

    `precision` is the share of its failures whose judging turn (`_judging_turn`) the labels call bad, `lift` that
    precision over the share of all labelled turns that are bad: 1.0 is what flagging turns at random would reach.
    A detector that fires in most conversations at a lift near 1 buries the failures that matter.
    """
    firings: dict[str, int] = {}
    conversations_with: dict[str, int] = {}
    judged: dict[str, int] = {}
    agreed: dict[str, int] = {}
    labelled = bad_total = 0
    for conversation, score in zip(conversations, scores, strict=True):
        bad = _bad_turns(conversation.get("labels") or {})
        labelled += len(bad)
        bad_total += sum(bad.values())
        seen: set[str] = set()
        for f in score.failures:
            side = f.evidence.get("side") if f.type == "repetition" else None
            name = f"{f.type}/{side}" if side else f.type
            firings[name] = firings.get(name, 0) + 1
            if name not in seen:
                conversations_with[name] = conversations_with.get(name, 0) + 1
                seen.add(name)
            turn = _judging_turn(conversation["messages"], f.message_index, bad) if bad else None
            if turn is not None:
                judged[name] = judged.get(name, 0) + 1
                agreed[name] = agreed.get(name, 0) + int(bad[turn])
    base = bad_total / labelled if labelled else None
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(firings):
        figures: dict[str, Any] = {
            "per_conversation": round(firings[name] / len(conversations), 3),
            "share_of_conversations": round(conversations_with[name] / len(conversations), 3),
        }
        if judged.get(name):
            precision = agreed[name] / judged[name]
            figures.update(judged=judged[name], precision=round(precision, 3))
            if base:
                figures.update(base_rate=round(base, 3), lift=round(precision / base, 2))
        out[f"detector_{name}"] = figures
    return out


def _one_vote_from_flipping(votes: Sequence[Sequence[float]]) -> tuple[bool, bool]:
    """Return (dissatisfied, one vote one point the other way would flip it) for one conversation's turn votes.

    `dissatisfied` is "some turn's mean vote <= 2"; a positive flips when it has a single such turn and one
    annotator voting one point higher on it lifts its mean above 2; a negative flips when one annotator voting
    one point lower on some turn brings its mean to 2.
    """
    turns = [v for v in votes if v]
    bad = [v for v in turns if sum(v) <= 2 * len(v)]
    if bad:
        return True, len(bad) == 1 and sum(bad[0]) + 1 > 2 * len(bad[0])
    return False, any(sum(v) - 1 <= 2 * len(v) and min(v) > 1 for v in turns)


def label_reliability(labels: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return how firm the `dissatisfied` labels are, from the annotators' own votes (USS-style files).

    - share of positives that one annotator voting one point higher on one turn would make negative, and share
      of negatives that one vote one point lower would make positive: how much of the label is annotator draw;
    - ROC-AUC of the annotators' own dialogue rating (lower = worse) for `dissatisfied`: what the same people's
      overall judgement of the dialogue reaches, a reference for any score computed from the text.
    """
    out: dict[str, Any] = {}
    flips = [
        _one_vote_from_flipping(lab["turn_satisfaction_votes"]) for lab in labels if lab.get("turn_satisfaction_votes")
    ]
    positives = [hinge for positive, hinge in flips if positive]
    negatives = [near for positive, near in flips if not positive]
    if positives and negatives:
        out["dissatisfied_positives_one_vote_from_negative"] = round(sum(positives) / len(positives), 4)
        out["dissatisfied_negatives_one_vote_from_positive"] = round(sum(negatives) / len(negatives), 4)
    pairs = [
        (int(bool(lab["dissatisfied"])), -float(lab["dialogue_satisfaction"]))
        for lab in labels
        if lab.get("dissatisfied") is not None and lab.get("dialogue_satisfaction") is not None
    ]
    if pairs:
        auc = _auc([p[0] for p in pairs], [p[1] for p in pairs])
        if auc is not None:
            out["auc_dissatisfied_annotators_dialogue_rating"] = auc
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by mode, then file name")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embeddings", action="store_true", help="also score with message embeddings")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where message embeddings are cached")
    args = parser.parse_args()

    files = read_dataset(args.data)
    modes = ["lexical"] + (["embeddings"] if args.embeddings else [])
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        vectors = {p: file_embeddings(p, c, args.cache) for p, c in files.items()} if mode == "embeddings" else {}
        results[mode] = {}
        for path, conversations in files.items():
            others = {p: (c, vectors.get(p)) for p, c in files.items() if p != path}
            started = time.perf_counter()
            scores, how = score_file(path, conversations, others, vectors.get(path), args.folds)
            results[mode][path.name] = {
                "scored_with": how,
                **file_metrics(conversations, scores),
                "seconds": round(time.perf_counter() - started, 1),
            }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for mode, per_file in results.items():
        title = "LEXICAL ONLY" if mode == "lexical" else "WITH EMBEDDINGS (all-MiniLM-L6-v2)"
        print(f"\n==== {title} ====")
        for name, figures in per_file.items():
            print(f"\n{name}  [{mode}; {figures['scored_with']}]")
            for key, value in figures.items():
                if isinstance(value, dict):
                    value = ", ".join(f"{k} {v}" for k, v in value.items())
                if key != "scored_with":
                    print(f"  {key:48} {value}")


if __name__ == "__main__":
    main()
