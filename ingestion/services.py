"""How a conversation gets in: validated items are upserted by `external_id` in one transaction,
and only the messages not seen before are inserted.

The statements are hand-written SQL over `unnest` arrays because they must report which messages
were new (`INSERT ... ON CONFLICT DO NOTHING RETURNING`), something `bulk_create` cannot tell, and
because one round trip per table per request is what makes a batch of 100 conversations cheap.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from convosensei.redis_client import redis_available, redis_failed
from ingestion.redaction import redact_pii

PROCESS_CONVERSATIONS_TASK = "analytics.process_conversations"


@dataclass(frozen=True)
class IngestResult:
    external_id: str
    conversation_id: uuid.UUID
    messages_added: int
    messages_present: int


def message_dedupe_key(message: dict) -> str:
    """The client's message id when given, else a hash of role, timestamp and content."""
    if message.get("id"):
        return f"id:{message['id']}"
    timestamp = message["timestamp"].astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{message['role']}\x1f{timestamp}\x1f{message['content']}".encode()).hexdigest()
    return f"h:{digest[:40]}"


def _merge_duplicates(conversations: list[dict]) -> list[dict]:
    """One item per external_id (a batch may carry the same conversation twice), sorted by it.

    Sorting makes concurrent batches lock conversation rows in the same order: no deadlocks.
    """
    merged: dict[str, dict] = {}
    for item in conversations:
        existing = merged.get(item["external_id"])
        if existing is None:
            merged[item["external_id"]] = {**item, "messages": list(item["messages"])}
        else:
            existing["messages"].extend(item["messages"])
            existing["metadata"] = {**existing["metadata"], **item["metadata"]}
            existing["environment"] = item["environment"] or existing["environment"]
            existing["user_id"] = item["user_id"] or existing["user_id"]
    return [merged[key] for key in sorted(merged)]


_UPSERT_CONVERSATIONS = """
INSERT INTO conversations (
    id, external_id, environment, end_user_id, metadata, api_key_id, message_count, health_breakdown,
    sentiment_summary, has_failures, failure_count, processing_state, created_at, updated_at)
SELECT u.id, u.external_id, u.environment, u.end_user_id, u.metadata, u.api_key_id, 0, '{}', '{}', false, 0,
       'pending', u.now, u.now
FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::uuid[], %s::timestamptz[])
     AS u(id, external_id, environment, end_user_id, metadata, api_key_id, now)
ON CONFLICT (external_id) DO UPDATE SET
    environment = COALESCE(NULLIF(EXCLUDED.environment, ''), conversations.environment),
    end_user_id = COALESCE(NULLIF(EXCLUDED.end_user_id, ''), conversations.end_user_id),
    metadata = conversations.metadata || EXCLUDED.metadata,
    api_key_id = COALESCE(EXCLUDED.api_key_id, conversations.api_key_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, external_id, message_count
"""

_INSERT_MESSAGES = """
INSERT INTO messages (conversation_id, position, role, content, timestamp, metadata, dedupe_key, created_at)
SELECT * FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::text[], %s::timestamptz[], %s::jsonb[], %s::text[],
                     %s::timestamptz[])
ON CONFLICT (conversation_id, dedupe_key) DO NOTHING
RETURNING conversation_id, timestamp
"""

_UPDATE_COUNTS = """
UPDATE conversations AS c SET
    message_count = c.message_count + u.added,
    started_at = LEAST(c.started_at, u.first_at),
    last_message_at = GREATEST(c.last_message_at, u.last_at),
    processing_state = 'pending',
    ended_at = NULL
FROM unnest(%s::uuid[], %s::int[], %s::timestamptz[], %s::timestamptz[]) AS u(id, added, first_at, last_at)
WHERE c.id = u.id
"""


@transaction.atomic
def conversations_ingest(*, conversations: list[dict], api_key_id: str | None) -> list[IngestResult]:
    """Store validated conversations; returns one result per distinct external_id (sorted by it).

    Idempotent: re-sending a whole transcript, or only its new turns, adds each message once.
    Enqueues scoring for the conversations that gained messages once the transaction commits.
    """
    items = _merge_duplicates(conversations)
    now = datetime.now(UTC)
    redact = settings.REDACT_PII
    # A fresh id per item; on conflict the existing row's id is returned instead.
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_CONVERSATIONS,
            [
                [uuid.uuid4() for _ in items],
                [item["external_id"] for item in items],
                [item["environment"] for item in items],
                [item["user_id"] for item in items],
                [Jsonb(item["metadata"]) for item in items],
                [api_key_id for _ in items],
                [now for _ in items],
            ],
        )
        rows = cursor.fetchall()
        ids_by_external = {external_id: conversation_id for conversation_id, external_id, _ in rows}
        # The upsert locked each row, so its count is stable: new messages are numbered after it.
        first_position = {external_id: count for _, external_id, count in rows}

        columns: tuple[list, ...] = ([], [], [], [], [], [], [], [])
        sent_by_conversation: dict[uuid.UUID, int] = {}
        for item in items:
            conversation_id = ids_by_external[item["external_id"]]
            sent_by_conversation[conversation_id] = len({message_dedupe_key(m) for m in item["messages"]})
            for position, message in enumerate(item["messages"], start=first_position[item["external_id"]]):
                content = redact_pii(message["content"]) if redact else message["content"]
                columns[0].append(conversation_id)
                columns[1].append(position)
                columns[2].append(message["role"])
                columns[3].append(content)
                columns[4].append(message["timestamp"])
                columns[5].append(Jsonb(message.get("metadata") or {}))
                columns[6].append(message_dedupe_key(message))
                columns[7].append(now)
        added: dict[uuid.UUID, list[datetime]] = {}
        if columns[0]:
            cursor.execute(_INSERT_MESSAGES, list(columns))
            for conversation_id, timestamp in cursor.fetchall():
                added.setdefault(conversation_id, []).append(timestamp)
        if added:
            cursor.execute(
                _UPDATE_COUNTS,
                [
                    list(added),
                    [len(stamps) for stamps in added.values()],
                    [min(stamps) for stamps in added.values()],
                    [max(stamps) for stamps in added.values()],
                ],
            )

    if added:
        to_score = [str(conversation_id) for conversation_id in added]
        transaction.on_commit(lambda: conversations_enqueue_scoring(conversation_ids=to_score))

    results = []
    for item in items:
        conversation_id = ids_by_external[item["external_id"]]
        new = len(added.get(conversation_id, ()))
        results.append(
            IngestResult(
                external_id=item["external_id"],
                conversation_id=conversation_id,
                messages_added=new,
                messages_present=sent_by_conversation[conversation_id] - new,
            )
        )
    return results


def conversations_enqueue_scoring(*, conversation_ids: list[str]) -> bool:
    """Ask the workers to score these conversations; False (and nothing raised) if the broker is down.

    One message per request, not per conversation. A conversation that is not enqueued stays
    `pending`, and the periodic sweep (analytics.sweep_unscored) enqueues it later. After a failure
    the broker is skipped for a few seconds, so requests never wait on a broker that is down.
    """
    from convosensei.celery import app

    broker_url = settings.CELERY_BROKER_URL
    if not redis_available(broker_url):
        return False
    try:
        app.send_task(
            PROCESS_CONVERSATIONS_TASK,
            kwargs={"conversation_ids": conversation_ids},
            retry=False,
        )
        return True
    except Exception as exc:  # any broker failure: the data is stored; the sweep will enqueue it
        redis_failed(exc, operation="ingest.enqueue", url=broker_url)
        return False
