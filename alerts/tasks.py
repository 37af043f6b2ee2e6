"""Celery entry points of alerting: each takes ids and calls a service (alerts/services.py)."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from alerts.selectors import daily_summary_day
from alerts.services import alert_deliveries_send, alerts_record, daily_summary_record
from alerts.slack import Outcome
from analytics.tasks import RETRY_POLICY, PipelineTask


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
    raise self.retry(countdown=retry_countdown(retries=self.request.retries, retry_after=result.retry_after))


@shared_task(base=PipelineTask, name="alerts.daily_summary", **RETRY_POLICY)
def daily_summary(*, day: str | None = None) -> None:
    """Record the morning summary of `day` (YYYY-MM-DD; default: yesterday in DASHBOARD_TIME_ZONE), once, and have
    it sent alone as deliver_alerts sends alerts (its retries, its dead letter). Beat runs it every morning."""
    delivery_id = daily_summary_record(day=date.fromisoformat(day) if day else daily_summary_day())  # idempotent
    if delivery_id is not None:
        deliver_alerts.apply_async(kwargs={"delivery_ids": [delivery_id]})


def retry_countdown(*, retries: int, retry_after: float | None) -> float:
    """Seconds before retry `retries + 1`: the pipeline's backoff with full jitter, but never before Retry-After."""
    backoff = get_exponential_backoff_interval(
        factor=settings.TASK_RETRY_BACKOFF_SECONDS,
        retries=retries,
        maximum=settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )
    return max(backoff, retry_after or 0)
