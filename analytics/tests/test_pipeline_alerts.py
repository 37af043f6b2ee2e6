"""Alerts end to end: the real HTTP API, Redis, a real Celery worker and the Slack stand-in over HTTPS."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from accounts.services import api_key_create
from alerts.models import AlertDelivery
from alerts.selectors import daily_summary_day
from alerts.services import app_settings_update
from alerts.tasks import daily_summary, deliver_alerts, sweep_overdue
from alerts.tests.test_alerts_overdue import pending
from analytics.services import conversation_score
from analytics.tasks import process_conversation
from analytics.tests.conftest import wait_until
from analytics.tests.factories import conversation_with_turns
from conversations.models import Message
from conversations.tests.factories import ConversationFactory
from tests.standin import Reply

TRACK = "/api/v1/conversations/track"


@pytest.mark.django_db(transaction=True)
def test_a_failure_the_worker_finds_in_an_ingested_conversation_reaches_slack(live_server, celery_worker, slack_saved):
    _, key = api_key_create(name="alerts test")
    now = datetime.now(UTC)
    conversation = {
        "external_id": "alert-e2e-1",
        "messages": [
            {"role": "user", "content": "Where is my order?", "timestamp": (now - timedelta(seconds=5)).isoformat()},
            {"role": "assistant", "content": "One moment.", "timestamp": now.isoformat(),
             "metadata": {"error": "upstream timeout"}},
        ],
    }  # fmt: skip
    response = requests.post(
        live_server.url + TRACK, json=conversation, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 202
    wait_until(lambda: AlertDelivery.objects.filter(status="sent").exists(), timeout=30)
    [text] = slack_saved.texts()  # one message
    assert ("*High* error in" in text, "|alert-e2e-1>" in text) == (True, True)


@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_as_long_as_slack_asks_before_retrying(celery_worker, slack_saved):
    # The test worker's own backoff is at most 1 s (TASK_RETRY_BACKOFF_MAX_SECONDS): only Retry-After waits 2 s.
    delivery = AlertDelivery.objects.create(
        dedupe_key="low_health:retry-after-test", kind="low_health",
        payload={"conversation_id": "00000000-0000-4000-8000-000000000000", "external_id": "slow-1",
                 "health_score": 12.0, "threshold": 40.0},
    )  # fmt: skip
    slack_saved.replies.append(Reply(429, b"rate_limited", headers={"Retry-After": "2"}))
    deliver_alerts.apply_async(kwargs={"delivery_ids": [delivery.id]})
    wait_until(lambda: AlertDelivery.objects.filter(id=delivery.id, status="sent").exists(), timeout=30)
    first, second = slack_saved.requests
    assert (second.at - first.at >= 2, AlertDelivery.objects.get().attempts) == (True, 2)


@pytest.mark.django_db(transaction=True)
def test_a_scoring_task_delivered_again_after_its_scores_were_stored_still_sends_their_alert(
    celery_worker, slack_saved
):
    # The worker died, or the broker went away, between storing the scores and queueing the alert: the message
    # comes back (or is replayed) and finds the conversation scored already.
    now = datetime.now(UTC)
    conversation = conversation_with_turns(
        "Where is my order?", "Error: upstream timeout.", start=now - timedelta(minutes=1), external_id="redelivered"
    )
    Message.objects.filter(conversation=conversation, position=1).update(metadata={"error": "upstream timeout"})
    conversation_score(conversation_id=conversation.id)
    assert not AlertDelivery.objects.exists()
    process_conversation.apply_async(kwargs={"conversation_id": str(conversation.id)})
    assert wait_until(lambda: AlertDelivery.objects.filter(status="sent").exists(), timeout=30)
    [text] = slack_saved.texts()
    assert "|redelivered>" in text


@pytest.mark.django_db(transaction=True)
def test_the_morning_task_beat_sends_posts_the_summary_of_yesterday_through_the_worker(celery_worker, slack_saved):
    app_settings_update(
        alert_on_new_failures=True, alert_min_severity="high", health_alert_threshold=40, daily_summary=True
    )
    day = daily_summary_day()  # the worker reads the same DASHBOARD_TIME_ZONE
    noon = timezone.make_aware(datetime.combine(day, time(12)), ZoneInfo(settings.DASHBOARD_TIME_ZONE))
    ConversationFactory(external_id="yesterday-1", health_score=30.0, started_at=noon, last_message_at=noon)
    daily_summary.apply_async()  # as beat sends it: no arguments
    assert wait_until(lambda: AlertDelivery.objects.filter(status="sent").exists(), timeout=30)
    [text] = slack_saved.texts()
    title = f"*ConvoSensei: {day:%A} {day.day} {day:%B %Y}* ({settings.DASHBOARD_TIME_ZONE})"
    assert (text.splitlines()[0], "|yesterday-1>" in text) == (title, True)
    assert AlertDelivery.objects.get().dedupe_key == f"daily_summary:{day.isoformat()}"


def _status(delivery: AlertDelivery) -> str:
    return AlertDelivery.objects.get(id=delivery.id).status


@pytest.mark.django_db(transaction=True)
def test_deliveries_whose_task_was_lost_are_sent_by_the_sweep_alerts_together_a_summary_alone(
    celery_worker, slack_saved
):
    app_settings_update(
        alert_on_new_failures=True, alert_min_severity="high", health_alert_threshold=40, daily_summary=True
    )
    lost = [
        pending("never-sent", recorded_ago=timedelta(minutes=10)),  # its first attempt never ran
        pending("retry-lost", recorded_ago=timedelta(hours=1), next_attempt_in=timedelta(minutes=-6), attempts=1),
    ]
    summary = AlertDelivery.objects.create(
        dedupe_key="daily_summary:2026-11-16", kind=AlertDelivery.Kind.DAILY_SUMMARY, payload={"day": "2026-11-16"}
    )
    AlertDelivery.objects.filter(id=summary.id).update(created_at=timezone.now() - timedelta(minutes=10))
    assert sweep_overdue() == 3
    assert wait_until(lambda: all(_status(d) == "sent" for d in [*lost, summary]), timeout=30)
    texts = sorted(slack_saved.texts())
    assert len(texts) == 2
    assert texts[0].startswith("*ConvoSensei: 2 new alerts*")
    assert ("|never-sent>" in texts[0], "|retry-lost>" in texts[0]) == (True, True)
    assert texts[1].startswith("*ConvoSensei: Monday 16 November 2026*")
    assert sweep_overdue() == 0  # sent: never again


@pytest.mark.django_db(transaction=True)
def test_a_retry_records_when_it_is_due(celery_worker, slack_saved):
    delivery = pending("slow", recorded_ago=timedelta(0))
    slack_saved.replies.append(Reply(429, b"rate_limited", headers={"Retry-After": "2"}))
    before = timezone.now()
    deliver_alerts.apply_async(kwargs={"delivery_ids": [delivery.id]})
    assert wait_until(lambda: _status(delivery) == "sent", timeout=30)
    delivery.refresh_from_db()
    # Due when Slack's Retry-After ends, and the retry came then.
    assert delivery.next_attempt_at >= before + timedelta(seconds=2)
    assert timedelta(0) <= delivery.sent_at - delivery.next_attempt_at < timedelta(seconds=2)
