"""Which scored conversations alert, once each, as one Slack message per evaluation (a real HTTPS stand-in)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertDelivery
from alerts.services import alerts_record, app_settings_update
from alerts.tasks import deliver_alerts, retry_countdown
from analytics.models import DeadLetter
from analytics.services import conversation_score
from analytics.tests.factories import ConversationFactory, FailureFactory, MessageFactory
from tests.standin import Reply

pytestmark = pytest.mark.django_db

DASHBOARD = "https://convosensei.example.com"


def configure(url: str, **changes) -> None:
    settings = {"alert_on_new_failures": True, "alert_min_severity": "high", "health_alert_threshold": 40.0}
    app_settings_update(**{**settings, **changes}, slack_webhook_url=url)


@pytest.fixture
def slack(slack_saved, settings):
    """The saved stand-in, with links to DASHBOARD."""
    settings.DASHBOARD_BASE_URL = DASHBOARD
    return slack_saved


def evaluate(*conversations) -> None:
    """What the alerts queue does after scoring: record the new alerts, then deliver them (here, in-process)."""
    delivery_ids = alerts_record(conversation_ids=[str(conversation.id) for conversation in conversations])
    deliver_alerts.apply(kwargs={"delivery_ids": delivery_ids})


def recent_conversation(**fields):
    now = timezone.now()
    return ConversationFactory(started_at=now - timedelta(minutes=5), last_message_at=now, **fields)


def failing(severity: str = "high", **fields):
    return FailureFactory(conversation=recent_conversation(), type="error", severity=severity, **fields)


def deliveries() -> list[tuple]:
    return list(AlertDelivery.objects.order_by("id").values_list("dedupe_key", "kind", "status", "attempts"))


def test_a_new_high_failure_is_recorded_and_posted_once(slack):
    failure = failing()
    evaluate(failure.conversation)
    assert deliveries() == [(f"failure:{failure.id}", "failure", "sent", 1)]
    assert slack.texts() == [
        f"*ConvoSensei: 1 new alert*\n• *High* error in "
        f"<{DASHBOARD}/conversations/{failure.conversation_id}/|{failure.conversation.external_id}>"
    ]


def test_a_failures_alert_links_to_the_message_that_shows_it(slack):
    conversation = recent_conversation(message_count=1)
    message = MessageFactory(conversation=conversation, position=0, role="assistant", content="Error 500.")
    failure = FailureFactory(conversation=conversation, message=message, type="error", severity="high")
    evaluate(conversation)
    assert slack.texts() == [
        f"*ConvoSensei: 1 new alert*\n• *High* error in "
        f"<{DASHBOARD}/conversations/{failure.conversation_id}/?message={message.id}#message-{message.id}"
        f"|{conversation.external_id}>"
    ]


def test_scoring_the_same_conversation_again_alerts_no_more(slack):
    now = timezone.now()
    conversation = ConversationFactory(started_at=now, last_message_at=now, message_count=2)
    MessageFactory(conversation=conversation, position=0, content="Where is my order?", timestamp=now)
    MessageFactory(
        conversation=conversation, position=1, role="assistant", content="One moment.", timestamp=now,
        metadata={"error": "upstream timeout"},
    )  # fmt: skip
    for _ in range(2):
        conversation_score(conversation_id=conversation.id)
        evaluate(conversation)
    assert (len(slack.requests), AlertDelivery.objects.count()) == (1, 1)


def test_a_failure_below_the_minimum_severity_does_not_alert(slack):
    evaluate(failing("medium").conversation)
    assert (deliveries(), slack.requests) == ([], [])


def test_a_lower_minimum_severity_lets_medium_failures_alert(slack):
    configure(slack.webhook_url, alert_min_severity="medium")
    evaluate(failing("medium").conversation)
    assert len(slack.requests) == 1


def test_alerting_on_failures_can_be_turned_off(slack):
    configure(slack.webhook_url, alert_on_new_failures=False)
    evaluate(failing().conversation)
    assert slack.requests == []


def test_an_acknowledged_failure_does_not_alert(slack):
    evaluate(failing(status="ack").conversation)
    assert slack.requests == []


def test_a_failure_whose_evidence_is_older_than_a_day_does_not_alert(slack):
    failure = failing()
    type(failure).objects.filter(id=failure.id).update(detected_at=timezone.now() - timedelta(hours=25))
    evaluate(failure.conversation)
    assert (deliveries(), slack.requests) == ([], [])


def test_an_ended_conversation_with_health_below_the_threshold_alerts_once(slack):
    conversation = recent_conversation(ended_at=timezone.now(), health_score=23.4)
    evaluate(conversation)
    evaluate(conversation)
    assert deliveries() == [(f"low_health:{conversation.id}", "low_health", "sent", 1)]
    assert "• Health 23 (below 40) in <" in slack.texts()[0]


def test_low_health_in_a_conversation_still_going_does_not_alert(slack):
    evaluate(recent_conversation(health_score=10.0))
    assert slack.requests == []


def test_health_at_the_threshold_does_not_alert(slack):
    evaluate(recent_conversation(ended_at=timezone.now(), health_score=40.0))
    assert slack.requests == []


def test_without_a_webhook_nothing_is_recorded_or_sent(slack):
    configure("")
    evaluate(failing().conversation, recent_conversation(ended_at=timezone.now(), health_score=5.0))
    assert (deliveries(), slack.requests) == ([], [])


def test_the_alerts_of_one_evaluation_go_out_as_one_digest_with_a_count_of_the_rest(slack):
    conversations = [failing().conversation for _ in range(15)]
    evaluate(*conversations)
    (text,) = slack.texts()
    assert (text.count("\n• "), text.splitlines()[0]) == (10, "*ConvoSensei: 15 new alerts*")
    assert text.splitlines()[-1].startswith(f"…and 5 more: <{DASHBOARD}/failures/|open failures>")


def test_an_alert_quotes_no_message_content(slack):
    failure = failing(description="The user sounds frustrated: “my card number is 4111”.")
    evaluate(failure.conversation)
    assert "4111" not in slack.requests[0].body.decode()


def test_an_alert_is_recorded_before_it_is_sent(slack):
    failure = failing()
    alerts_record(conversation_ids=[str(failure.conversation_id)])
    assert (deliveries(), slack.requests) == ([(f"failure:{failure.id}", "failure", "pending", 0)], [])


def test_a_server_error_is_retried_and_then_sent(slack):
    slack.replies.append(Reply(500))
    failure = failing()
    evaluate(failure.conversation)
    assert (deliveries(), len(slack.requests)) == ([(f"failure:{failure.id}", "failure", "sent", 2)], 2)


def test_a_revoked_webhook_fails_at_once_with_the_reason(slack):
    slack.replies.append(Reply(404, b"no_service"))
    evaluate(failing().conversation)
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error, len(slack.requests)) == (
        "failed",
        1,
        "Slack says the webhook was revoked (404 no_service).",
        1,
    )


def test_a_slack_down_for_every_retry_ends_failed_with_a_dead_letter(slack, settings):
    slack.replies.extend(Reply(503) for _ in range(settings.TASK_MAX_RETRIES + 1))
    evaluate(failing().conversation)
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, DeadLetter.objects.get().task_name) == (
        "failed",
        settings.TASK_MAX_RETRIES + 1,
        "alerts.deliver",
    )


def test_rate_limiting_is_retried_and_the_wait_slack_asked_for_is_recorded(slack):
    slack.replies.append(Reply(429, b"rate_limited", headers={"Retry-After": "30"}))
    evaluate(failing().conversation)
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "sent",
        2,
        "Slack is rate limiting this webhook (429 rate_limited); it asks to wait 30 s.",
    )


def test_a_retry_never_comes_before_retry_after():
    assert retry_countdown(retries=0, retry_after=30) == 30


def test_a_retry_without_retry_after_follows_the_backoff(settings):
    assert 0 <= retry_countdown(retries=1, retry_after=None) <= settings.TASK_RETRY_BACKOFF_SECONDS * 2


def test_alerting_never_logs_the_webhook_url(slack, caplog):
    with caplog.at_level(logging.DEBUG):
        evaluate(failing().conversation)
    assert "standin-webhook-secret" not in caplog.text + repr([record.__dict__ for record in caplog.records])
