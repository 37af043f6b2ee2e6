"""Celery entry points of alerting: each takes ids and calls a service (alerts/services.py)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from alerts.models import AlertDelivery
from alerts.selectors import alert_deliveries_overdue, daily_summary_day
from alerts.services import alert_deliveries_retry_at, alert_deliveries_send, alerts_record, daily_summary_record
from alerts.slack import Outcome
from analytics.tasks import RETRY_POLICY, PipelineTask

logger = logging.getLogger(__name__)


class SlackUnavailable(Exception):
    """Slack still failed transiently on the task's last attempt."""


@shared_task(base=PipelineTask, name="alerts.evaluate_conversations", **RETRY_POLICY)
def evaluate_conversations(*, conversation_ids: list[str]) -> None:
    """Record the new alerts among just-scored conversations, and have them sent as one message."""
    delivery_ids = alerts_record(conversation_ids=conversation_ids)  # idempotent: safe to run twice
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
# time is held by the worker, back only after CELERY_VISIBILITY_TIMEOUT), or Redis lost its data.
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


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Seconds before retry `retries + 1`: the pipeline's backoff with full jitter, but never before Retry-After."""
    backoff = get_exponential_backoff_interval(
        factor=settings.TASK_RETRY_BACKOFF_SECONDS,
        retries=retries,
        maximum=settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )
    return max(backoff, retry_after or 0)
