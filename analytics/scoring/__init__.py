"""Conversation scoring in plain Python: sentiment, failure detectors and the health score (no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .health import COMPONENT_WEIGHTS, score_views
from .types import FAILURE_TYPES, Component, ConversationScore, Failure, Message, ScoringSettings

__all__ = [
    "COMPONENT_WEIGHTS",
    "FAILURE_TYPES",
    "Component",
    "ConversationScore",
    "Failure",
    "Message",
    "ScoringSettings",
    "score_conversation",
]

_DEFAULT_SETTINGS = ScoringSettings()


def score_conversation(
    messages: Sequence[Message | Mapping[str, Any]],
    *,
    ended: bool,
    embeddings: Sequence[Sequence[float] | None] | None = None,
    sentiments: Sequence[float | None] | None = None,
    settings: ScoringSettings | None = None,
) -> ConversationScore:
    """Score one conversation, deterministically; raise ValueError if embeddings or sentiments and messages
    differ in size.

    `messages` are Message objects or mappings with role, content and optional timestamp and metadata;
    `ended` says the conversation is over (only then is abandonment judged); `embeddings`, one vector or
    None per message, switches irrelevant-answer detection from lexical overlap to cosine similarity;
    `sentiments`, one VADER compound score or None per message, are scores computed by an earlier scoring
    (a message's text never changes): only the messages without one are run through VADER, and the result
    is the same as without them.
    """
    coerced = [Message.coerce(m) for m in messages]
    if embeddings is not None and len(embeddings) != len(coerced):
        raise ValueError(f"got {len(embeddings)} embeddings for {len(coerced)} messages")
    if sentiments is not None and len(sentiments) != len(coerced):
        raise ValueError(f"got {len(sentiments)} sentiments for {len(coerced)} messages")
    return score_views(
        coerced,
        ended=ended,
        embeddings=embeddings,
        sentiments=sentiments,
        settings=settings or _DEFAULT_SETTINGS,
    )
