"""Reads behind the dashboard API's analytics endpoints: summary, usage patterns, failure trends,
similar conversations. Each is one or two SQL statements whatever the window.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import Trunc
from pgvector.django import CosineDistance

from analytics.models import ConversationEmbedding, UsagePattern
from conversations.models import Conversation, Failure


def _period_figures(rows: dict, suffix: str) -> dict:
    conversations = rows[f"conversations_{suffix}"] or 0
    with_failures = rows[f"with_failures_{suffix}"] or 0
    return {
        "conversations": conversations,
        "messages": rows[f"messages_{suffix}"] or 0,
        "avg_health": round(rows[f"avg_health_{suffix}"], 2) if rows[f"avg_health_{suffix}"] is not None else None,
        "failure_share": round(with_failures / conversations, 4) if conversations else None,
    }


def analytics_summary(*, start: datetime, end: datetime) -> dict:
    """Figures of the conversations active in [start, end) and of the period of the same length before.

    Returns {"current": {...}, "previous": {...}} with conversations, messages (of those conversations),
    avg_health (of the scored ones), failure_share (share with a failure) and open_failures (detected in
    the period and still open).
    """
    previous_start = start - (end - start)
    current = Q(last_message_at__gte=start)
    previous = Q(last_message_at__lt=start)
    rows = Conversation.objects.filter(last_message_at__gte=previous_start, last_message_at__lt=end).aggregate(
        conversations_current=Count("id", filter=current),
        conversations_previous=Count("id", filter=previous),
        messages_current=Sum("message_count", filter=current),
        messages_previous=Sum("message_count", filter=previous),
        avg_health_current=Avg("health_score", filter=current),
        avg_health_previous=Avg("health_score", filter=previous),
        with_failures_current=Count("id", filter=current & Q(has_failures=True)),
        with_failures_previous=Count("id", filter=previous & Q(has_failures=True)),
    )
    failures = Failure.objects.filter(
        status=Failure.Status.OPEN, detected_at__gte=previous_start, detected_at__lt=end
    ).aggregate(
        current=Count("id", filter=Q(detected_at__gte=start)),
        previous=Count("id", filter=Q(detected_at__lt=start)),
    )
    summary = {"current": _period_figures(rows, "current"), "previous": _period_figures(rows, "previous")}
    summary["current"]["open_failures"] = failures["current"]
    summary["previous"]["open_failures"] = failures["previous"]
    return summary


def pattern_top_list(*, limit: int) -> tuple[uuid.UUID | None, list[UsagePattern]]:
    """The latest analysis run's patterns, largest first: (run id or None, patterns)."""
    latest = UsagePattern.objects.order_by("-period_end", "-size").values_list("analysis_run", flat=True).first()
    if latest is None:
        return None, []
    patterns = UsagePattern.objects.filter(analysis_run=latest).order_by("-size", "label")[:limit]
    return latest, list(patterns)


def failure_trend_points(*, start: datetime, end: datetime, bucket: str) -> list[dict]:
    """Failures detected in [start, end) counted per bucket (`day` or `hour`, UTC) and type, oldest first."""
    return list(
        Failure.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .annotate(bucket_start=Trunc("detected_at", bucket, tzinfo=UTC))
        .values("bucket_start", "type")
        .annotate(count=Count("id"))
        .order_by("bucket_start", "type")
    )


def conversation_similar_list(*, conversation_id: uuid.UUID, limit: int) -> list[Conversation]:
    """The `limit` conversations nearest to this one by cosine similarity (HNSW index), each with a
    `similarity` attribute; empty when this conversation has no embedding yet."""
    own = ConversationEmbedding.objects.filter(conversation_id=conversation_id).values_list("embedding", flat=True)
    vector = own.first()
    if vector is None:
        return []
    nearest = list(
        ConversationEmbedding.objects.exclude(conversation_id=conversation_id)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values_list("conversation_id", "distance")[:limit]
    )
    by_id = Conversation.objects.in_bulk([conversation_id for conversation_id, _ in nearest])
    similar = []
    for neighbour_id, distance in nearest:
        conversation = by_id.get(neighbour_id)
        if conversation is not None:
            conversation.similarity = round(1.0 - float(distance), 6)
            similar.append(conversation)
    return similar
