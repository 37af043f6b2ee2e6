"""Reads behind the dashboard's overview and pattern pages: daily series, health distribution, pattern history."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Avg, Count, Func, IntegerField, Value
from django.db.models.functions import Trunc

from analytics.models import UsagePattern
from conversations.models import Conversation


def overview_daily_series(*, start: datetime, end: datetime) -> list[dict]:
    """Per UTC day of the last message: conversations and average health, oldest first."""
    return list(
        Conversation.objects.filter(last_message_at__gte=start, last_message_at__lt=end)
        .annotate(day=Trunc("last_message_at", "day", tzinfo=UTC))
        .values("day")
        .annotate(conversations=Count("id"), avg_health=Avg("health_score"))
        .order_by("day")
    )


class _WidthBucket(Func):
    function = "width_bucket"
    output_field = IntegerField()


def overview_health_distribution(*, start: datetime, end: datetime) -> list[int]:
    """How many scored conversations fall in each health band 0–9, 10–19, …, 90–100 (ten counts)."""
    rows = (
        Conversation.objects.filter(last_message_at__gte=start, last_message_at__lt=end, health_score__isnull=False)
        .annotate(band=_WidthBucket("health_score", Value(0.0), Value(100.0001), Value(10)))
        .values("band")
        .annotate(count=Count("id"))
    )
    counts = [0] * 10
    for row in rows:
        counts[min(max(row["band"], 1), 10) - 1] += row["count"]
    return counts


def pattern_size_history(*, lineage_ids: list, periods: int = 8) -> dict:
    """lineage id -> sizes of its last `periods` periods, oldest first (for trend sparklines)."""
    history: dict = {}
    rows = (
        UsagePattern.objects.filter(lineage_id__in=lineage_ids).order_by("period_end").values_list("lineage_id", "size")
    )
    for lineage_id, size in rows:
        history.setdefault(lineage_id, []).append(size)
    return {lineage_id: sizes[-periods:] for lineage_id, sizes in history.items()}


def pattern_get(*, pattern_id):
    return UsagePattern.objects.select_related("representative_conversation").filter(id=pattern_id).first()
