"""How a conversation gets in: validated items are upserted by `external_id` in one transaction,
and only the messages not seen before are inserted.

The statements are hand-written SQL over `unnest` arrays because they must report which messages
were new (`INSERT ... ON CONFLICT DO NOTHING RETURNING`), something `bulk_create` cannot tell, and
because one round trip per table per request is what makes a batch of 100 conversations cheap.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import threading
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from django.conf import settings
from django.db import connection, transaction

from convosensei.redis_client import redis_available, redis_failed
from ingestion.redaction import redact_pii

logger = logging.getLogger(__name__)

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


def _merge_duplicates(conversations: list[dict], keys: list[list[str]]) -> list[dict]:
    """One item per external_id (a batch may carry the same conversation twice), sorted by it, with the dedupe
    keys of its messages under "keys".

    Sorting makes concurrent batches lock conversation rows in the same order: no deadlocks.
    """
    merged: dict[str, dict] = {}
    for item, item_keys in zip(conversations, keys, strict=True):
        existing = merged.get(item["external_id"])
        if existing is None:
            merged[item["external_id"]] = {**item, "messages": list(item["messages"]), "keys": list(item_keys)}
        else:
            existing["messages"].extend(item["messages"])
            existing["keys"].extend(item_keys)
            existing["metadata"] = {**existing["metadata"], **item["metadata"]}
            existing["environment"] = item["environment"] or existing["environment"]
            existing["user_id"] = item["user_id"] or existing["user_id"]
    return [merged[key] for key in sorted(merged)]


# Both statements take their rows as one JSON document (jsonb_to_recordset): encoding it is one C call
# (json.dumps), where binding arrays element by element costs Python work per value.
_UPSERT_CONVERSATIONS = """
INSERT INTO conversations (
    id, external_id, environment, end_user_id, metadata, api_key_id, message_count, health_breakdown,
    sentiment_summary, has_failures, failure_count, processing_state, created_at, updated_at)
SELECT gen_random_uuid(), u.external_id, u.environment, u.end_user_id, u.metadata, %(api_key_id)s::uuid, 0,
       '{}', '{}', false, 0, 'pending', %(now)s, %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS u(external_id text, environment text, end_user_id text, metadata jsonb)
ON CONFLICT (external_id) DO UPDATE SET
    environment = COALESCE(NULLIF(EXCLUDED.environment, ''), conversations.environment),
    end_user_id = COALESCE(NULLIF(EXCLUDED.end_user_id, ''), conversations.end_user_id),
    metadata = conversations.metadata || EXCLUDED.metadata,
    api_key_id = COALESCE(EXCLUDED.api_key_id, conversations.api_key_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, external_id
"""

# Inserts the messages not seen before and counts them into their conversation.
_INSERT_MESSAGES_AND_COUNT = """
WITH inserted AS (
    INSERT INTO messages (conversation_id, position, role, content, timestamp, metadata, dedupe_key, created_at)
    -- The upsert before this statement locked each conversation row, so message_count is stable here:
    -- new messages are numbered after it.
    SELECT c.id, c.message_count + u.ord, u.role, u.content, u.ts, u.metadata, u.dedupe_key, %(now)s
    FROM jsonb_to_recordset(%(rows)s::jsonb)
         AS u(external_id text, ord int, role text, content text, ts timestamptz, metadata jsonb, dedupe_key text)
    JOIN conversations AS c ON c.external_id = u.external_id
    ON CONFLICT (conversation_id, dedupe_key) DO NOTHING
    RETURNING conversation_id, timestamp, dedupe_key
), added AS (
    -- The keys only when a conversation came twice in the request, to tell each item's own messages apart.
    SELECT conversation_id, count(*) AS n, min(timestamp) AS first_at, max(timestamp) AS last_at,
           array_agg(dedupe_key) FILTER (WHERE %(with_keys)s) AS keys
    FROM inserted GROUP BY conversation_id
)
UPDATE conversations AS c SET
    message_count = c.message_count + added.n,
    started_at = LEAST(c.started_at, added.first_at),
    last_message_at = GREATEST(c.last_message_at, added.last_at),
    processing_state = 'pending',
    ended_at = NULL
FROM added
WHERE c.id = added.conversation_id
RETURNING c.id, added.n, added.keys
"""


def conversations_ingest(
    *, conversations: list[dict], api_key_id: str | None, enqueue_scoring: bool = True
) -> list[IngestResult]:
    """Store validated conversations; returns one result per item, in their order.

    Idempotent: re-sending a whole transcript, or only its new turns, adds each message once. Items naming the
    same conversation are stored together, and each reports its own messages as if the items had come one after
    the other: a message two of them carry is added by the first and present for the second.
    Once the transaction commits, the conversations that gained messages go to the scoring buffer, unless
    `enqueue_scoring` is False: a caller that scores them itself (load_demo) spares the workers a second
    scoring. Either way they are `pending` until scored, so the periodic sweep finds any left unscored.
    """
    keys = [[message_dedupe_key(message) for message in item["messages"]] for item in conversations]
    items = _merge_duplicates(conversations, keys)
    repeated = len(items) < len(conversations)
    now = datetime.now(UTC)
    redact = settings.REDACT_PII
    message_rows = []
    for item in items:
        for ordinal, (message, key) in enumerate(zip(item["messages"], item["keys"], strict=True)):
            message_rows.append(
                {
                    "external_id": item["external_id"],
                    "ord": ordinal,
                    "role": message["role"],
                    "content": redact_pii(message["content"]) if redact else message["content"],
                    "ts": message["timestamp"].isoformat(),
                    "metadata": message.get("metadata") or {},
                    "dedupe_key": key,
                }
            )
    conversation_rows = [
        {
            "external_id": item["external_id"],
            "environment": item["environment"],
            "end_user_id": item["user_id"],
            "metadata": item["metadata"],
        }
        for item in items
    ]

    connection.ensure_connection()
    raw = connection.connection
    # Called inside a caller's atomic block, this is a savepoint of the caller's transaction (Django's).
    # Otherwise it is a transaction of its own in one round trip: psycopg's pipeline mode sends BEGIN,
    # both statements and COMMIT together. (psycopg's own transaction() must not be used inside Django's
    # atomic block: before its first query, psycopg would take the block for no transaction and commit.)
    nested = connection.in_atomic_block
    with (
        transaction.atomic() if nested else nullcontext(),
        connection.wrap_database_errors,
        raw.pipeline(),
        psycopg.Cursor(raw) as upsert,
        psycopg.Cursor(raw) as insert,
    ):
        with nullcontext() if nested else raw.transaction():
            upsert.execute(
                _UPSERT_CONVERSATIONS,
                {"rows": json.dumps(conversation_rows), "api_key_id": api_key_id, "now": now},
            )
            if message_rows:
                insert.execute(
                    _INSERT_MESSAGES_AND_COUNT, {"rows": json.dumps(message_rows), "now": now, "with_keys": repeated}
                )
        ids_by_external = {external_id: conversation_id for conversation_id, external_id in upsert.fetchall()}
        inserted = insert.fetchall() if message_rows else []
    added: dict[uuid.UUID, int] = {conversation_id: n for conversation_id, n, _ in inserted}
    # When a conversation came twice: per conversation, the keys of the messages added that no item has claimed
    # yet; the first item carrying a message claims it.
    unclaimed: dict[uuid.UUID, set[str]] = {conversation_id: set(new) for conversation_id, _, new in inserted if new}

    if added and enqueue_scoring:
        to_score = [str(conversation_id) for conversation_id in added]
        # At once when there is no outer atomic block; after its commit otherwise.
        transaction.on_commit(lambda: scoring_buffer.add(to_score))

    results = []
    for item, item_keys in zip(conversations, keys, strict=True):
        conversation_id = ids_by_external[item["external_id"]]
        sent = set(item_keys)
        if repeated:
            mine = sent & unclaimed.setdefault(conversation_id, set())
            unclaimed[conversation_id] -= mine
            new = len(mine)
        else:
            new = added.get(conversation_id, 0)
        results.append(
            IngestResult(
                external_id=item["external_id"],
                conversation_id=conversation_id,
                messages_added=new,
                messages_present=len(sent) - new,
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


class ScoringBuffer:
    """Conversation ids waiting to be sent to the workers, one message per flush.

    Publishing through Celery costs ~1.7 ms of CPU per message here, more than the rest of a
    single-conversation request. So requests only append ids (microseconds) and a daemon thread
    per process sends them every FLUSH_INTERVAL_SECONDS, or sooner once MAX_PENDING are waiting.
    Nothing is lost if the process dies first: the conversations are `pending` in the database and
    the periodic sweep enqueues them.
    """

    FLUSH_INTERVAL_SECONDS = 0.1
    MAX_PENDING = 500
    BATCH_SIZE = 100

    def __init__(self) -> None:
        self._pid: int | None = None

    def _start_for_this_process(self) -> None:
        # After a fork the parent's lock, list and thread are not ours: start afresh.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="convosensei-scoring-buffer", daemon=True).start()
        atexit.register(self.flush)

    def add(self, conversation_ids: list[str]) -> None:
        if self._pid != os.getpid():
            self._start_for_this_process()
        with self._lock:
            self._ids.extend(conversation_ids)
            if len(self._ids) >= self.MAX_PENDING:
                self._wake.set()

    def flush(self) -> bool:
        """Send what is waiting now; False if the broker refused some (those are left to the sweep)."""
        if self._pid != os.getpid():
            return True
        with self._lock:
            ids, self._ids = self._ids, []
        sent = True
        for start in range(0, len(ids), self.BATCH_SIZE):
            sent = conversations_enqueue_scoring(conversation_ids=ids[start : start + self.BATCH_SIZE]) and sent
        return sent

    def _run(self) -> None:
        while True:
            self._wake.wait(self.FLUSH_INTERVAL_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die; the sweep covers what it missed
                logger.exception("ingest.scoring_buffer_flush_failed")


scoring_buffer = ScoringBuffer()
