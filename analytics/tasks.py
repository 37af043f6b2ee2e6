"""Celery entry points of the pipeline: each takes ids and calls a service (analytics/services.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from celery import Task, shared_task
from django.conf import settings

from analytics.embeddings import embeddings_enabled
from analytics.selectors import conversations_scored_among
from analytics.services import (
    conversation_score,
    conversations_embed,
    conversations_mark_ended,
    conversations_mark_scoring_failed,
    conversations_score,
    conversations_unscored_ids,
    dead_letter_record,
    usage_patterns_analyze,
    usage_patterns_default_period,
)
from convosensei.database import connection_lost
from convosensei.redis_client import redis_client

logger = logging.getLogger(__name__)

BATCH_SIZE = 100

# Retries with exponential backoff and full jitter, shared by every pipeline task that retries.
RETRY_POLICY = {
    "autoretry_for": (Exception,),
    "max_retries": settings.TASK_MAX_RETRIES,
    "retry_backoff": settings.TASK_RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
}


class PipelineTask(Task):
    """Late acknowledgement, a cap on redeliveries, and a dead-letter row after the last failure."""

    acks_late = True
    reject_on_worker_lost = True
    # A message delivered this often without finishing (its worker died each time) is dead-lettered.
    max_deliveries = 3

    def __call__(self, *args, **kwargs):
        if self.request.id and self._deliveries() > self.max_deliveries:
            self.give_up(
                args,
                kwargs,
                error=f"Delivered more than {self.max_deliveries} times without finishing (worker lost).",
                attempts=self.request.retries + 1,
            )
            return None
        return super().__call__(*args, **kwargs)

    def _deliveries(self) -> int:
        # Retries keep the task id, so each attempt (retries = 0, 1, ...) is counted on its own.
        key = f"cs:deliveries:{self.request.id}:{self.request.retries}"
        try:
            pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 86_400)
            return pipe.execute()[0]
        except Exception:  # the broker itself delivered this message, so this is a transient blip
            return 1

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if connection_lost(exc):
            self.wait_for_the_database(args, kwargs, exc)
            return
        try:
            self.give_up(args, kwargs, error=f"{type(exc).__name__}: {exc}", attempts=self.request.retries + 1)
        except Exception as give_up_exc:
            if not connection_lost(give_up_exc):
                raise
            self.wait_for_the_database(args, kwargs, give_up_exc)

    def wait_for_the_database(self, args, kwargs, exc: BaseException) -> None:
        """Its retries ran out while the database was away (or starting up again): the task is not at fault, and no
        dead letter could be written anyway. It is sent again, to run TASK_RETRY_BACKOFF_MAX_SECONDS later with its
        retries afresh, and so on until the database is back."""
        countdown = settings.TASK_RETRY_BACKOFF_MAX_SECONDS
        extra = {"task": self.name, "countdown": countdown, "error_class": type(exc).__name__}
        try:
            self.apply_async(args=args, kwargs=kwargs, countdown=countdown)
        except Exception as send_exc:  # the broker is away too: a scoring is left to the sweep, other tasks are lost
            logger.error("task.lost_database_and_broker_unavailable", extra={**extra, "send_error": repr(send_exc)})
            return
        logger.warning("task.waiting_for_database", extra=extra)

    def give_up(self, args, kwargs, *, error: str, attempts: int) -> None:
        """After the last retry, or too many deliveries: keep the task as a dead letter."""
        dead_letter_record(task_name=self.name, args=list(args), kwargs=dict(kwargs), error=error, attempts=attempts)


# Scorings started on a conversation and not ended, in Redis: a hash per conversation, one field per start,
# expiring a day after the last start. A start ends when its scoring returns or raises (as before a retry), so
# the starts left are workers that died while scoring it. Counted per conversation, not per message: the sweep
# sends a conversation that no worker got through in a new message each minute, so the delivery cap, per message,
# never trips for one that kills the whole worker every time (`--pool solo`). A backlog counts nothing. Without
# Redis nothing is counted, and scoring goes on as before.
_STARTS_KEY = "cs:scoring-starts:{}"


def scoring_deaths(conversation_ids: list[str]) -> dict[str, int]:
    """Per conversation, the scorings of it that started and never ended: each a worker that died in it."""
    try:
        pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        for conversation_id in conversation_ids:
            pipe.hlen(_STARTS_KEY.format(conversation_id))
        return dict(zip(conversation_ids, pipe.execute(), strict=True))
    except Exception:
        return dict.fromkeys(conversation_ids, 0)


@contextmanager
def scoring_started(conversation_ids: list[str]) -> Iterator[None]:
    """Record a scoring start on each conversation, ended when the block returns or raises."""
    token = uuid.uuid4().hex
    _scoring_starts_update(conversation_ids, start=token)
    try:
        yield
    finally:
        _scoring_starts_update(conversation_ids, end=token)


def scoring_deaths_forget(conversation_ids: list[str]) -> None:
    """Forget the starts recorded on the conversations: a given-up scoring replayed counts afresh."""
    _scoring_starts_update(conversation_ids)


def _scoring_starts_update(conversation_ids: list[str], *, start: str = "", end: str = "") -> None:
    try:
        pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        for key in (_STARTS_KEY.format(conversation_id) for conversation_id in conversation_ids):
            if start:
                pipe.hset(key, start, 1)
                pipe.expire(key, 86_400)
            elif end:
                pipe.hdel(key, end)
            else:
                pipe.delete(key)
        pipe.execute()
    except Exception as exc:  # an unrecorded start counts nothing; an unended one expires (meanwhile: scored alone)
        logger.warning("score.starts_not_recorded", extra={"error_class": type(exc).__name__})


class ScoringTask(PipelineTask):
    """Scoring one conversation: given up, the conversation is marked `failed`, out of the sweep's reach. Given up
    too once its worker died in `max_deliveries` scorings of it, whichever messages brought them."""

    def __call__(self, *args, **kwargs):
        conversation_id = str(kwargs.get("conversation_id", ""))
        deaths = scoring_deaths([conversation_id])[conversation_id]
        if deaths >= self.max_deliveries:
            error = f"Its worker died in each of {deaths} scorings of it, without finishing."
            self.give_up(args, kwargs, error=error, attempts=deaths)
            return None
        with scoring_started([conversation_id]):
            return super().__call__(*args, **kwargs)

    def give_up(self, args, kwargs, *, error: str, attempts: int) -> None:
        super().give_up(args, kwargs, error=error, attempts=attempts)
        conversation_id = str(kwargs.get("conversation_id", ""))
        conversations_mark_scoring_failed(conversation_ids=[conversation_id])
        scoring_deaths_forget([conversation_id])


class BatchScoringTask(PipelineTask):
    """Scoring a batch. One whose worker keeps dying holds a conversation that kills it (memory, time): each
    conversation is then scored alone, so that only that one ends as a dead letter, not the batch."""

    def give_up(self, args, kwargs, *, error: str, attempts: int) -> None:
        logger.warning("score.batch_given_up_scoring_one_by_one", extra={"error": error[:200]})
        for conversation_id in kwargs["conversation_ids"]:
            process_conversation.apply_async(kwargs={"conversation_id": conversation_id})


def _enqueue_embedding(conversation_ids: list[str]) -> None:
    """After scoring, embed the conversations when FEATURE_EMBEDDINGS is on and the database has pgvector."""
    if conversation_ids and embeddings_enabled():
        embed_conversations.apply_async(kwargs={"conversation_ids": conversation_ids})


def _enqueue_alerts(conversation_ids: list[str]) -> None:
    """After scoring, have the alerts queue look for new failures and low health among the conversations.

    Without a Slack webhook there is nothing to look for: a settings read costs less than a broker message. The
    evaluation is recorded as pending in Redis before it is sent, for the alerts' sweep to send it again should a
    worker killed whole hold its message (back only after CELERY_VISIBILITY_TIMEOUT).
    """
    from alerts.selectors import slack_alerts_configured
    from alerts.tasks import evaluation_enqueue  # imported here: alerts.tasks imports PipelineTask from here

    if conversation_ids and slack_alerts_configured():
        evaluation_enqueue(conversation_ids=conversation_ids)


def _follow_up(conversation_ids: list[str], scored_now: list[str]) -> None:
    """Queue the follow-ups (embedding, alerts) of the conversations scored now and of those a task before this one
    scored. This task may be the redelivery of one whose worker died, or whose broker went away, between storing
    the scores and queueing their follow-ups: skipping those would lose them for good. Both are idempotent (an
    unchanged text is not embedded again, an alert is recorded once), so queueing them twice costs little."""
    done = {str(conversation_id) for conversation_id in scored_now}
    skipped = [conversation_id for conversation_id in conversation_ids if str(conversation_id) not in done]
    ready = [*scored_now, *(conversations_scored_among(conversation_ids=skipped) if skipped else [])]
    _enqueue_embedding(ready)
    _enqueue_alerts(ready)


@shared_task(base=ScoringTask, name="analytics.process_conversation", **RETRY_POLICY)
def process_conversation(*, conversation_id: str) -> None:
    # Idempotent, and a conversation scored since this was queued is not scored again (conversations_score).
    scored = conversation_score(conversation_id=conversation_id, only_unscored=True) is not None
    _follow_up([conversation_id], [conversation_id] if scored else [])


@shared_task(base=BatchScoringTask, name="analytics.process_conversations")
def process_conversations(*, conversation_ids: list[str]) -> None:
    """Score a request's worth of conversations in one go; if that fails, each is scored (and retried) alone.

    Conversations scored since this was queued are skipped (conversations_score's only_unscored), and those a
    worker died scoring are each sent to a task of their own (scoring_deaths).
    """
    conversation_ids = [str(conversation_id) for conversation_id in conversation_ids]
    deaths = scoring_deaths(conversation_ids)
    # A worker died scoring these (in this batch or another): each is scored alone, so that one that kills its
    # worker every time ends as its own dead letter and takes no other conversation with it.
    for conversation_id in (c for c in conversation_ids if deaths[c]):
        process_conversation.apply_async(kwargs={"conversation_id": conversation_id})
    rest = [conversation_id for conversation_id in conversation_ids if not deaths[conversation_id]]
    if rest:
        with scoring_started(rest):
            _score_batch(rest)


def _score_batch(conversation_ids: list[str]) -> None:
    try:
        scored = conversations_score(conversation_ids=conversation_ids, only_unscored=True)
    except Exception as exc:
        logger.warning(
            "score.batch_failed_scoring_one_by_one",
            extra={"conversations": len(conversation_ids), "error_class": type(exc).__name__},
        )
        scored = []
        for conversation_id in conversation_ids:
            try:
                if conversation_score(conversation_id=conversation_id, only_unscored=True) is not None:
                    scored.append(conversation_id)
            except Exception as exc:
                logger.warning(
                    "score.failed_will_retry",
                    extra={"conversation_id": conversation_id, "error_class": type(exc).__name__},
                )
                process_conversation.apply_async(kwargs={"conversation_id": conversation_id}, countdown=2)
    _follow_up(conversation_ids, scored)


@shared_task(base=PipelineTask, name="analytics.embed_conversation", **RETRY_POLICY)
def embed_conversation(*, conversation_id: str) -> None:
    conversations_embed(conversation_ids=[conversation_id])  # skips unchanged text: safe to run twice


@shared_task(base=PipelineTask, name="analytics.embed_conversations", **RETRY_POLICY)
def embed_conversations(*, conversation_ids: list[str]) -> None:
    """Embed a scoring batch's conversations in shared model batches (far cheaper than one by one)."""
    conversations_embed(conversation_ids=conversation_ids)


@shared_task(base=PipelineTask, name="analytics.analyze_patterns", **RETRY_POLICY)
def analyze_patterns(*, since: str | None = None, until: str | None = None) -> int:
    """Cluster a period's conversations into usage patterns (default: the last whole Monday-to-Monday week in
    DASHBOARD_TIME_ZONE, `usage_patterns_default_period`)."""
    if since and until:
        period = (datetime.fromisoformat(since), datetime.fromisoformat(until))
    else:
        period = usage_patterns_default_period()
    result = usage_patterns_analyze(since=period[0], until=period[1])
    return len(result.patterns)


def _enqueue_in_batches(conversation_ids: list[str]) -> None:
    for start in range(0, len(conversation_ids), BATCH_SIZE):
        process_conversations.apply_async(kwargs={"conversation_ids": conversation_ids[start : start + BATCH_SIZE]})


@shared_task(name="analytics.sweep_unscored")
def sweep_unscored() -> int:
    """Enqueue conversations left unscored (their enqueue failed, or their worker was lost)."""
    ids = conversations_unscored_ids(older_than=timedelta(seconds=settings.SWEEP_UNSCORED_AFTER_SECONDS), limit=5000)
    _enqueue_in_batches(ids)
    if ids:
        logger.info("sweep.enqueued", extra={"conversations": len(ids)})
    return len(ids)


@shared_task(name="analytics.mark_idle_conversations_ended")
def mark_idle_conversations_ended() -> int:
    """End conversations idle for CONVERSATION_IDLE_MINUTES and give them their final scoring."""
    ids = conversations_mark_ended()
    _enqueue_in_batches(ids)
    return len(ids)
