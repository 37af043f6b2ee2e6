"""Reads of the alerts app."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from alerts.models import ALERT_MIN_SEVERITY_CHOICES, SINGLETON_ID, AlertDelivery, AppSettings
from alerts.slack import slack_webhook_url_mask
from analytics.selectors import analytics_summary, failure_trend_points
from analytics.services import dashboard_zone
from conversations.selectors import conversation_list

DAILY_SUMMARY_FAILURE_TYPES = 3
DAILY_SUMMARY_LEAST_HEALTHY = 5


def app_settings_get() -> AppSettings:
    """The single settings row (id 1), created with the defaults on first read."""
    settings_row, _ = AppSettings.objects.get_or_create(id=SINGLETON_ID)
    return settings_row


def slack_alerts_configured() -> bool:
    """Whether a Slack webhook URL is saved (one indexed read; creates nothing)."""
    return AppSettings.objects.filter(id=SINGLETON_ID).exclude(slack_webhook_url="").exists()


def slack_settings_section(*, submitted: dict | None = None, errors: dict | None = None) -> dict:
    """The Settings page's Slack section: the stored settings (webhook URL masked), or a submission and its errors."""
    settings_row = app_settings_get()
    values = submitted or {
        "slack_webhook_url": slack_webhook_url_mask(settings_row.slack_webhook_url),
        "alert_on_new_failures": settings_row.alert_on_new_failures,
        "alert_min_severity": settings_row.alert_min_severity,
        "health_alert_threshold": f"{settings_row.health_alert_threshold:g}",
        "daily_summary": settings_row.daily_summary,
    }
    return {
        "values": values,
        "errors": errors or {},
        "configured": bool(settings_row.slack_webhook_url),
        # A URL is stored, but no secret key decrypts it (DJANGO_SECRET_KEY changed): it reads as none.
        "unreadable": not settings_row.slack_webhook_url and slack_alerts_configured(),
        "severities": ALERT_MIN_SEVERITY_CHOICES,
    }


def daily_summary_day(*, now: datetime | None = None) -> date:
    """The day the morning summary sums up: the day before `now` (default: now) in DASHBOARD_TIME_ZONE."""
    return timezone.localdate(now or timezone.now(), dashboard_zone()) - timedelta(days=1)


def daily_summary_figures(*, day: date) -> dict:
    """The morning summary of `day`, a calendar day of DASHBOARD_TIME_ZONE, read with the overview's selectors.

    Returns `day`, `time_zone`, the day's figures as analytics_summary gives them (conversations, scored,
    avg_health, with_failures, failure_share), `previous_avg_health` (the day before), `failure_types`: the
    DAILY_SUMMARY_FAILURE_TYPES most frequent types of the failures detected that day as [type, count], most
    frequent first, and `least_healthy`: the DAILY_SUMMARY_LEAST_HEALTHY scored conversations of the day with
    the lowest health, as {conversation_id, external_id, health_score}, lowest first.
    """
    zone = dashboard_zone()
    start, end = _day_start(day, zone), _day_start(day + timedelta(days=1), zone)
    # The day before is read as a calendar day of its own, not as analytics_summary's "previous period" of the
    # same length: a day across a daylight-saving change has 23 or 25 hours.
    figures = analytics_summary(start=start, end=end)["current"]
    previous = analytics_summary(start=_day_start(day - timedelta(days=1), zone), end=start)["current"]
    failure_counts: Counter[str] = Counter()
    for row in failure_trend_points(start=start, end=end, bucket="day", zone=zone):
        failure_counts[row["type"]] += row["count"]
    least_healthy = (
        conversation_list(start=start, end=end)
        .filter(health_score__isnull=False)
        .order_by("health_score", "id")
        .values_list("id", "external_id", "health_score")[:DAILY_SUMMARY_LEAST_HEALTHY]
    )
    return {
        "day": day,
        "time_zone": str(zone),
        **{name: figures[name] for name in ("conversations", "scored", "avg_health", "with_failures", "failure_share")},
        "previous_avg_health": previous["avg_health"],
        "failure_types": [
            [failure_type, count]
            for failure_type, count in sorted(failure_counts.items(), key=lambda item: (-item[1], item[0]))
        ][:DAILY_SUMMARY_FAILURE_TYPES],
        "least_healthy": [
            {"conversation_id": str(conversation_id), "external_id": external_id, "health_score": health}
            for conversation_id, external_id, health in least_healthy
        ],
    }


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), zone)


def alert_deliveries_overdue(*, late_by: timedelta) -> list[AlertDelivery]:
    """Pending deliveries whose attempt was due more than `late_by` ago (their task is gone), oldest first."""
    due_before = timezone.now() - late_by
    return list(
        AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__lt=due_before) | Q(next_attempt_at__isnull=True, created_at__lt=due_before))
        .order_by("created_at", "id")
        .only("id", "kind")
    )
