"""Writes of the alerts app: the product settings (the single app_settings row), and Slack alerts.

What alerts, among conversations the worker has just scored (alerts_record):
- an open failure at or above `alert_min_severity`, when `alert_on_new_failures` is on;
- a conversation whose health is below `health_alert_threshold`, once it has ended (idle for
  CONVERSATION_IDLE_MINUTES): a dip in the middle of a conversation that recovers pages nobody.
Only what happened in the last ALERT_RECENT does: a failure whose evidence message is older, or a
conversation whose last message is, is history (a backfill, the demo data), not news. Each alert is
recorded once ever (AlertDelivery.dedupe_key) before it is sent, and those of one evaluation go out
as one Slack message (alert_deliveries_send).

The morning summary of the previous day (daily_summary_record, when `daily_summary` is on) is a delivery of its
own, once per day, sent alone by the same machinery.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts.models import SINGLETON_ID, AlertDelivery, AppSettings
from alerts.selectors import app_settings_get, daily_summary_figures
from alerts.slack import (
    Outcome,
    SlackResult,
    check_message,
    daily_summary_message,
    digest_message,
    slack_post,
    slack_webhook_url_mask,
)
from conversations.models import Conversation, Failure

logger = logging.getLogger(__name__)

ALERT_RECENT = timedelta(hours=24)


@transaction.atomic
def app_settings_update(
    *,
    alert_on_new_failures: bool,
    alert_min_severity: str,
    health_alert_threshold: float,
    slack_webhook_url: str | None = None,
    daily_summary: bool | None = None,
) -> AppSettings:
    """Replace the settings. `slack_webhook_url`: None, or the stored URL's mask sent back, keeps it; "" removes it.
    `daily_summary`: None keeps it.

    The URL must have passed slack_webhook_url_problem. Returns the stored row.
    """
    settings_row, _ = AppSettings.objects.select_for_update().get_or_create(id=SINGLETON_ID)
    settings_row.alert_on_new_failures = alert_on_new_failures
    settings_row.alert_min_severity = alert_min_severity
    settings_row.health_alert_threshold = health_alert_threshold
    fields = ["alert_on_new_failures", "alert_min_severity", "health_alert_threshold", "updated_at"]
    if daily_summary is not None:
        settings_row.daily_summary = daily_summary
        fields.append("daily_summary")
    stored = settings_row.slack_webhook_url
    keep = slack_webhook_url is None or (stored and slack_webhook_url == slack_webhook_url_mask(stored))
    url_changed = not keep and slack_webhook_url != stored
    if url_changed:
        settings_row.slack_webhook_url = slack_webhook_url
        fields.append("slack_webhook_url")
    settings_row.save(update_fields=fields)
    # Never the URL itself: it is a credential.
    logger.info(
        "app_settings.updated",
        extra={
            "slack_webhook_changed": url_changed,
            "slack_webhook_configured": bool(settings_row.slack_webhook_url),
            "daily_summary": settings_row.daily_summary,
        },
    )
    return settings_row


@transaction.atomic
def alerts_record(*, conversation_ids: list[str]) -> list[int]:
    """Record a pending delivery for each new alert among these just-scored conversations (see the module doc).

    Idempotent: an alert recorded before is not recorded again. Records nothing without a webhook URL.
    Returns the ids of these alerts' deliveries still pending, oldest first.
    """
    settings_row = app_settings_get()
    if not settings_row.slack_webhook_url:
        return []
    since = timezone.now() - ALERT_RECENT
    deliveries = []
    if settings_row.alert_on_new_failures:
        severities = Failure.Severity.values  # low, medium, high: the minimum and every one after it alert
        failures = (
            Failure.objects.filter(
                conversation_id__in=conversation_ids,
                status=Failure.Status.OPEN,
                severity__in=severities[severities.index(settings_row.alert_min_severity) :],
                detected_at__gte=since,  # the evidence message's time (see analytics/services.py)
            )
            .order_by("detected_at", "id")
            .values_list("id", "conversation_id", "message_id", "conversation__external_id", "type", "severity")
        )
        deliveries += [
            AlertDelivery(
                dedupe_key=f"failure:{failure_id}",
                kind=AlertDelivery.Kind.FAILURE,
                conversation_id=conversation_id,
                payload={
                    "conversation_id": str(conversation_id),
                    "message_id": message_id,  # the alert links to the message that shows the failure
                    "external_id": external_id,
                    "type": failure_type,
                    "severity": severity,
                },
            )
            for failure_id, conversation_id, message_id, external_id, failure_type, severity in failures
        ]
    unhealthy = (
        Conversation.objects.filter(
            id__in=conversation_ids,
            ended_at__isnull=False,
            health_score__lt=settings_row.health_alert_threshold,
            last_message_at__gte=since,
        )
        .order_by("health_score", "id")
        .values_list("id", "external_id", "health_score")
    )
    deliveries += [
        AlertDelivery(
            dedupe_key=f"low_health:{conversation_id}",
            kind=AlertDelivery.Kind.LOW_HEALTH,
            conversation_id=conversation_id,
            payload={
                "conversation_id": str(conversation_id),
                "external_id": external_id,
                "health_score": health,
                "threshold": settings_row.health_alert_threshold,
            },
        )
        for conversation_id, external_id, health in unhealthy
    ]
    if not deliveries:
        return []
    AlertDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    pending = list(
        AlertDelivery.objects.filter(
            dedupe_key__in=[delivery.dedupe_key for delivery in deliveries], status=AlertDelivery.Status.PENDING
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    logger.info("alerts.recorded", extra={"conversations": len(conversation_ids), "pending": len(pending)})
    return pending


def daily_summary_record(*, day: date) -> int | None:
    """Record the pending delivery of `day`'s morning summary (dedupe key `daily_summary:<day>`), once ever.

    Records nothing unless the summary is on and a webhook URL is saved. The payload names the day only: the
    figures are read when it is sent, so that it names no conversation a deletion would have to find.
    Returns the delivery's id while it is pending, or None (nothing recorded, or sent or failed already).
    """
    settings_row = app_settings_get()
    if not (settings_row.daily_summary and settings_row.slack_webhook_url):
        logger.info("daily_summary.skipped", extra={"day": day.isoformat(), "enabled": settings_row.daily_summary})
        return None
    delivery, created = AlertDelivery.objects.get_or_create(
        dedupe_key=f"daily_summary:{day.isoformat()}",
        defaults={"kind": AlertDelivery.Kind.DAILY_SUMMARY, "payload": {"day": day.isoformat()}},
    )
    logger.info(
        "daily_summary.recorded",
        extra={"day": day.isoformat(), "delivery_id": delivery.id, "new": created, "status": delivery.status},
    )
    return delivery.id if delivery.status == AlertDelivery.Status.PENDING else None


def alert_deliveries_send(*, delivery_ids: list[int], last_attempt: bool) -> SlackResult | None:
    """Send those of these deliveries not sent yet as one Slack message, and record the outcome on each.

    A transient failure leaves them pending (for the task to retry), unless `last_attempt`: then, like a
    permanent one, it marks them failed. Returns the result, or None when there was nothing to send.
    """
    with transaction.atomic():
        # The row locks are the claim: a concurrent sender skips these rows, and a worker that dies mid-send
        # releases them to its redelivered task. The POST inside is bounded by the transport's timeouts.
        deliveries = list(
            AlertDelivery.objects.select_for_update(skip_locked=True)
            .filter(id__in=delivery_ids)
            .exclude(status=AlertDelivery.Status.SENT)
            .order_by("id")
        )
        if not deliveries:
            return None
        url = app_settings_get().slack_webhook_url
        if url:
            result = slack_post(url=url, payload=_message(deliveries))
        else:
            result = SlackResult(Outcome.PERMANENT, "The Slack webhook URL was removed before the alert was sent.")
        if result.outcome == Outcome.SENT:
            changes = {"status": AlertDelivery.Status.SENT, "sent_at": timezone.now()}
        elif result.outcome == Outcome.TRANSIENT and not last_attempt:
            changes = {"last_error": result.reason}
        else:
            changes = {"status": AlertDelivery.Status.FAILED, "last_error": result.reason}
        AlertDelivery.objects.filter(id__in=[d.id for d in deliveries]).update(attempts=F("attempts") + 1, **changes)
    log = logger.info if result.outcome == Outcome.SENT else logger.warning
    log("alerts.delivery", extra={"deliveries": len(deliveries), "outcome": result.outcome.value})
    return result


def _message(deliveries: list[AlertDelivery]) -> dict:
    """The one Slack message of these deliveries: a morning summary, always sent alone, or a digest of alerts."""
    summaries = [delivery for delivery in deliveries if delivery.kind == AlertDelivery.Kind.DAILY_SUMMARY]
    if summaries:
        if len(deliveries) > 1:
            raise ValueError("A daily summary is sent as a message of its own, never with other deliveries.")
        summary = daily_summary_figures(day=date.fromisoformat(summaries[0].payload["day"]))
        return daily_summary_message(summary=summary, dashboard_url=settings.DASHBOARD_BASE_URL)
    alerts = [{"kind": delivery.kind, **delivery.payload} for delivery in deliveries]
    return digest_message(alerts=alerts, dashboard_url=settings.DASHBOARD_BASE_URL)


def alert_deliveries_retry_at(*, delivery_ids: list[int], due: datetime) -> None:
    """Record when the next attempt of these pending deliveries is due (the sweep's measure of a lost task)."""
    AlertDelivery.objects.filter(id__in=delivery_ids, status=AlertDelivery.Status.PENDING).update(next_attempt_at=due)


def slack_test_message_send() -> SlackResult:
    """Post a test message to the stored webhook now, within the transport's timeouts (the Settings page button)."""
    url = app_settings_get().slack_webhook_url
    if not url:
        return SlackResult(Outcome.PERMANENT, "No Slack webhook URL is saved.")
    return slack_post(url=url, payload=check_message(dashboard_url=settings.DASHBOARD_BASE_URL))
