"""Plain data types of the scoring package: what goes in (messages, settings) and what comes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

ROLES = ("user", "assistant", "system", "tool")
SEVERITIES = ("low", "medium", "high")

FAILURE_TYPES = (
    "bot_fallback",
    "refusal",
    "user_frustration",
    "user_correction",
    "human_handoff_request",
    "repetition",
    "irrelevant_answer",
    "abandonment",
    "error",
)


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation; `metadata` may hold model, latency_ms, tokens and error."""

    role: str
    content: str
    timestamp: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Message | Mapping[str, Any]) -> Message:
        """Return `value` as a Message; a mapping needs `role` and `content`, the rest is optional."""
        if isinstance(value, Message):
            return value
        return cls(
            role=str(value["role"]),
            content=str(value.get("content") or ""),
            timestamp=value.get("timestamp"),
            metadata=value.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    """Thresholds a deployment may change; the defaults are the ones the benchmark figures were made with."""

    # A reply slower than this is an `error` (medium); three times slower is high severity.
    latency_threshold_ms: float = 15_000.0
    # Cosine similarity (all-MiniLM-L6-v2) below which an answer is judged not to address the request.
    # Task-bot answers ("Which day?") often sit at 0.1-0.3 from a fine request, so the bar is low.
    irrelevant_embedding_similarity: float = 0.05
    # Share of a user turn's content words found again in an earlier user turn: the request is asked again.
    repetition_overlap: float = 0.6
    # The same share for a bot turn. A bot's turns share their templates ("Please confirm: … 8 am"), so a bot
    # repeats itself only when it adds (almost) nothing new: at 0.6 the detector fired in 64% of the SGD
    # conversations, nearly all re-confirmations after the user changed a detail (bench/quality.py).
    bot_repetition_overlap: float = 0.9
    # A user turn whose dissatisfaction probability reaches this is listed as evidence.
    turn_risk_evidence: float = 0.15
    # A bot turn whose failure evidence reaches this is marked on the conversation page: 11.7% of the chit-chat
    # bots' turns in DBDC3 (29.5% of those are breakdowns, against 16.1% of all; out-of-fold), 3.2% / 0.9% of
    # SGD's / MultiWOZ's (bench/quality.py, `notable_bot_turns`).
    bot_turn_evidence: float = 0.3
    # Failures of one type kept per conversation (the most severe, then the earliest): a bot or a script that
    # sends the same line a thousand times is one problem, not 450 rows on the Failures page.
    max_failures_per_type: int = 20
    # Replaces the committed model weights (used by the benchmark's out-of-fold evaluation).
    model_weights: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A detected failure: `message_index` is the evidence message, `related_index` the turn it reacts to."""

    type: str
    severity: str
    message_index: int
    explanation: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    related_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {**asdict(self), "evidence": dict(self.evidence)}


@dataclass(frozen=True, slots=True)
class Component:
    """One documented component of the health score: `value` is 0 (fine) … 1 (bad), `points` what it cost."""

    name: str
    value: float
    weight: float
    points: float
    evidence_indexes: tuple[int, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "value": round(self.value, 4),
            "weight": self.weight,
            "points": round(self.points, 2),
            "evidence_indexes": list(self.evidence_indexes),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class ConversationScore:
    """The result of `score_conversation`; `breakdown` is JSON-serialisable."""

    health: float
    sentiments: tuple[float | None, ...]
    failures: tuple[Failure, ...]
    components: tuple[Component, ...]
    # assistant message index -> 0..1 evidence that this bot turn failed (ranks bot turns), 6 decimals.
    turn_failure_evidence: Mapping[int, float]
    # user message index -> 0..1 probability that the user was dissatisfied at this turn, 6 decimals.
    user_turn_risk: Mapping[int, float]
    # Scored with message vectors (the models' embeddings variant, relevance by meaning), else by words alone.
    with_embeddings: bool = False

    @property
    def breakdown(self) -> dict[str, Any]:
        """Return the health score explained: each component's value, weight, points and evidence, and each
        turn's own figure (a user turn's dissatisfaction risk, a bot turn's failure evidence), keyed by index."""
        return {
            "health": self.health,
            "formula": "health = 100 - sum(points); points = 100 * weight * value",
            "scoring": "embeddings" if self.with_embeddings else "lexical",
            "components": {c.name: c.to_dict() for c in self.components},
            "turns": {
                "user_dissatisfaction": {str(i): p for i, p in self.user_turn_risk.items()},
                "bot_failure_evidence": {str(i): p for i, p in self.turn_failure_evidence.items()},
            },
        }

    @property
    def flagged_turns(self) -> frozenset[int]:
        """Return the assistant message indexes that some failure names as its evidence or cause."""
        return frozenset(
            i for f in self.failures for i in (f.message_index, f.related_index) if i is not None
        ) & frozenset(self.turn_failure_evidence)

    def to_dict(self) -> dict[str, Any]:
        """Return the whole result as a JSON-serialisable dict."""
        return {
            "health": self.health,
            "sentiments": list(self.sentiments),
            "failures": [f.to_dict() for f in self.failures],
            "breakdown": self.breakdown,  # holds the per-turn figures too
        }
