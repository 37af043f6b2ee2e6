"""Reads of the analytics app."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from pgvector.django import CosineDistance

from analytics.embeddings import embeddings_available
from analytics.models import ConversationEmbedding, DeadLetter, UsagePattern
from conversations.models import Conversation


def dead_letter_list_pending(*, ids: list[int] | None = None, include_replayed: bool = False) -> QuerySet[DeadLetter]:
    """Dead letters to replay, oldest first: those never replayed, or all of them."""
    dead_letters = DeadLetter.objects.order_by("created_at")
    if ids:
        dead_letters = dead_letters.filter(id__in=ids)
    if not include_replayed:
        dead_letters = dead_letters.filter(replayed_at__isnull=True)
    return dead_letters


def conversation_similar(*, conversation_id: str | uuid.UUID, limit: int = 10) -> list[tuple[Conversation, float]]:
    """The conversations whose text is closest to this one's, closest first, as (conversation, cosine distance).

    An approximate nearest-neighbour search on the HNSW cosine index (ORDER BY embedding <=> vector LIMIT n),
    so it stays fast on millions of rows; pgvector's default hnsw.ef_search (40) bounds how many it can
    return. Empty when the conversation has no embedding or the database has no pgvector.
    """
    if not embeddings_available():
        return []
    vector = ConversationEmbedding.objects.filter(conversation_id=conversation_id).values_list("embedding", flat=True)
    target = vector.first()
    if target is None:
        return []
    nearest = conversation_embeddings_nearest(vector=target, exclude_conversation_id=conversation_id)[:limit]
    return [(row.conversation, float(row.distance)) for row in nearest]


def conversation_embeddings_nearest(
    *, vector, exclude_conversation_id: str | uuid.UUID | None = None
) -> QuerySet[ConversationEmbedding]:
    """Stored embeddings by cosine distance to `vector` (annotated `distance`), nearest first; slice it.

    Written as ORDER BY embedding <=> vector so that PostgreSQL can walk the HNSW cosine index.
    """
    rows = ConversationEmbedding.objects.select_related("conversation")
    if exclude_conversation_id is not None:
        rows = rows.exclude(conversation_id=exclude_conversation_id)
    return rows.annotate(distance=CosineDistance("embedding", vector)).order_by("distance")


def usage_patterns_for_period(*, since, until) -> QuerySet[UsagePattern]:
    """The stored patterns of exactly this period, largest first."""
    return UsagePattern.objects.filter(period_start=since, period_end=until).order_by("-size", "label")
