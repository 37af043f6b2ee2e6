"""Writes of the alerts app: the product settings (the single app_settings row)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.db import transaction

from alerts.models import SINGLETON_ID, AppSettings

logger = logging.getLogger(__name__)

SLACK_WEBHOOK_HOST = "hooks.slack.com"
MASK = "••••••"


def slack_webhook_url_problem(url: str) -> str | None:
    """Why `url` is not a Slack incoming-webhook URL we will post to, or None when it is one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme != "https":
        return "Must be an https:// URL."
    if parts.hostname != SLACK_WEBHOOK_HOST or parts.username or parts.password or port not in (None, 443):
        return f"Must be a Slack webhook URL on {SLACK_WEBHOOK_HOST}."
    if len([segment for segment in parts.path.split("/") if segment]) < 2:
        return "Must be the full webhook URL Slack gave you (https://hooks.slack.com/services/…)."
    return None


def slack_webhook_url_mask(url: str) -> str:
    """The URL with its secret (the last path segment) hidden: https://hooks.slack.com/services/T000/B000/••••••."""
    if not url:
        return ""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    return f"{parts.scheme}://{parts.hostname}/" + "/".join([*segments[:-1], MASK])


@transaction.atomic
def app_settings_update(
    *,
    alert_on_new_failures: bool,
    alert_min_severity: str,
    health_alert_threshold: float,
    slack_webhook_url: str | None = None,
) -> AppSettings:
    """Replace the settings; `slack_webhook_url=None` keeps the stored URL ("" removes it).

    The URL must have passed slack_webhook_url_problem. Returns the stored row.
    """
    settings_row, _ = AppSettings.objects.select_for_update().get_or_create(id=SINGLETON_ID)
    settings_row.alert_on_new_failures = alert_on_new_failures
    settings_row.alert_min_severity = alert_min_severity
    settings_row.health_alert_threshold = health_alert_threshold
    fields = ["alert_on_new_failures", "alert_min_severity", "health_alert_threshold", "updated_at"]
    url_changed = slack_webhook_url is not None and slack_webhook_url != settings_row.slack_webhook_url
    if url_changed:
        settings_row.slack_webhook_url = slack_webhook_url
        fields.append("slack_webhook_url")
    settings_row.save(update_fields=fields)
    # Never the URL itself: it is a credential.
    logger.info(
        "app_settings.updated",
        extra={"slack_webhook_changed": url_changed, "slack_webhook_configured": bool(settings_row.slack_webhook_url)},
    )
    return settings_row
