"""The Slack transport against a real HTTPS stand-in on 127.0.0.1: what each answer of Slack's means."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import certifi
import pytest

from alerts import slack
from alerts.slack import Outcome, slack_post, slack_webhook_url_mask, slack_webhook_url_problem
from tests.standin import Reply

MESSAGE = {"text": "hello"}


def test_a_2xx_answer_is_sent_with_the_message_as_json(slack_standin):
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    (request,) = slack_standin.requests
    assert (result.outcome, request.method, request.headers["Content-Type"], request.json()) == (
        Outcome.SENT,
        "POST",
        "application/json",
        MESSAGE,
    )


def test_a_revoked_webhook_is_permanent_with_a_human_reason(slack_standin):
    slack_standin.replies.append(Reply(404, b"no_service"))
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, result.reason) == (
        Outcome.PERMANENT,
        "Slack says the webhook was revoked (404 no_service).",
    )


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (403, b"invalid_token", "Slack says the webhook's token is invalid (403 invalid_token)."),
        (410, b"channel_is_archived", "Slack says the channel is archived (410 channel_is_archived)."),
        (400, b"<html>proxy error</html>", "Slack refused the message (400)."),
    ],
)
def test_other_refusals_are_permanent_and_say_why(slack_standin, status, code, reason):
    slack_standin.replies.append(Reply(status, code))
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, result.reason) == (Outcome.PERMANENT, reason)


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_a_server_error_is_transient(slack_standin, status):
    slack_standin.replies.append(Reply(status))
    assert slack_post(url=slack_standin.webhook_url, payload=MESSAGE).outcome == Outcome.TRANSIENT


def test_rate_limiting_is_transient_and_carries_retry_after(slack_standin):
    slack_standin.replies.append(Reply(429, b"rate_limited", headers={"Retry-After": "7"}))
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, result.retry_after, result.reason) == (
        Outcome.TRANSIENT,
        7.0,
        "Slack is rate limiting this webhook (429 rate_limited); it asks to wait 7 s.",
    )


def test_retry_after_as_an_http_date_is_read_as_seconds_from_now(slack_standin):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    slack_standin.replies.append(Reply(503, headers={"Retry-After": when}))
    assert 55 <= slack_post(url=slack_standin.webhook_url, payload=MESSAGE).retry_after <= 60


def test_a_huge_retry_after_is_capped(slack_standin):
    slack_standin.replies.append(Reply(429, headers={"Retry-After": "86400"}))
    assert slack_post(url=slack_standin.webhook_url, payload=MESSAGE).retry_after == slack.MAX_RETRY_AFTER_SECONDS


def test_a_redirect_is_not_followed(slack_standin):
    slack_standin.replies.append(Reply(302, headers={"Location": slack_standin.url + "/elsewhere"}))
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, len(slack_standin.requests)) == (Outcome.PERMANENT, 1)


def test_a_slack_that_does_not_answer_is_given_up_on_after_the_read_timeout(slack_standin, monkeypatch):
    monkeypatch.setattr(slack, "READ_TIMEOUT_SECONDS", 0.3)
    slack_standin.replies.append(Reply(200, b"ok", delay=1.0))
    started = time.monotonic()
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, result.reason, time.monotonic() - started < 0.9) == (
        Outcome.TRANSIENT,
        "Slack did not answer within 0.3 s.",
        True,
    )


def test_nothing_listening_is_transient(settings, slack_standin):
    with socket.socket() as probe:  # a port that was free a moment ago, and that nothing listens on now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SLACK_WEBHOOK_HOSTS = [f"127.0.0.1:{port}"]
    result = slack_post(url=f"https://127.0.0.1:{port}{slack_standin.WEBHOOK_PATH}", payload=MESSAGE)
    assert (result.outcome, result.reason) == (Outcome.TRANSIENT, "Could not reach Slack (ConnectionError).")


def test_a_certificate_that_does_not_verify_is_not_trusted(slack_standin, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the public CAs: they never signed the stand-in's
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, result.reason, slack_standin.requests) == (
        Outcome.TRANSIENT,
        "Could not verify Slack's TLS certificate.",
        [],
    )


def test_a_url_off_the_allowed_hosts_is_never_posted_to(slack_standin, settings):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    result = slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert (result.outcome, slack_standin.requests) == (Outcome.PERMANENT, [])


def test_the_webhook_url_is_never_logged(slack_standin, caplog):
    slack_standin.replies.append(Reply(404, b"no_service"))
    with caplog.at_level(logging.DEBUG):
        slack_post(url=slack_standin.webhook_url, payload=MESSAGE)
    assert "standin-webhook-secret" not in caplog.text + repr([record.__dict__ for record in caplog.records])


def test_by_default_only_slack_is_an_allowed_host():
    assert slack_webhook_url_problem("https://127.0.0.1/services/T0001/B0002/abc") == (
        "Must be a Slack webhook URL on hooks.slack.com."
    )


def test_the_mask_keeps_a_port_and_hides_the_secret():
    assert slack_webhook_url_mask("https://127.0.0.1:8443/services/T1/B2/secret") == (
        "https://127.0.0.1:8443/services/T1/B2/••••••"
    )
