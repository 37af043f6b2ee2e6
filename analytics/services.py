"""Writes of the analytics pipeline: scoring a conversation, and the sweeps that keep scoring going."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from analytics.models import DeadLetter
from analytics.scoring import score_conversation
from conversations.models import Conversation, Failure, Message

logger = logging.getLogger(__name__)

_UPDATE_SENTIMENTS = """
UPDATE messages AS m SET sentiment_score = u.score
FROM unnest(%s::bigint[], %s::double precision[]) AS u(id, score)
WHERE m.id = u.id AND m.sentiment_score IS DISTINCT FROM u.score
"""

# Re-scoring refreshes what a failure says but never its status: an acknowledged failure stays so.
_UPSERT_FAILURES = """
INSERT INTO failures (id, conversation_id, message_id, type, severity, description, evidence, status,
                      detected_at, updated_at)
SELECT u.id, %s, u.message_id, u.type, u.severity, u.description, u.evidence, 'open', %s, %s
FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::jsonb[])
     AS u(id, message_id, type, severity, description, evidence)
ON CONFLICT (conversation_id, type, message_id) DO UPDATE SET
    severity = EXCLUDED.severity,
    description = EXCLUDED.description,
    evidence = EXCLUDED.evidence,
    updated_at = CASE
        WHEN (failures.severity, failures.description, failures.evidence)
             IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.description, EXCLUDED.evidence)
        THEN EXCLUDED.updated_at ELSE failures.updated_at END
"""


def _with_message_ids(breakdown: dict, message_ids: list[int]) -> dict:
    """The breakdown with each component's evidence given as message ids beside the indexes."""
    for component in breakdown.get("components", {}).values():
        component["evidence_message_ids"] = [message_ids[i] for i in component.get("evidence_indexes", [])]
    return breakdown


@transaction.atomic
def conversation_score(*, conversation_id: str | uuid.UUID) -> Conversation | None:
    """Score a conversation and store sentiment, failures and health; idempotent (safe to run twice).

    Returns the conversation, or None if it no longer exists. The row stays locked while scoring,
    so messages that arrive meanwhile wait, then mark it `pending` again and enqueue a new scoring.
    """
    conversation = Conversation.objects.select_for_update(of=("self",)).filter(id=conversation_id).first()
    if conversation is None:
        return None
    rows = list(
        Message.objects.filter(conversation_id=conversation.id)
        .order_by("timestamp", "position", "id")
        .values_list("id", "role", "content", "timestamp", "metadata")
    )
    message_ids = [row[0] for row in rows]
    messages = [{"role": r, "content": c, "timestamp": t, "metadata": m} for _, r, c, t, m in rows]
    score = score_conversation(messages, ended=conversation.ended_at is not None)
    now = timezone.now()

    with connection.cursor() as cursor:
        scored = [(i, s) for i, s in zip(message_ids, score.sentiments, strict=True) if s is not None]
        if scored:
            cursor.execute(_UPDATE_SENTIMENTS, [[i for i, _ in scored], [s for _, s in scored]])
        failures = [f for f in score.failures if 0 <= f.message_index < len(message_ids)]
        if failures:
            cursor.execute(
                _UPSERT_FAILURES,
                [
                    conversation.id,
                    now,
                    now,
                    [uuid.uuid4() for _ in failures],
                    [message_ids[f.message_index] for f in failures],
                    [f.type for f in failures],
                    [f.severity for f in failures],
                    [f.explanation for f in failures],
                    [Jsonb({**f.to_dict()["evidence"], "message_index": f.message_index}) for f in failures],
                ],
            )
    # Open failures that this scoring no longer finds are withdrawn; acknowledged or resolved ones stay.
    detected = {(f.type, message_ids[f.message_index]) for f in failures}
    stale = [
        failure_id
        for failure_id, kind, message_id in Failure.objects.filter(
            conversation_id=conversation.id, status=Failure.Status.OPEN
        ).values_list("id", "type", "message_id")
        if (kind, message_id) not in detected
    ]
    if stale:
        Failure.objects.filter(id__in=stale).delete()

    failure_count = Failure.objects.filter(conversation_id=conversation.id).count()
    user_sentiments = [
        sentiment
        for sentiment, message in zip(score.sentiments, messages, strict=True)
        if sentiment is not None and message["role"] == "user"
    ]
    Conversation.objects.filter(id=conversation.id).update(
        health_score=score.health,
        health_breakdown=_with_message_ids(score.breakdown, message_ids),
        sentiment_summary={
            "user_mean": round(sum(user_sentiments) / len(user_sentiments), 4) if user_sentiments else None,
            "user_min": min(user_sentiments, default=None),
            "user_last": user_sentiments[-1] if user_sentiments else None,
        },
        has_failures=failure_count > 0,
        failure_count=failure_count,
        processing_state=Conversation.ProcessingState.SCORED,
        processed_at=now,
    )
    conversation.refresh_from_db()
    return conversation


def conversations_unscored_ids(*, older_than: timedelta, limit: int) -> list[str]:
    """Ids of conversations still waiting to be scored after `older_than` (the sweep's work list)."""
    cutoff = timezone.now() - older_than
    return [
        str(conversation_id)
        for conversation_id in Conversation.objects.exclude(processing_state=Conversation.ProcessingState.SCORED)
        .filter(updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("id", flat=True)[:limit]
    ]


def conversations_mark_ended(*, idle_for: timedelta | None = None) -> list[str]:
    """Mark conversations idle for CONVERSATION_IDLE_MINUTES as ended; returns their ids (to re-score)."""
    idle_for = idle_for or timedelta(minutes=settings.CONVERSATION_IDLE_MINUTES)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Conversation.objects.filter(ended_at__isnull=True, last_message_at__lt=now - idle_for)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:1000]
        )
        Conversation.objects.filter(id__in=ids).update(
            ended_at=now, processing_state=Conversation.ProcessingState.PENDING
        )
    return [str(conversation_id) for conversation_id in ids]


def dead_letter_record(*, task_name: str, args: list, kwargs: dict, error: str, attempts: int) -> DeadLetter:
    """Keep a task that failed for good, for an operator to see and replay."""
    dead_letter = DeadLetter.objects.create(
        task_name=task_name, args=list(args), kwargs=dict(kwargs), error=error[:10_000], attempts=attempts
    )
    logger.error("task.dead_lettered", extra={"task": task_name, "dead_letter_id": dead_letter.id})
    return dead_letter


def dead_letter_replay(*, dead_letter: DeadLetter) -> DeadLetter:
    """Send the task again, as it was first sent, and note the replay."""
    from convosensei.celery import app

    app.send_task(dead_letter.task_name, args=dead_letter.args, kwargs=dead_letter.kwargs)
    DeadLetter.objects.filter(id=dead_letter.id).update(
        replayed_at=timezone.now(), replay_count=dead_letter.replay_count + 1
    )
    dead_letter.refresh_from_db()
    return dead_letter
