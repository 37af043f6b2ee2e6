"""The health score: documented components, each with a value, a weight and the messages behind it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .detectors import DetectionInput, detect_failures
from .features import (
    UPSET,
    Vectors,
    View,
    bot_turn_features,
    build_views,
    committed_weights,
    context_similarity,
    logistic,
    semantic_bot_turn_features,
    semantic_user_turn_features,
    signs_off,
    similarity,
    unit_vectors,
    user_turn_features,
)
from .types import Component, ConversationScore, Failure, Message, ScoringSettings

# Weights of the components; they add up to 1 so that health = 100 * (1 - weighted badness).
# docs/health-score.md gives the reasoning and the benchmark figures behind each number.
COMPONENT_WEIGHTS: Mapping[str, float] = {
    # bench/quality.py prints each component's own ROC-AUC: dissatisfaction ranks best, failures next, the
    # others near chance on the labelled sets. They keep a small weight because abandonment, souring and
    # effort matter in live chats that the benchmark cannot show (its timestamps are synthetic).
    "dissatisfaction": 0.70,
    "failures": 0.15,
    "sentiment": 0.05,
    "resolution": 0.05,
    "effort": 0.05,
}

# How much one failure of each severity counts towards the `failures` component (combined as a noisy-OR).
SEVERITY_WEIGHTS: Mapping[str, float] = {"low": 0.15, "medium": 0.35, "high": 0.6}

# Bot-turn cues that mean failure whatever a labelled set says (the learned model leaves them out, see
# bench/train_scoring.py): each adds to the learned probability as a noisy-OR with this strength.
HARD_BOT_CUES: Mapping[str, float] = {"error": 0.7, "refusal": 0.35, "fallback": 0.35}

_EFFORT_FREE_TURNS = 4  # user turns any simple request may need before effort starts to count
_EFFORT_FULL_TURNS = 20  # user turns at which effort counts fully


def _noisy_or(probabilities: Sequence[float]) -> float:
    remaining = 1.0
    for p in probabilities:
        remaining *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - remaining


def _clamp(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _centroid(model: Mapping[str, Any]) -> np.ndarray | None:
    raw = model.get("complaint_centroid")
    return np.asarray(raw, dtype=np.float64) if raw else None


def user_turn_rows(
    views: Sequence[View], vectors: Vectors | None, centroid: np.ndarray | None
) -> dict[int, dict[str, float]]:
    """Return the dissatisfaction-model features of every user turn (semantic ones too when vectors are given)."""
    rows: dict[int, dict[str, float]] = {}
    for v in views:
        if v.role != "user":
            continue
        row = user_turn_features(views, v)
        if vectors is not None:
            row.update(semantic_user_turn_features(views, vectors, v, centroid))
        rows[v.index] = row
    return rows


def _user_turn_risks(rows: Mapping[int, Mapping[str, float]], model: Mapping[str, Any]) -> dict[int, float]:
    weights = model["weights"]
    intercept = model["intercept"]
    return {i: logistic(weights, intercept, row) for i, row in rows.items()}


def _dissatisfaction(risks: Mapping[int, float], settings: ScoringSettings) -> Component:
    value = _noisy_or(list(risks.values()))
    top = sorted(risks.items(), key=lambda kv: -kv[1])
    evidence = tuple(sorted(i for i, p in top[:5] if p >= settings.turn_risk_evidence))
    return _component("dissatisfaction", value, evidence, {"turn_risk": {str(i): round(risks[i], 3) for i in evidence}})


def _failures(failures: Sequence[Failure]) -> Component:
    value = _noisy_or([SEVERITY_WEIGHTS[f.severity] for f in failures])
    counts: dict[str, int] = {}
    for f in failures:
        counts[f.type] = counts.get(f.type, 0) + 1
    return _component("failures", value, tuple(sorted({f.message_index for f in failures})), {"by_type": counts})


def _sentiment(views: Sequence[View]) -> Component:
    user = [v for v in views if v.role == "user" and v.sentiment is not None]
    if not user:
        return _component("sentiment", 0.0, (), {"mean": None, "trend": None})
    scores = [v.sentiment or 0.0 for v in user]
    mean = sum(scores) / len(scores)
    half = max(1, len(scores) // 2)
    trend = sum(scores[-half:]) / half - sum(scores[:half]) / half
    # Level: support chats are mildly positive (thanks, great); anything below +0.3 starts to cost.
    # Trajectory: a conversation that sours costs even when its average is fine.
    value = _clamp((0.3 - mean) / 1.3 + 0.5 * max(0.0, -trend))
    evidence = tuple(v.index for v in user if (v.sentiment or 0.0) <= -0.3)
    return _component("sentiment", value, evidence, {"mean": round(mean, 3), "trend": round(trend, 3)})


def _resolution(views: Sequence[View], failures: Sequence[Failure]) -> Component:
    talk = [v for v in views if v.role in ("user", "assistant")]
    if not talk:
        return _component("resolution", 0.0, (), {"state": "empty"})
    abandoned = [f for f in failures if f.type == "abandonment"]
    last_user = next((v for v in reversed(talk) if v.role == "user"), None)
    if abandoned:
        return _component("resolution", 1.0, (abandoned[0].message_index,), {"state": "abandoned"})
    if last_user is not None and last_user.cues & UPSET:
        return _component("resolution", 0.8, (last_user.index,), {"state": "ended_upset"})
    if last_user is not None and signs_off(last_user):
        return _component("resolution", 0.0, (last_user.index,), {"state": "closed_by_user"})
    return _component("resolution", 0.3, (talk[-1].index,), {"state": "open"})


def _effort(views: Sequence[View], failures: Sequence[Failure]) -> Component:
    user_turns = sum(1 for v in views if v.role == "user")
    extra = (user_turns - _EFFORT_FREE_TURNS) / (_EFFORT_FULL_TURNS - _EFFORT_FREE_TURNS)
    repeats = [f for f in failures if f.type == "repetition" and f.evidence.get("side") == "user"]
    value = _clamp(extra + 0.25 * len(repeats))
    return _component(
        "effort",
        value,
        tuple(f.message_index for f in repeats),
        {"user_turns": user_turns, "repeated_requests": len(repeats)},
    )


def _component(name: str, value: float, evidence: tuple[int, ...], detail: Mapping[str, Any]) -> Component:
    weight = COMPONENT_WEIGHTS[name]
    return Component(name, value, weight, 100.0 * weight * value, evidence, detail)


def bot_turn_rows(
    views: Sequence[View],
    messages: Sequence[Message],
    risks: Mapping[int, float],
    failures: Sequence[Failure],
    vectors: Vectors | None,
    centroid: np.ndarray | None,
) -> dict[int, dict[str, float]]:
    """Return the failure-model features of every assistant turn (semantic ones too when vectors are given)."""
    blamed = {f.related_index for f in failures if f.related_index is not None}
    blamed |= {f.message_index for f in failures}
    bots = [v for v in views if v.role == "assistant"]
    # How badly the user fares across the whole conversation: a bot that keeps losing the user is
    # more likely to be failing on any given turn, even one whose own reaction is ambiguous.
    top = sorted(risks.values(), reverse=True)[:3]
    struggle = sum(top) / 3 if top else 0.0
    rows = {
        v.index: bot_turn_features(
            views,
            v,
            risks=risks,
            error=bool(messages[v.index].metadata.get("error")),
            blamed=v.index in blamed,
            struggle=struggle,
            off_topic_share=0.0,
        )
        for v in bots
    }
    if rows:
        share = sum(r["ignores_topic"] for r in rows.values()) / len(rows)
        context_share = sum(r["ignores_context"] for r in rows.values()) / len(rows)
        for r in rows.values():
            r["off_topic_conversation"] = share
            r["ignores_context_conversation"] = context_share
    if vectors is not None:
        answered = [similarity(vectors, v.index, v.previous_user) for v in bots]
        known = [max(0.0, a) for a in answered if a is not None]
        off_mean = 1.0 - sum(known) / len(known) if known else 0.0
        in_context = [c for c in (context_similarity(vectors, v.index) for v in bots) if c is not None]
        off_context_mean = 1.0 - sum(max(0.0, c) for c in in_context) / len(in_context) if in_context else 0.0
        for v in bots:
            rows[v.index].update(
                semantic_bot_turn_features(
                    views, vectors, v, centroid=centroid, off_request_mean=off_mean, off_context_mean=off_context_mean
                )
            )
    return rows


def bot_turn_evidence(rows: Mapping[int, Mapping[str, float]], model: Mapping[str, Any]) -> dict[int, float]:
    """Return, per assistant message index, the 0..1 probability that the turn is a breakdown (ranks bot turns)."""
    weights = model["weights"]
    intercept = model["intercept"]
    evidence: dict[int, float] = {}
    for i, row in rows.items():
        hard = [w * row.get(name, 0.0) for name, w in HARD_BOT_CUES.items()]
        evidence[i] = round(_noisy_or([logistic(weights, intercept, row), *hard]), 6)
    return evidence


def score_views(
    messages: Sequence[Message],
    *,
    ended: bool,
    embeddings: Sequence[Sequence[float] | None] | None,
    settings: ScoringSettings,
    sentiments: Sequence[float | None] | None = None,
) -> ConversationScore:
    """Score already-coerced messages; see `analytics.scoring.score_conversation` for the contract."""
    views = build_views(messages, sentiments)
    vectors = unit_vectors(embeddings) if embeddings is not None else None
    failures = detect_failures(
        DetectionInput(views=views, messages=messages, vectors=vectors, ended=ended, settings=settings)
    )
    model = settings.model_weights or committed_weights()
    centroid = _centroid(model)
    # Each learned model has a lexical and an embeddings variant: the variant follows what the caller gave.
    suffix = "_embeddings" if vectors is not None else ""
    risks = _user_turn_risks(user_turn_rows(views, vectors, centroid), model["user_turn_model" + suffix])
    components = (
        _dissatisfaction(risks, settings),
        _failures(failures),
        _sentiment(views),
        _resolution(views, failures),
        _effort(views, failures),
    )
    health = round(100.0 - sum(c.points for c in components), 2)
    bot_rows = bot_turn_rows(views, messages, risks, failures, vectors, centroid)
    return ConversationScore(
        health=min(max(health, 0.0), 100.0),
        sentiments=tuple(v.sentiment for v in views),
        failures=tuple(failures),
        components=components,
        turn_failure_evidence=bot_turn_evidence(bot_rows, model["bot_turn_model" + suffix]),
        user_turn_risk={i: round(p, 6) for i, p in risks.items()},
        with_embeddings=vectors is not None,
    )
