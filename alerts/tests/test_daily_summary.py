"""The morning summary of the previous day in Slack: its figures, once per day, its retries (a real HTTPS stand-in)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from alerts.models import AlertDelivery
from alerts.selectors import daily_summary_day
from alerts.services import alert_deliveries_send, alerts_record, app_settings_update, daily_summary_record
from alerts.tasks import daily_summary, deliver_alerts
from analytics.models import DeadLetter
from conversations.models import Failure
from conversations.tests.factories import ConversationFactory, FailureFactory, MessageFactory
from tests.standin import Reply

pytestmark = pytest.mark.django_db

DASHBOARD = "https://convosensei.example.com"
ZONE = "Europe/Berlin"
DAY = date(2026, 11, 16)  # a Monday; in Berlin (UTC+1) it runs from 2026-11-15 23:00 to 2026-11-16 23:00 UTC


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def configure(url: str, *, daily_summary: bool = True) -> None:
    app_settings_update(
        alert_on_new_failures=True,
        alert_min_severity="high",
        health_alert_threshold=40.0,
        slack_webhook_url=url,
        daily_summary=daily_summary,
    )


@pytest.fixture
def slack(slack_saved, settings):
    """The saved stand-in with the summary turned on, links to DASHBOARD, and the dashboard's days Berlin's."""
    settings.DASHBOARD_BASE_URL = DASHBOARD
    settings.DASHBOARD_TIME_ZONE = ZONE
    configure(slack_saved.webhook_url)
    return slack_saved


def conversation(external_id: str, health: float | None, at: datetime, **fields):
    return ConversationFactory(
        external_id=external_id, health_score=health, started_at=at, last_message_at=at, **fields
    )


def failure(on, failure_type: str, at: datetime) -> Failure:
    found = FailureFactory(conversation=on, type=failure_type)
    Failure.objects.filter(id=found.id).update(detected_at=at)  # detected_at is set on insert
    return found


def send(day: date = DAY) -> None:
    """What the beat task and the alerts queue do: record the day's summary, then deliver it (here, in-process)."""
    delivery_id = daily_summary_record(day=day)
    deliver_alerts.apply(kwargs={"delivery_ids": [delivery_id]})


def deliveries() -> list[tuple]:
    return list(AlertDelivery.objects.order_by("id").values_list("dedupe_key", "kind", "status", "attempts"))


@pytest.fixture
def monday():
    """Monday 16 November 2026 in Berlin: seven conversations (one not scored yet, three with failures), with the
    day before (average health 75) and the first minutes of the day after around it."""
    worst = conversation("checkout-1", 20.0, utc(15, 23, 30), has_failures=True)  # 00:30 on Monday in Berlin
    odd = conversation("refund <vip> & co", 35.0, utc(16, 9), has_failures=True)
    third = conversation("conv-50", 50.0, utc(16, 10), has_failures=True)
    rest = [conversation(f"conv-{health}", float(health), utc(16, 11)) for health in (70, 90, 95)]
    conversation("unscored", None, utc(16, 12))
    for on in (worst, odd, third):
        failure(on, "error", utc(16, 8))
    for on in (worst, odd):
        failure(on, "refusal", utc(16, 8))
    failure(worst, "loop", utc(16, 8))
    failure(odd, "slow_reply", utc(16, 8))  # ties with "loop": the fourth type, left out
    sunday = conversation("sunday", 70.0, utc(15, 12))
    conversation("sunday-2", 80.0, utc(15, 22, 59))  # 23:59 on Sunday in Berlin
    failure(sunday, "error", utc(15, 12))
    conversation("tuesday", 5.0, utc(16, 23, 10))  # 00:10 on Tuesday in Berlin
    return worst, odd, third, rest


def test_the_summary_of_a_day_is_posted_once_with_its_figures(slack, monday):
    worst, odd, third, rest = monday
    send()
    assert deliveries() == [("daily_summary:2026-11-16", "daily_summary", "sent", 1)]
    page = f"{DASHBOARD}/conversations"
    assert slack.texts() == [
        "*ConvoSensei: Monday 16 November 2026* (Europe/Berlin)\n"
        "7 conversations, average health 60.0 (down 15.0 points on the day before)\n"
        "3 with a failure (50% of those scored; 1 not scored yet)\n"
        "Most frequent failures: error (3), refusal (2), loop (1)\n"
        "Least healthy:\n"
        f"• <{page}/{worst.id}/|checkout-1> health 20\n"
        f"• <{page}/{odd.id}/|refund &lt;vip&gt; &amp; co> health 35\n"
        f"• <{page}/{third.id}/|conv-50> health 50\n"
        f"• <{page}/{rest[0].id}/|conv-70> health 70\n"
        f"• <{page}/{rest[1].id}/|conv-90> health 90\n"
        f"<{DASHBOARD}/|Open the overview>"
    ]


def test_the_record_of_a_summary_names_its_day_and_no_conversation(slack, monday):
    send()
    assert AlertDelivery.objects.values_list("payload", "conversation_id").get() == ({"day": "2026-11-16"}, None)


def test_a_second_run_for_the_same_day_posts_nothing(slack, monday):
    send()
    assert daily_summary_record(day=DAY) is None
    assert (len(slack.requests), AlertDelivery.objects.count()) == (1, 1)


def test_a_delivery_task_delivered_again_after_the_summary_was_sent_posts_nothing(slack, monday):
    delivery_id = daily_summary_record(day=DAY)
    deliver_alerts.apply(kwargs={"delivery_ids": [delivery_id]})
    deliver_alerts.apply(kwargs={"delivery_ids": [delivery_id]})
    assert len(slack.requests) == 1


def test_each_day_has_a_summary_of_its_own(slack, monday):
    send(DAY)
    send(date(2026, 11, 17))
    assert [key for key, *_ in deliveries()] == ["daily_summary:2026-11-16", "daily_summary:2026-11-17"]


def test_a_day_without_conversations_still_says_so(slack):
    send()
    assert slack.texts() == [
        f"*ConvoSensei: Monday 16 November 2026* (Europe/Berlin)\nNo conversations yesterday. "
        f"<{DASHBOARD}/|Open the overview>"
    ]


def test_a_day_nothing_of_was_scored_yet_says_so_without_figures(slack):
    conversation("pending-1", None, utc(16, 12))
    send()
    assert slack.texts()[0].splitlines()[1:] == ["1 conversation, none scored yet", f"<{DASHBOARD}/|Open the overview>"]


def test_turned_off_the_task_records_and_sends_nothing(slack, monday):
    configure(slack.webhook_url, daily_summary=False)
    daily_summary.apply(kwargs={"day": DAY.isoformat()})
    assert (deliveries(), slack.requests) == ([], [])


def test_without_a_webhook_the_task_records_and_sends_nothing(slack, monday):
    configure("")
    daily_summary.apply(kwargs={"day": DAY.isoformat()})
    assert (deliveries(), slack.requests) == ([], [])


def test_the_summary_is_off_by_default(slack_saved):
    assert daily_summary_record(day=DAY) is None


def test_slack_unavailable_is_retried_and_then_the_summary_is_sent(slack, monday):
    slack.replies.append(Reply(503))
    send()
    assert (deliveries(), len(slack.requests)) == ([("daily_summary:2026-11-16", "daily_summary", "sent", 2)], 2)
    assert slack.requests[0].body == slack.requests[1].body


def test_rate_limiting_is_retried_with_the_wait_slack_asked_for(slack, monday):
    slack.replies.append(Reply(429, b"rate_limited", headers={"Retry-After": "30"}))
    send()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "sent",
        2,
        "Slack is rate limiting this webhook (429 rate_limited); it asks to wait 30 s.",
    )


def test_a_revoked_webhook_marks_the_summary_failed_at_once(slack, monday):
    slack.replies.append(Reply(404, b"no_service"))
    send()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error, len(slack.requests)) == (
        "failed",
        1,
        "Slack says the webhook was revoked (404 no_service).",
        1,
    )


def test_a_failed_summary_is_not_recorded_again_by_a_second_run(slack, monday):
    slack.replies.append(Reply(404, b"no_service"))
    send()
    assert (daily_summary_record(day=DAY), len(slack.requests)) == (None, 1)


def test_a_slack_down_for_every_retry_ends_failed_with_a_dead_letter(slack, monday, settings):
    slack.replies.extend(Reply(503) for _ in range(settings.TASK_MAX_RETRIES + 1))
    send()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, DeadLetter.objects.get().task_name) == (
        "failed",
        settings.TASK_MAX_RETRIES + 1,
        "alerts.deliver",
    )


def test_the_summary_quotes_no_message_content(slack):
    at = utc(16, 9)
    worst = conversation("card-1", 10.0, at, has_failures=True)
    MessageFactory(conversation=worst, content="My card number is 4111 1111 1111 1111", timestamp=at)
    FailureFactory(conversation=worst, type="error", description="The user wrote “4111 1111 1111 1111”.")
    send()
    assert "4111" not in slack.requests[0].body.decode()


def test_the_summary_is_never_sent_with_alerts(slack, monday):
    now = datetime.now(UTC)
    low = conversation("low-now", 5.0, now, ended_at=now)
    alert_ids = alerts_record(conversation_ids=[str(low.id)])
    with pytest.raises(ValueError, match="message of its own"):
        alert_deliveries_send(delivery_ids=[*alert_ids, daily_summary_record(day=DAY)], last_attempt=False)
    assert slack.requests == []


def test_a_summary_and_the_alerts_of_the_morning_go_out_as_two_messages(slack, monday):
    now = datetime.now(UTC)
    low = conversation("low-now", 5.0, now, ended_at=now)
    deliver_alerts.apply(kwargs={"delivery_ids": alerts_record(conversation_ids=[str(low.id)])})
    send()
    assert [text.splitlines()[0] for text in slack.texts()] == [
        "*ConvoSensei: 1 new alert*",
        "*ConvoSensei: Monday 16 November 2026* (Europe/Berlin)",
    ]


@pytest.mark.parametrize(
    ("zone", "now", "day"),
    [
        ("Europe/Berlin", utc(17, 7), date(2026, 11, 16)),  # 08:00 on Tuesday in Berlin
        ("Europe/Berlin", utc(16, 23, 30), date(2026, 11, 16)),  # 00:30 on Tuesday in Berlin, still Monday in UTC
        ("UTC", utc(16, 23, 30), date(2026, 11, 15)),
    ],
)
def test_the_summary_is_of_the_day_before_in_the_dashboard_zone(settings, zone, now, day):
    settings.DASHBOARD_TIME_ZONE = zone
    assert daily_summary_day(now=now) == day


def test_the_summary_never_logs_the_webhook_url(slack, monday, caplog):
    with caplog.at_level(logging.DEBUG):
        send()
    assert "standin-webhook-secret" not in caplog.text + repr([record.__dict__ for record in caplog.records])
