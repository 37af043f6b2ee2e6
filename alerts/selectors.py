"""Reads of the alerts app."""

from alerts.models import ALERT_MIN_SEVERITY_CHOICES, SINGLETON_ID, AppSettings
from alerts.slack import slack_webhook_url_mask


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
    }
    return {
        "values": values,
        "errors": errors or {},
        "configured": bool(settings_row.slack_webhook_url),
        # A URL is stored, but no secret key decrypts it (DJANGO_SECRET_KEY changed): it reads as none.
        "unreadable": not settings_row.slack_webhook_url and slack_alerts_configured(),
        "severities": ALERT_MIN_SEVERITY_CHOICES,
    }
