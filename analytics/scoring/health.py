"""The health score: documented components, each with a value, a weight and the messages behind it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .detectors import DetectionInput, detect_failures
from .features import View, build_views, committed_weights, logistic, user_turn_features
from .types import Component, ConversationScore, Failure, Message, ScoringSettings

# Weights of the components; they add up to 1 so that health = 100 * (1 - weighted badness).
# docs/health-score.md gives the reasoning and the benchmark figures behind each number.
COMPONENT_WEIGHTS: Mapping[str, float] = {
    "dissatisfaction": 0.50,
    "failures": 0.25,
    "sentiment": 0.10,
    "resolution": 0.10,
    "effort": 0.05,
}

# How much one failure of each severity counts towards the `failures` component (combined as a noisy-OR).
SEVERITY_WEIGHTS: Mapping[str, float] = {"low": 0.15, "medium": 0.35, "high": 0.6}

# Strength of each cue as evidence that a bot turn failed (combined as a noisy-OR, see bot_turn_evidence).
BOT_TURN_CUE_WEIGHTS: Mapping[str, float] = {
    # The next user turn's dissatisfaction probability. The user-turn model learnt task-oriented chats; on
    # chit-chat its reaction cues carry over only weakly (bench/quality.py on DBDC3), hence the modest weight.
    "user_reaction": 0.4,
    "fallback": 0.35,
    "refusal": 0.35,
    "unable": 0.2,
    "error": 0.7,
    "echo": 0.5,
    "self_repetition": 0.35,
    "ignores_topic": 0.25,
    "blamed_by_failure": 0.15,
    "struggling_conversation": 0.4,
}

_EFFORT_FREE_TURNS = 4  # user turns any simple request may need before effort starts to count
_EFFORT_FULL_TURNS = 20  # user turns at which effort counts fully


def _noisy_or(probabilities: Sequence[float]) -> float:
    remaining = 1.0
    for p in probabilities:
        remaining *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - remaining


def _clamp(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _user_turn_risks(views: Sequence[View], model: Mapping[str, Any]) -> dict[int, float]:
    weights = model["weights"]
    intercept = model["intercept"]
    return {v.index: logistic(weights, intercept, user_turn_features(views, v)) for v in views if v.role == "user"}


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
    if last_user is not None and last_user.cues & {"frustration", "confusion", "correction", "handoff"}:
        return _component("resolution", 0.8, (last_user.index,), {"state": "ended_upset"})
    if last_user is not None and last_user.cues & {"thanks", "closing"}:
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


def bot_turn_evidence(
    views: Sequence[View],
    messages: Sequence[Message],
    risks: Mapping[int, float],
    failures: Sequence[Failure],
) -> dict[int, float]:
    """Return, per assistant message index, a 0..1 evidence that the turn failed (for ranking bot turns)."""
    w = BOT_TURN_CUE_WEIGHTS
    blamed = {f.related_index for f in failures if f.related_index is not None}
    blamed |= {f.message_index for f in failures}
    bots = [v for v in views if v.role == "assistant"]
    user_risks = list(risks.values())
    # How badly the user fares across the whole conversation: a bot that keeps losing the user is
    # more likely to be failing on any given turn, even one whose own reaction is ambiguous.
    struggle = sum(sorted(user_risks, reverse=True)[:3]) / 3 if user_risks else 0.0
    evidence: dict[int, float] = {}
    for v in bots:
        user = views[v.previous_user] if v.previous_user is not None else None
        echo = user is not None and v.content.strip().lower() == user.content.strip().lower() != ""
        repeat = 0.0
        if len(v.content_words) >= 2:
            for other in bots:
                if other.index >= v.index:
                    break
                if v.content_words <= other.content_words:
                    repeat = 1.0
                    break
        ignores = (
            user is not None
            and len(user.content_words) >= 1
            and len(v.content_words) >= 2
            and not user.content_words & v.content_words
        )
        cues = {
            "user_reaction": risks.get(v.next_user, 0.0) if v.next_user is not None else 0.0,
            "fallback": float("fallback" in v.cues),
            "refusal": float("refusal" in v.cues),
            "unable": float("unable" in v.cues),
            "error": float(bool(messages[v.index].metadata.get("error")) or "error_text" in v.cues),
            "echo": float(echo),
            "self_repetition": repeat,
            "ignores_topic": float(ignores),
            "blamed_by_failure": float(v.index in blamed),
            "struggling_conversation": struggle,
        }
        evidence[v.index] = round(_noisy_or([w[name] * x for name, x in cues.items()]), 6)
    return evidence


def score_views(
    messages: Sequence[Message],
    *,
    ended: bool,
    embeddings: Sequence[Sequence[float] | None] | None,
    settings: ScoringSettings,
) -> ConversationScore:
    """Score already-coerced messages; see `analytics.scoring.score_conversation` for the contract."""
    views = build_views(messages)
    failures = detect_failures(
        DetectionInput(views=views, messages=messages, embeddings=embeddings, ended=ended, settings=settings)
    )
    model = settings.model_weights or committed_weights()
    risks = _user_turn_risks(views, model["user_turn_model"])
    components = (
        _dissatisfaction(risks, settings),
        _failures(failures),
        _sentiment(views),
        _resolution(views, failures),
        _effort(views, failures),
    )
    health = round(100.0 - sum(c.points for c in components), 2)
    return ConversationScore(
        health=min(max(health, 0.0), 100.0),
        sentiments=tuple(v.sentiment for v in views),
        failures=tuple(failures),
        components=components,
        turn_failure_evidence=bot_turn_evidence(views, messages, risks, failures),
        user_turn_risk={i: round(p, 6) for i, p in risks.items()},
    )
