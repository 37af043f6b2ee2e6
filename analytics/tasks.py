"""Celery entry points of the pipeline: each takes ids and calls a service (analytics/services.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings

from analytics.services import (
    conversation_score,
    conversations_mark_ended,
    conversations_unscored_ids,
    dead_letter_record,
)
from convosensei.redis_client import redis_client

logger = logging.getLogger(__name__)

BATCH_SIZE = 100


class PipelineTask(Task):
    """Late acknowledgement, a cap on redeliveries, and a dead-letter row after the last failure."""

    acks_late = True
    reject_on_worker_lost = True
    # A message delivered this often without finishing (its worker died each time) is dead-lettered.
    max_deliveries = 3

    def __call__(self, *args, **kwargs):
        if self.request.id and self._deliveries() > self.max_deliveries:
            dead_letter_record(
                task_name=self.name,
                args=list(args),
                kwargs=kwargs,
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
        dead_letter_record(
            task_name=self.name,
            args=list(args),
            kwargs=dict(kwargs),
            error=f"{type(exc).__name__}: {exc}",
            attempts=self.request.retries + 1,
        )


@shared_task(
    base=PipelineTask,
    name="analytics.process_conversation",
    autoretry_for=(Exception,),
    max_retries=settings.TASK_MAX_RETRIES,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
)
def process_conversation(*, conversation_id: str) -> None:
    conversation_score(conversation_id=conversation_id)  # idempotent: safe to run twice


@shared_task(base=PipelineTask, name="analytics.process_conversations")
def process_conversations(*, conversation_ids: list[str]) -> None:
    """Score a request's worth of conversations; one that fails is retried on its own."""
    for conversation_id in conversation_ids:
        try:
            conversation_score(conversation_id=conversation_id)
        except Exception as exc:
            logger.warning(
                "score.failed_will_retry",
                extra={"conversation_id": conversation_id, "error_class": type(exc).__name__},
            )
            process_conversation.apply_async(kwargs={"conversation_id": conversation_id}, countdown=2)


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
