"""Reads of the analytics app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, tzinfo

from django.db import connection, transaction
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Trunc
from django.utils import timezone
from pgvector.django import CosineDistance

from analytics.embeddings import embeddings_available
from analytics.models import ConversationEmbedding, DeadLetter, UsagePattern
from conversations.models import Conversation, Failure


def uuids_among(values: list) -> list[uuid.UUID]:
    """The values that are UUIDs (a task's arguments, a dead letter's: one that is not names no row)."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def conversations_scored_among(*, conversation_ids: list[str]) -> list[str]:
    """Those of these ids that name a conversation in the `scored` state."""
    scored = Conversation.objects.filter(
        id__in=uuids_among(conversation_ids), processing_state=Conversation.ProcessingState.SCORED
    )
    return [str(conversation_id) for conversation_id in scored.values_list("id", flat=True)]


def dead_letter_list_pending(*, ids: list[int] | None = None, include_replayed: bool = False) -> QuerySet[DeadLetter]:
    """Dead letters to replay, oldest first: those never replayed, or all of them."""
    dead_letters = DeadLetter.objects.order_by("created_at")
    if ids:
        dead_letters = dead_letters.filter(id__in=ids)
    if not include_replayed:
        dead_letters = dead_letters.filter(replayed_at__isnull=True)
    return dead_letters


def pipeline_attention(*, waiting_longer_than: timedelta) -> dict:
    """What in the pipeline needs the admin's look: `waiting`, the conversations waiting to be scored for longer than
    `waiting_longer_than` (no worker running, or one falling behind), and `waiting_since`, the oldest of their last
    changes; `scoring_failed`, the conversations whose scoring was given up; `dead_letters`, those not replayed.

    Meant to stay cheap: the conversations not scored have a partial index of their own (updated_at, where not
    scored), and dead letters are few; its cost on a large backlog is not measured."""
    pending = ~Q(processing_state=Conversation.ProcessingState.FAILED) & Q(
        updated_at__lt=timezone.now() - waiting_longer_than
    )
    figures = Conversation.objects.exclude(processing_state=Conversation.ProcessingState.SCORED).aggregate(
        waiting=Count("id", filter=pending),
        waiting_since=Min("updated_at", filter=pending),
        scoring_failed=Count("id", filter=Q(processing_state=Conversation.ProcessingState.FAILED)),
    )
    return {**figures, "dead_letters": dead_letter_list_pending().count()}


def conversation_similar(*, conversation_id: str | uuid.UUID, limit: int = 10) -> list[tuple[Conversation, float]]:
    """The conversations whose text is closest to this one's, closest first, as (conversation, cosine distance);
    each conversation also carries `similarity` (1 − distance).

    An approximate nearest-neighbour search on the HNSW cosine index (ORDER BY embedding <=> vector LIMIT n),
    so it stays fast on millions of rows. The index scan is iterative (pgvector's hnsw.iterative_scan,
    strict order): it reads on past rows it cannot return (this conversation, deleted ones not yet vacuumed)
    instead of stopping at hnsw.ef_search (40) candidates. It can still come back short when the rows nearest
    the query were deleted and not yet vacuumed (pgvector issue #549; reproduced in the tests): with fewer
    than `limit` found, the table is read instead, which is exact. Measured once (random vectors, 2 cores) that
    costs 7 ms at 20,000 stored vectors and 32 ms at 100,000 (the index: 0.9 / 4.3 ms), about 0.3 s a million;
    outside the dead-rows case a search comes back short only on a table of `limit` rows or fewer.
    Empty when the conversation has no embedding or the database has no pgvector.
    """
    if not embeddings_available():
        return []
    vector = ConversationEmbedding.objects.filter(conversation_id=conversation_id).values_list("embedding", flat=True)
    target = vector.first()
    if target is None:
        return []
    nearest = _nearest(target, conversation_id, limit, exact=False)
    if len(nearest) < limit:
        nearest = _nearest(target, conversation_id, limit, exact=True)
    conversations = Conversation.objects.in_bulk([other_id for other_id, _ in nearest])
    found = []
    for other_id, distance in nearest:
        if (other := conversations.get(other_id)) is not None:  # deleted since: skipped
            other.similarity = round(1.0 - float(distance), 6)  # what the API and pages show
            found.append((other, float(distance)))
    return found


def _nearest(vector, conversation_id, limit: int, *, exact: bool) -> list[tuple[uuid.UUID, float]]:
    """(conversation id, distance) of the `limit` nearest stored vectors: by the HNSW index, or by reading all."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off" if exact else "SET LOCAL hnsw.iterative_scan = strict_order")
        rows = conversation_embeddings_nearest(vector=vector, exclude_conversation_id=conversation_id)
        return list(rows.values_list("conversation_id", "distance")[:limit])


def conversation_embeddings_nearest(
    *, vector, exclude_conversation_id: str | uuid.UUID | None = None
) -> QuerySet[ConversationEmbedding]:
    """Stored embeddings by cosine distance to `vector` (annotated `distance`), nearest first; slice it.

    Written as ORDER BY embedding <=> vector so that PostgreSQL can walk the HNSW cosine index.
    """
    rows = ConversationEmbedding.objects.all()
    if exclude_conversation_id is not None:
        rows = rows.exclude(conversation_id=exclude_conversation_id)
    return rows.annotate(distance=CosineDistance("embedding", vector)).order_by("distance")


def usage_patterns_for_period(*, since, until) -> QuerySet[UsagePattern]:
    """The stored patterns of exactly this period, largest first."""
    return UsagePattern.objects.filter(period_start=since, period_end=until).order_by("-size", "label")


# --- the dashboard API's analytics and the overview page -----------------------------------------------


def _period_figures(row: dict) -> dict:
    conversations = row.get("conversations", 0)
    avg_health = row.get("avg_health")
    return {
        "conversations": conversations,
        "messages": row.get("messages") or 0,
        "avg_health": round(avg_health, 2) if avg_health is not None else None,
        "scored": row.get("scored", 0),
        "with_failures": row.get("with_failures", 0),
        # Of the scored ones, as the average health: a scoring backlog must not read as fewer failures.
        "failure_share": round(row["with_failures"] / row["scored"], 4) if row.get("scored") else None,
    }


def analytics_summary(*, start: datetime, end: datetime) -> dict:
    """Figures of the conversations active in [start, end) and of the period of the same length before.

    Returns {"current": {...}, "previous": {...}} with conversations, messages (of those conversations),
    scored (how many of them are), avg_health, with_failures and failure_share (how many had a failure, and
    their share) of the scored ones, and open_failures (detected in the period and still open).
    """
    previous_start = start - (end - start)
    # One pass over both periods, grouped by period: a third of the time of FILTERed aggregates per period.
    by_period = {
        row["current"]: row
        for row in Conversation.objects.filter(last_message_at__gte=previous_start, last_message_at__lt=end)
        .annotate(current=ExpressionWrapper(Q(last_message_at__gte=start), output_field=BooleanField()))
        .values("current")
        .annotate(
            conversations=Count("id"),
            messages=Sum("message_count"),
            avg_health=Avg("health_score"),
            scored=Count("health_score"),
            with_failures=Count("id", filter=Q(has_failures=True, health_score__isnull=False)),
        )
        .order_by()
    }
    open_failures = dict(
        Failure.objects.filter(status=Failure.Status.OPEN, detected_at__gte=previous_start, detected_at__lt=end)
        .annotate(current=ExpressionWrapper(Q(detected_at__gte=start), output_field=BooleanField()))
        .values("current")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("current", "count")
    )
    return {
        period: {**_period_figures(by_period.get(current, {})), "open_failures": open_failures.get(current, 0)}
        for period, current in (("current", True), ("previous", False))
    }


def pattern_top_list(*, limit: int) -> tuple[uuid.UUID | None, list[UsagePattern]]:
    """The latest analysis run's patterns, largest first: (run id or None, patterns).

    The latest run is that of the most recent period; of runs of periods ending alike (the weekly one and one by hand
    over its last days), the newer.
    """
    latest = UsagePattern.objects.order_by("-period_end", "-created_at").values_list("analysis_run", flat=True).first()
    if latest is None:
        return None, []
    patterns = UsagePattern.objects.filter(analysis_run=latest).order_by("-size", "label")[:limit]
    return latest, list(patterns)


def failure_trend_points(*, start: datetime, end: datetime, bucket: str, zone: tzinfo = UTC) -> list[dict]:
    """Failures detected in [start, end) counted per bucket (`day` or `hour` of `zone`) and type, oldest first."""
    return list(
        Failure.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .annotate(bucket_start=Trunc("detected_at", bucket, tzinfo=zone))
        .values("bucket_start", "type")
        .annotate(count=Count("id"))
        .order_by("bucket_start", "type")
    )


def overview_series(*, start: datetime, end: datetime, bucket: str, zone: tzinfo = UTC) -> list[dict]:
    """Per bucket (`day` or `hour` of `zone`) of the last message: conversations and average health, oldest
    first; buckets without conversations are left out."""
    return list(
        Conversation.objects.filter(last_message_at__gte=start, last_message_at__lt=end)
        .annotate(bucket_start=Trunc("last_message_at", bucket, tzinfo=zone))
        .values("bucket_start")
        .annotate(conversations=Count("id"), avg_health=Avg("health_score"))
        .order_by("bucket_start")
    )


class _WidthBucket(Func):
    function = "width_bucket"
    output_field = IntegerField()


def overview_health_distribution(*, start: datetime, end: datetime) -> list[int]:
    """How many scored conversations fall in each health band 0–9, 10–19, …, 90–100 (ten counts) of the score in
    whole points, as pages show it and the health filters count it (9.5 shows as 10: in 10–19)."""
    # Bands of exactly 10 points over the score plus a half, so that a score is in the band of the whole points it
    # shows (rounded half up, as the pages round it), and the band 60–69 counts what health_min=60&health_max=69
    # lists (scores in [59.5, 69.5)); 99.5 and over get width_bucket's 11, counted in the last band below.
    rows = (
        Conversation.objects.filter(last_message_at__gte=start, last_message_at__lt=end, health_score__isnull=False)
        .annotate(band=_WidthBucket(F("health_score") + Value(0.5), Value(0.0), Value(100.0), Value(10)))
        .values("band")
        .annotate(count=Count("id"))
    )
    counts = [0] * 10
    for row in rows:
        counts[min(max(row["band"], 1), 10) - 1] += row["count"]
    return counts


def pattern_size_history(*, lineage_ids: list, periods: int = 8, until: datetime | None = None) -> dict:
    """lineage id -> sizes of its last `periods` periods ending by `until` (default: all), oldest first (for trend
    sparklines). A period analysed twice (the weekly run and one by hand over its last days) counts once, with the
    newer run's size, as the overview and the patterns page take the newer run of periods ending alike."""
    rows = UsagePattern.objects.filter(lineage_id__in=lineage_ids)
    if until is not None:
        rows = rows.filter(period_end__lte=until)
    by_period: dict = {}
    for lineage_id, period_end, size in rows.order_by("period_end", "created_at").values_list(
        "lineage_id", "period_end", "size"
    ):
        by_period.setdefault(lineage_id, {})[period_end] = size  # the newer run's size replaces the older one's
    return {lineage_id: list(sizes.values())[-periods:] for lineage_id, sizes in by_period.items()}


def pattern_get(*, pattern_id):
    return UsagePattern.objects.select_related("representative_conversation").filter(id=pattern_id).first()
