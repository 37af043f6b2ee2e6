"""Alert deliveries whose task was lost (a worker killed whole, a Redis that lost its data) are sent after all: the
sweep finds them by how late their attempt is (with a real worker: analytics/tests/test_pipeline_alerts.py). So are
evaluations for new alerts whose message a worker killed whole holds: recorded as pending in Redis when they are
sent, they are sent again once overdue (with a real worker killed: analytics/tests/test_pipeline_failures_in_flight.py).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertDelivery
from alerts.tasks import (
    OVERDUE_AFTER,
    PENDING_EVALUATIONS,
    SENT_AGAIN,
    SENT_AGAIN_AT_MOST,
    evaluate_conversations,
    evaluation_enqueue,
    sweep_overdue,
    sweep_unevaluated,
)
from analytics.models import DeadLetter
from analytics.tasks import process_conversation
from analytics.tests.factories import conversation_with_turns
from analytics.tests.test_pipeline_failures_in_flight import private_redis  # noqa: F401 (fixture)
from convosensei.queues import Queue
from convosensei.redis_client import redis_client


def pending(key: str, *, recorded_ago: timedelta, next_attempt_in: timedelta | None = None, **fields):
    delivery = AlertDelivery.objects.create(
        dedupe_key=f"low_health:{key}",
        kind=AlertDelivery.Kind.LOW_HEALTH,
        payload={"conversation_id": "00000000-0000-4000-8000-000000000000", "external_id": key,
                 "health_score": 12.0, "threshold": 40.0},
        **fields,
    )  # fmt: skip
    due = None if next_attempt_in is None else timezone.now() + next_attempt_in
    AlertDelivery.objects.filter(id=delivery.id).update(created_at=timezone.now() - recorded_ago, next_attempt_at=due)
    return delivery


@pytest.mark.django_db
def test_a_delivery_recorded_just_now_or_waiting_for_its_retry_or_done_is_not_swept():
    pending("just-recorded", recorded_ago=timedelta(seconds=30))
    pending("retry-due-later", recorded_ago=timedelta(hours=1), next_attempt_in=timedelta(minutes=30))
    pending("retry-due-just-now", recorded_ago=timedelta(hours=1), next_attempt_in=timedelta(minutes=-1))
    pending("sent", recorded_ago=timedelta(hours=1), status=AlertDelivery.Status.SENT)
    pending("failed", recorded_ago=timedelta(hours=1), status=AlertDelivery.Status.FAILED)
    assert sweep_overdue() == 0


# A redis-server of the test's own: the messages sent wait there, where the suite's shared worker never takes them.
own_redis = pytest.mark.usefixtures("private_redis")


def queued_evaluations() -> list[list[str]]:
    """The conversation ids of each message waiting in the alerts queue (kombu's JSON)."""
    return [
        json.loads(base64.b64decode(json.loads(raw)["body"]))[1]["conversation_ids"]
        for raw in redis_client().lrange(Queue.ALERTS.value, 0, -1)
    ]


def asked_ago(conversation_id: str, ago: timedelta) -> None:
    """Move a pending evaluation's ask back in time (nothing for one no longer pending)."""
    redis_client().zadd(PENDING_EVALUATIONS, {conversation_id: time.time() - ago.total_seconds()}, xx=True)


def pending_evaluations() -> list[str]:
    return [conversation_id.decode() for conversation_id in redis_client().zrange(PENDING_EVALUATIONS, 0, -1)]


@pytest.mark.django_db
@own_redis
def test_scoring_records_the_evaluation_it_sends_as_pending(slack_saved):
    conversation_id = str(conversation_with_turns("Where is my order?", "It shipped.").id)
    process_conversation(conversation_id=conversation_id)  # run here: scores, then queues its follow-ups
    assert (pending_evaluations(), queued_evaluations()) == ([conversation_id], [[conversation_id]])


@pytest.mark.django_db
@own_redis
def test_without_a_slack_webhook_scoring_sends_no_evaluation_and_records_none():
    conversation_id = str(conversation_with_turns("Where is my order?", "It shipped.").id)
    process_conversation(conversation_id=conversation_id)
    assert (pending_evaluations(), queued_evaluations()) == ([], [])


@pytest.mark.django_db
@own_redis
def test_an_evaluation_asked_for_and_never_run_is_sent_again_once_overdue_and_one_done_is_not():
    never_run, done = str(uuid.uuid4()), str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[never_run])
    evaluation_enqueue(conversation_ids=[done])
    evaluate_conversations(conversation_ids=[done])  # run here; the message sent for `never_run` is lost
    redis_client().delete(Queue.ALERTS.value)
    for conversation_id in (never_run, done):
        asked_ago(conversation_id, OVERDUE_AFTER)
    assert sweep_unevaluated() == 1
    assert queued_evaluations() == [[never_run]]
    assert sweep_unevaluated() == 0  # asked for again just now: sent again only if still pending OVERDUE_AFTER later


@pytest.mark.django_db
@own_redis
def test_an_evaluation_asked_for_less_than_overdue_after_ago_is_not_sent_again():
    conversation_id = str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[conversation_id])
    asked_ago(conversation_id, OVERDUE_AFTER - timedelta(seconds=30))
    assert (sweep_unevaluated(), pending_evaluations()) == (0, [conversation_id])


@pytest.mark.django_db
@own_redis
def test_evaluations_asked_for_more_than_a_day_ago_are_trimmed_at_the_next_ask():
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[old])
    asked_ago(old, timedelta(days=1, seconds=1))
    evaluation_enqueue(conversation_ids=[new])
    assert pending_evaluations() == [new]


@pytest.mark.django_db
@own_redis
def test_an_evaluation_given_up_is_left_to_its_dead_letter_not_sent_again():
    conversation_id = str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[conversation_id])
    kwargs = {"conversation_ids": [conversation_id]}
    evaluate_conversations.give_up((), kwargs, error="RuntimeError: boom", attempts=3)
    asked_ago(conversation_id, OVERDUE_AFTER)
    assert (sweep_unevaluated(), DeadLetter.objects.get().kwargs) == (0, kwargs)


@pytest.mark.django_db
@own_redis
def test_an_evaluation_lost_every_time_is_sent_again_three_times_then_left_to_its_messages():
    # Lost every time (it kills the worker it runs on): new messages every OVERDUE_AFTER would kill a worker for ever.
    conversation_id = str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[conversation_id])
    sent = []
    for _ in range(SENT_AGAIN_AT_MOST + 1):
        asked_ago(conversation_id, OVERDUE_AFTER)
        sent.append(sweep_unevaluated())
    assert sent == [1] * SENT_AGAIN_AT_MOST + [0]
    assert (pending_evaluations(), redis_client().hlen(SENT_AGAIN)) == ([], 0)


@pytest.mark.django_db
@own_redis
def test_an_evaluation_done_after_being_sent_again_counts_afresh():
    conversation_id = str(uuid.uuid4())
    evaluation_enqueue(conversation_ids=[conversation_id])
    asked_ago(conversation_id, OVERDUE_AFTER)
    assert sweep_unevaluated() == 1
    evaluate_conversations(conversation_ids=[conversation_id])
    assert (pending_evaluations(), redis_client().hlen(SENT_AGAIN)) == ([], 0)
