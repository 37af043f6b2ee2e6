"""Slack incoming webhooks: which URLs we post to, the messages, and one bounded POST whose answer is classified.

The webhook URL is a credential: it is never logged nor put in an error, only shown masked.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

import requests
from django.conf import settings

from alerts.models import AlertDelivery
from conversations.models import message_path

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
# A Retry-After longer than this is read as this: an alert an hour late is hardly an alert any more.
MAX_RETRY_AFTER_SECONDS = 3600
DIGEST_MAX_LINES = 10
MASK = "••••••"

# Slack answers a refused webhook POST with one of these codes as its plain-text body.
_REFUSALS = {
    "invalid_payload": "Slack could not read the message",
    "no_service": "Slack says the webhook was revoked",
    "no_service_id": "Slack says the webhook URL is incomplete",
    "no_team": "Slack says the workspace no longer exists",
    "team_disabled": "Slack says the workspace is disabled",
    "invalid_token": "Slack says the webhook's token is invalid",
    "channel_not_found": "Slack says the channel no longer exists",
    "channel_is_archived": "Slack says the channel is archived",
    "action_prohibited": "Slack says a workspace admin restricted posting to the channel",
    "posting_to_general_channel_denied": "Slack says only admins may post to the channel",
}
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # may work later: retry
    PERMANENT = "permanent"  # will not work until someone changes the webhook or the channel


@dataclass(frozen=True)
class SlackResult:
    """What became of one POST; `reason` says why it was not sent, for a person (never the URL)."""

    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None  # seconds Slack asked us to wait before trying again


def slack_webhook_url_problem(url: str) -> str | None:
    """Why `url` is not a webhook URL we will post to (https, a SLACK_WEBHOOK_HOSTS host), or None when it is one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme != "https":
        return "Must be an https:// URL."
    if parts.username or parts.password or not _allowed_host(parts.hostname, port):
        return f"Must be a Slack webhook URL on {' or '.join(settings.SLACK_WEBHOOK_HOSTS)}."
    if len([segment for segment in parts.path.split("/") if segment]) < 2:
        return f"Must be the full webhook URL Slack gave you (https://{settings.SLACK_WEBHOOK_HOSTS[0]}/services/…)."
    return None


def _allowed_host(hostname: str | None, port: int | None) -> bool:
    for entry in settings.SLACK_WEBHOOK_HOSTS:
        allowed = urlsplit(f"//{entry}")
        if (hostname, port or 443) == (allowed.hostname, allowed.port or 443):
            return True
    return False


def slack_webhook_url_mask(url: str) -> str:
    """The URL with its secret (the last path segment) hidden: https://hooks.slack.com/services/T000/B000/••••••."""
    if not url:
        return ""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/" + "/".join([*segments[:-1], MASK])


def slack_post(*, url: str, payload: dict) -> SlackResult:
    """POST `payload` as JSON to the webhook once, within the timeouts, following no redirect; never raises."""
    problem = slack_webhook_url_problem(url)
    if problem:
        return SlackResult(Outcome.PERMANENT, f"The webhook URL is not accepted: {problem}")
    started = time.monotonic()
    status = None
    # The exceptions' own texts name the URL: only their class is ever kept.
    try:
        response = requests.post(
            url, json=payload, timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS), allow_redirects=False
        )
    except requests.ConnectTimeout:
        result = SlackResult(Outcome.TRANSIENT, f"Could not connect to Slack within {CONNECT_TIMEOUT_SECONDS} s.")
    except requests.Timeout:
        result = SlackResult(Outcome.TRANSIENT, f"Slack did not answer within {READ_TIMEOUT_SECONDS} s.")
    except requests.exceptions.SSLError:
        result = SlackResult(Outcome.TRANSIENT, "Could not verify Slack's TLS certificate.")
    except requests.RequestException as exc:
        result = SlackResult(Outcome.TRANSIENT, f"Could not reach Slack ({type(exc).__name__}).")
    else:
        status = response.status_code
        result = _classify(response)
    logger.info(
        "slack.posted",
        extra={
            "webhook": slack_webhook_url_mask(url),
            "outcome": result.outcome.value,
            "status": status,
            "duration_ms": round((time.monotonic() - started) * 1000),
        },
    )
    return result


def _classify(response: requests.Response) -> SlackResult:
    status = response.status_code
    if 200 <= status < 300:
        return SlackResult(Outcome.SENT)
    body = response.text.strip()
    code = body if _ERROR_CODE.fullmatch(body) else ""
    said = f"{status} {code}".strip()
    if status in (408, 429) or status >= 500:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
        what = "Slack is rate limiting this webhook" if status == 429 else "Slack is unavailable"
        return SlackResult(Outcome.TRANSIENT, f"{what} ({said}){wait}.", retry_after)
    if 300 <= status < 400:
        return SlackResult(Outcome.PERMANENT, f"Slack answered with a redirect ({status}), which is not followed.")
    return SlackResult(Outcome.PERMANENT, f"{_REFUSALS.get(code, 'Slack refused the message')} ({said}).")


def _retry_after(value: str | None) -> float | None:
    """Retry-After (seconds or an HTTP date) in seconds, at most MAX_RETRY_AFTER_SECONDS; None if absent or bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when.replace(tzinfo=when.tzinfo or UTC) - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


# --- Messages: what they say, never any message content (the users' words stay on this machine) ----------------


def check_message(*, dashboard_url: str) -> dict:
    """The message of the Settings page's "Send test message" button."""
    return {
        "text": f"ConvoSensei can post here: alerts from <{dashboard_url}/|ConvoSensei> will arrive in this channel."
    }


def digest_message(*, alerts: list[dict], dashboard_url: str) -> dict:
    """One message for the alerts of one evaluation: the first DIGEST_MAX_LINES, then how many more, with links.

    Each alert is an AlertDelivery's kind and payload: `kind`, `conversation_id`, `external_id`, and `type` and
    `severity` (a failure) or `health_score` and `threshold` (low health).
    """
    lines = [_alert_line(alert, dashboard_url) for alert in alerts[:DIGEST_MAX_LINES]]
    more = len(alerts) - len(lines)
    if more:
        lines.append(
            f"…and {more} more: <{dashboard_url}/failures/|open failures>, "
            f"<{dashboard_url}/conversations/?timeframe=24h&ordering=health_score|least healthy conversations>"
        )
    title = "1 new alert" if len(alerts) == 1 else f"{len(alerts)} new alerts"
    return {"text": f"*ConvoSensei: {title}*\n" + "\n".join(lines)}


def daily_summary_message(*, summary: dict, dashboard_url: str) -> dict:
    """The morning summary of one day, from alerts.selectors.daily_summary_figures: how many conversations, their
    average health against the day before, how many had a failure and of which types, the least healthy ones
    linked to their pages, and the overview. A day without conversations still says so: silence would look like a
    pipeline that stopped."""
    day = summary["day"]
    lines = [f"*ConvoSensei: {day:%A} {day.day} {day:%B %Y}* ({summary['time_zone']})"]
    overview = f"<{dashboard_url}/|Open the overview>"
    count = summary["conversations"]
    if not count:
        return {"text": f"{lines[0]}\nNo conversations yesterday. {overview}"}
    lines.append(f"{count} conversation{'s' if count != 1 else ''}{_health_phrase(summary)}")
    if summary["scored"]:
        unscored = count - summary["scored"]
        lines.append(
            f"{summary['with_failures']} with a failure ({summary['failure_share'] * 100:.0f}% of those scored"
            + (f"; {unscored} not scored yet)" if unscored else ")")
        )
    if summary["failure_types"]:
        types = ", ".join(f"{_escape(kind.replace('_', ' '))} ({n})" for kind, n in summary["failure_types"])
        lines.append(f"Most frequent failures: {types}")
    if summary["least_healthy"]:
        lines.append("Least healthy:")
        lines += [
            f"• <{dashboard_url}/conversations/{row['conversation_id']}/|{_escape(row['external_id'])}>"
            f" health {row['health_score']:.0f}"
            for row in summary["least_healthy"]
        ]
    lines.append(overview)
    return {"text": "\n".join(lines)}


def _health_phrase(summary: dict) -> str:
    """The health part of the first line: ", average health 71.5 (down 3.2 points on the day before)", or less."""
    health, previous = summary["avg_health"], summary["previous_avg_health"]
    if health is None:
        return ", none scored yet"
    if previous is None:
        return f", average health {health:.1f}"
    change = round(health - previous, 1)
    if not change:
        return f", average health {health:.1f} (as the day before)"
    direction = "up" if change > 0 else "down"
    return f", average health {health:.1f} ({direction} {abs(change):.1f} points on the day before)"


def _alert_line(alert: dict, dashboard_url: str) -> str:
    # A failure's alert opens the message that shows it (alerts recorded before they named it: the conversation).
    path = message_path(alert["conversation_id"], alert.get("message_id"))
    link = f"<{dashboard_url}{path}|{_escape(alert['external_id'])}>"
    if alert["kind"] == AlertDelivery.Kind.LOW_HEALTH:
        return f"• Health {alert['health_score']:.0f} (below {alert['threshold']:g}) in {link}"
    return f"• *{alert['severity'].capitalize()}* {alert['type'].replace('_', ' ')} in {link}"


def _escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (its three control characters escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
