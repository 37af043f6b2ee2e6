"""Celery entry points of alerting: each takes ids and calls a service (alerts/services.py)."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from alerts.models import AlertDelivery
from alerts.selectors import alert_deliveries_overdue, daily_summary_day
from alerts.services import alert_deliveries_retry_at, alert_deliveries_send, alerts_record, daily_summary_record
from alerts.slack import Outcome
from analytics.tasks import BATCH_SIZE, RETRY_POLICY, PipelineTask
from convosensei.redis_client import redis_client

logger = logging.getLogger(__name__)


class SlackUnavailable(Exception):
    """Slack still failed transiently on the task's last attempt."""


# Evaluations asked for and not done yet, in Redis: a sorted set of conversation ids, each scored by when its latest
# evaluation was asked for (Unix time). A worker killed whole holds the message it had taken until
# CELERY_VISIBILITY_TIMEOUT, an hour; sweep_unevaluated sends again those still here OVERDUE_AFTER after they were
# asked for. An evaluation takes its ids out once alerts_record has returned, or once it is given up (its dead letter
# keeps them). Each ask trims the asks older than a day, so the set never holds more than a day's worth. Without
# Redis nothing is recorded, and alerts go on as before (a lost evaluation waits for its message to come back).
PENDING_EVALUATIONS = "cs:alerts:pending-evaluation"
PENDING_EVALUATIONS_KEPT = timedelta(days=1)

# How many times sweep_unevaluated sent each pending evaluation again (a hash, kept a day at most); after
# SENT_AGAIN_AT_MOST it stops and leaves the evaluation to its messages. One lost that often kills the worker it runs
# on each time (or waits in a queue that far behind, which needs no more copies): its messages come back after
# CELERY_VISIBILITY_TIMEOUT and end as a dead letter by their delivery cap, where a new one every OVERDUE_AFTER would
# kill a worker for ever.
SENT_AGAIN = "cs:alerts:evaluation-sent-again"
SENT_AGAIN_AT_MOST = 3

# Take out the ids whose latest ask is no later than the one the evaluation saw as it started (ARGV: id, time, ...):
# an ask made while it ran may come after what alerts_record read, so it stays for its own evaluation.
_PENDING_DONE = """
for i = 1, #ARGV, 2 do
  local asked = redis.call('zscore', KEYS[1], ARGV[i])
  if asked and tonumber(asked) <= tonumber(ARGV[i + 1]) then
    redis.call('zrem', KEYS[1], ARGV[i])
    redis.call('hdel', KEYS[2], ARGV[i])
  end
end
return 0
"""


class EvaluationTask(PipelineTask):
    """Evaluating conversations: given up, its ids are no longer pending, or the sweep would send them again every
    OVERDUE_AFTER, each time to a new dead letter."""

    def give_up(self, args, kwargs, *, error: str, attempts: int) -> None:
        super().give_up(args, kwargs, error=error, attempts=attempts)
        _pending_evaluations_forget([str(conversation_id) for conversation_id in kwargs["conversation_ids"]])


def evaluation_enqueue(*, conversation_ids: list[str]) -> None:
    """Send an evaluation of the conversations, recorded as pending first so that sweep_unevaluated sends it again
    if its message is lost."""
    conversation_ids = [str(conversation_id) for conversation_id in conversation_ids]
    now = time.time()
    try:
        pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        pipe.zadd(PENDING_EVALUATIONS, dict.fromkeys(conversation_ids, now))
        pipe.zremrangebyscore(PENDING_EVALUATIONS, "-inf", now - PENDING_EVALUATIONS_KEPT.total_seconds())
        pipe.execute()
    except Exception as exc:  # the evaluation is sent all the same; only its sweep is missing
        logger.warning(
            "alerts.evaluation_pending_not_recorded",
            extra={"conversations": len(conversation_ids), "error_class": type(exc).__name__},
        )
    evaluate_conversations.apply_async(kwargs={"conversation_ids": conversation_ids})


def _pending_evaluations_asked(conversation_ids: list[str]) -> dict[str, float]:
    """When the latest evaluation of each of these conversations was asked for, among those still pending."""
    try:
        pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        for conversation_id in conversation_ids:
            pipe.zscore(PENDING_EVALUATIONS, conversation_id)
        asked = dict(zip(conversation_ids, pipe.execute(), strict=True))
    except Exception as exc:  # nothing is taken out: the sweep sends them again, which is harmless
        logger.warning("alerts.evaluation_pending_not_read", extra={"error_class": type(exc).__name__})
        return {}
    return {conversation_id: at for conversation_id, at in asked.items() if at is not None}


def _pending_evaluations_done(asked: dict[str, float]) -> None:
    """Take out the conversations evaluated now whose latest ask is the one seen as the evaluation started."""
    try:
        args = [value for conversation_id, at in asked.items() for value in (conversation_id, repr(at))]
        redis_client(settings.CELERY_BROKER_URL).eval(_PENDING_DONE, 2, PENDING_EVALUATIONS, SENT_AGAIN, *args)
    except Exception as exc:  # left pending: the sweep sends them again, which is harmless
        logger.warning("alerts.evaluation_pending_not_removed", extra={"error_class": type(exc).__name__})


def _pending_evaluations_forget(conversation_ids: list[str]) -> None:
    try:
        pipe = redis_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        pipe.zrem(PENDING_EVALUATIONS, *conversation_ids)
        pipe.hdel(SENT_AGAIN, *conversation_ids)
        pipe.execute()
    except Exception as exc:  # left pending: the sweep sends them again, to be given up again
        logger.warning("alerts.evaluation_pending_not_removed", extra={"error_class": type(exc).__name__})


@shared_task(base=EvaluationTask, name="alerts.evaluate_conversations", **RETRY_POLICY)
def evaluate_conversations(*, conversation_ids: list[str]) -> None:
    """Record the new alerts among just-scored conversations, and have them sent as one message."""
    conversation_ids = [str(conversation_id) for conversation_id in conversation_ids]
    asked = _pending_evaluations_asked(conversation_ids)
    # Idempotent: an alert is recorded once ever (its dedupe_key), so an evaluation sent twice (by the sweep, while
    # the first message is still held by a dead worker or waits in a long queue) records nothing twice.
    delivery_ids = alerts_record(conversation_ids=conversation_ids)
    if asked:
        _pending_evaluations_done(asked)
    if delivery_ids:
        deliver_alerts.apply_async(kwargs={"delivery_ids": delivery_ids})


@shared_task(base=PipelineTask, bind=True, name="alerts.deliver", **RETRY_POLICY)
def deliver_alerts(self, *, delivery_ids: list[int]) -> None:
    """Send recorded alerts as one Slack message; a transient failure is retried with backoff, after Retry-After."""
    last_attempt = self.request.retries >= self.max_retries
    result = alert_deliveries_send(delivery_ids=delivery_ids, last_attempt=last_attempt)
    if result is None or result.outcome != Outcome.TRANSIENT:
        return
    if last_attempt:
        raise SlackUnavailable(result.reason)  # the deliveries are marked failed; PipelineTask dead-letters this
    countdown = retry_countdown(retries=self.request.retries, retry_after=result.retry_after)
    alert_deliveries_retry_at(delivery_ids=delivery_ids, due=timezone.now() + timedelta(seconds=countdown))
    raise self.retry(countdown=countdown)


@shared_task(base=PipelineTask, name="alerts.daily_summary", **RETRY_POLICY)
def daily_summary(*, day: str | None = None) -> None:
    """Record the morning summary of `day` (YYYY-MM-DD; default: yesterday in DASHBOARD_TIME_ZONE), once, and have
    it sent alone as deliver_alerts sends alerts (its retries, its dead letter). Beat runs it every morning."""
    delivery_id = daily_summary_record(day=date.fromisoformat(day) if day else daily_summary_day())  # idempotent
    if delivery_id is not None:
        deliver_alerts.apply_async(kwargs={"delivery_ids": [delivery_id]})


# A pending delivery whose attempt is this late lost its task: its worker was killed whole (a retry waiting for its
# time is held by the worker, back only after CELERY_VISIBILITY_TIMEOUT), or Redis lost its data. So did an
# evaluation still pending this long after it was asked for.
OVERDUE_AFTER = timedelta(minutes=5)
DIGEST_DELIVERIES = 50


@shared_task(name="alerts.sweep_overdue")
def sweep_overdue() -> int:
    """Send again the pending deliveries whose task is gone (their attempt OVERDUE_AFTER late), as deliver_alerts
    sends them: alerts in digests, each morning summary alone. Sending twice is harmless (a delivery sent is marked
    so under its row lock, and skipped after). Returns how many."""
    overdue = alert_deliveries_overdue(late_by=OVERDUE_AFTER)
    if not overdue:
        return 0
    alert_deliveries_retry_at(delivery_ids=[delivery.id for delivery in overdue], due=timezone.now())
    alerts = [delivery.id for delivery in overdue if delivery.kind != AlertDelivery.Kind.DAILY_SUMMARY]
    messages = [[delivery.id] for delivery in overdue if delivery.kind == AlertDelivery.Kind.DAILY_SUMMARY]
    messages += [alerts[start : start + DIGEST_DELIVERIES] for start in range(0, len(alerts), DIGEST_DELIVERIES)]
    for delivery_ids in messages:
        deliver_alerts.apply_async(kwargs={"delivery_ids": delivery_ids})
    logger.warning("alerts.overdue_sent_again", extra={"deliveries": len(overdue)})
    return len(overdue)


@shared_task(name="alerts.sweep_unevaluated")
def sweep_unevaluated() -> int:
    """Send again the evaluations asked for OVERDUE_AFTER ago and still not done (their message lost with a worker
    killed whole, back only after CELERY_VISIBILITY_TIMEOUT), BATCH_SIZE conversations a message. Sending twice is
    harmless (alerts_record records an alert once). One sent again SENT_AGAIN_AT_MOST times is left to its messages.
    Returns how many conversations it sent again."""
    overdue_at = time.time() - OVERDUE_AFTER.total_seconds()
    try:
        client = redis_client(settings.CELERY_BROKER_URL)
        found = client.zrangebyscore(PENDING_EVALUATIONS, "-inf", overdue_at, 0, 5000)
        overdue = [conversation_id.decode() for conversation_id in found]
        pipe = client.pipeline(transaction=False)
        for conversation_id in overdue:
            pipe.hincrby(SENT_AGAIN, conversation_id, 1)
        pipe.expire(SENT_AGAIN, int(PENDING_EVALUATIONS_KEPT.total_seconds()))
        sent_again = dict(zip(overdue, pipe.execute()[:-1], strict=True))
    except Exception as exc:  # beat sends this again in two minutes
        logger.warning("alerts.unevaluated_not_read", extra={"error_class": type(exc).__name__})
        return 0
    left = [conversation_id for conversation_id, times in sent_again.items() if times > SENT_AGAIN_AT_MOST]
    if left:
        _pending_evaluations_forget(left)
        logger.error(
            "alerts.evaluation_left_to_its_message",
            extra={"conversations": len(left), "sent_again": SENT_AGAIN_AT_MOST},
        )
    conversation_ids = [conversation_id for conversation_id, times in sent_again.items() if times <= SENT_AGAIN_AT_MOST]
    for start in range(0, len(conversation_ids), BATCH_SIZE):
        # Asked for again: pending from now on, so sent again OVERDUE_AFTER later if this one is lost too.
        evaluation_enqueue(conversation_ids=conversation_ids[start : start + BATCH_SIZE])
    if conversation_ids:
        logger.warning("alerts.unevaluated_sent_again", extra={"conversations": len(conversation_ids)})
    return len(conversation_ids)


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Seconds before retry `retries + 1`: the pipeline's backoff with full jitter, but never before Retry-After."""
    backoff = get_exponential_backoff_interval(
        factor=settings.TASK_RETRY_BACKOFF_SECONDS,
        retries=retries,
        maximum=settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )
    return max(backoff, retry_after or 0)
