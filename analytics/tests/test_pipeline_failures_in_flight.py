"""Work in flight when a worker or Redis dies (SIGKILL): real PostgreSQL, a Redis of the test's own, real workers.

A worker is made to be mid-task deterministically without any hook in the product: the test holds the row lock
that scoring takes (`SELECT ... FOR UPDATE`), which recording an alert for the conversation waits on too, so the
worker has taken the message and waits on PostgreSQL when it is killed. Each test has its own redis-server, so that
the session's shared worker never takes its messages.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts.services import api_key_create
from alerts.models import AlertDelivery
from alerts.tasks import OVERDUE_AFTER, PENDING_EVALUATIONS, sweep_unevaluated
from analytics.models import DeadLetter
from analytics.services import conversation_score
from analytics.tasks import process_conversation, sweep_unscored
from analytics.tests.conftest import Worker, database_url, start_worker, wait_until
from analytics.tests.factories import conversation_with_turns
from conversations.models import Conversation, Failure, Message
from convosensei.celery import app
from convosensei.embedded import EmbeddedRedis
from convosensei.redis_client import redis_available, redis_client, reset_circuit
from ingestion.schemas import ConversationIn
from ingestion.services import conversations_enqueue_scoring, conversations_ingest, scoring_buffer
from ingestion.tests.payloads import transcript
from tests.standin import standin_ca_bundle

pytestmark = pytest.mark.django_db(transaction=True)

TRACK = "/api/v1/conversations/track"
# kombu's Redis transport keeps each message a worker has taken, until acknowledged, in this hash, and the time it
# was taken in this sorted set: a message taken longer than the visibility timeout ago is put back in its queue.
UNACKED, UNACKED_INDEX = "unacked", "unacked_index"


def publish_to(url: str) -> None:
    """Have this process's Celery app publish to `url`: the broker setting, and no producer pool left connected
    to the previous one (the app keeps two, as it does until a fork)."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_redis(settings):
    """A redis-server of the test's own, the broker of its workers and of this process (its ingestion, the sweep)."""
    server = EmbeddedRedis(data_dir=Path(tempfile.mkdtemp(prefix="convosensei-test-in-flight-"))).start()
    original = app.conf.broker_url
    settings.REDIS_URL = settings.CELERY_BROKER_URL = server.url
    publish_to(server.url)
    reset_circuit()
    try:
        yield server
    finally:
        scoring_buffer.flush()  # nothing of this test's left for the next one to send
        publish_to(original)
        reset_circuit()
        server.stop()


@pytest.fixture
def workers(private_redis):
    """Start workers on the test's Redis (`workers()`, `workers(pool="prefork")`); all stopped at the end."""
    started: list[Worker] = []

    def start(**options: str) -> Worker:
        started.append(start_worker(REDIS_URL=private_redis.url, **options))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def with_a_fallback(external_id: str) -> dict:
    """A transcript whose bot fails to understand once: its scoring stores exactly one failure."""
    body = transcript(external_id)
    body["messages"][1]["content"] = "Sorry, I didn't understand that. Could you rephrase?"
    return body


def unqueued(external_id: str) -> str:
    """A conversation stored as the endpoint stores it, its scoring not enqueued yet; returns its id."""
    conversation = ConversationIn.model_validate(with_a_fallback(external_id)).model_dump()
    [result] = conversations_ingest(conversations=[conversation], api_key_id=None, enqueue_scoring=False)
    return str(result.conversation_id)


@pytest.fixture
def track(client):
    """POST a transcript to the ingestion endpoint, as an app does; returns the conversation's id."""
    _, key = api_key_create(name="in-flight test")

    def post(external_id: str) -> str:
        body = with_a_fallback(external_id)
        response = client.post(TRACK, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 202
        return response.json()["conversation_id"]

    return post


@contextmanager
def row_locked(conversation_id: str):
    """Hold the conversation's row lock from a connection of the test's own; yields a check that a scoring waits
    on it. Leaving the block releases the lock."""
    url = database_url(connection.settings_dict)
    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", [conversation_id])
        pid = holder.info.backend_pid

        def waited_on() -> bool:
            with psycopg.connect(url, autocommit=True) as probe:
                query = "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
                return probe.execute(query, [pid]).fetchone()[0] > 0

        yield waited_on


@contextmanager
def scoring_in_hand(conversation_id: str):
    """Enqueue the conversation's scoring and return once a worker has taken it and waits in the middle of it."""
    with row_locked(conversation_id) as waited_on:
        assert conversations_enqueue_scoring(conversation_ids=[conversation_id])
        assert wait_until(waited_on, timeout=15)
        yield


def processing(conversation_id: str) -> tuple:
    return Conversation.objects.filter(id=conversation_id).values_list("processing_state", "processed_at").get()


def scored(*conversation_ids: str) -> bool:
    return Conversation.objects.filter(id__in=conversation_ids, processing_state="scored").count() == len(
        conversation_ids
    )


def outcome(conversation_id: str) -> tuple[str, int, int]:
    """(processing state, its failures, dead letters): ("scored", 1, 0) when nothing was lost or doubled."""
    return (
        processing(conversation_id)[0],
        Failure.objects.filter(conversation_id=conversation_id).count(),
        DeadLetter.objects.count(),
    )


def deliveries(task_id: str) -> int:
    """How often a message was delivered to a worker, as PipelineTask counts it (its first attempt)."""
    return int(redis_client().get(f"cs:deliveries:{task_id}:0") or 0)


def kill(process) -> None:
    process.kill()
    process.wait(10)


@pytest.fixture
def killed_mid_scoring(workers, settings) -> tuple[str, str]:
    """A conversation whose worker (the whole solo-pool process) was SIGKILLed while scoring it; returns
    (conversation id, the delivery tag of the message the dead worker still holds unacknowledged)."""
    settings.SWEEP_UNSCORED_AFTER_SECONDS = 0  # the sweep, called by the tests, need not wait a minute
    conversation_id = unqueued("killed-mid-scoring")
    worker = workers()
    with scoring_in_hand(conversation_id):
        kill(worker.process)
    [held] = redis_client().hkeys(UNACKED)
    return conversation_id, held.decode()


def test_a_worker_killed_mid_scoring_loses_nothing_the_sweep_has_a_new_worker_score_it(killed_mid_scoring, workers):
    conversation_id, _ = killed_mid_scoring
    workers()
    assert sweep_unscored() == 1
    wait_until(lambda: scored(conversation_id), timeout=15)
    assert outcome(conversation_id) == ("scored", 1, 0)


def test_the_message_a_killed_worker_held_comes_back_after_the_visibility_timeout_and_scores_nothing_twice(
    killed_mid_scoring, workers, settings
):
    conversation_id, held = killed_mid_scoring
    task_id = json.loads(redis_client().hget(UNACKED, held))[0]["headers"]["id"]
    workers()
    sweep_unscored()
    assert wait_until(lambda: scored(conversation_id), timeout=15)
    first_scoring = processing(conversation_id)
    # What an hour's wait does: the held message was taken more than the visibility timeout ago. A worker looks for
    # such messages when it starts (then every unacked_restore_interval × unacked_restore_throttle, 100 s).
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    redis_client().zadd(UNACKED_INDEX, {held: time.time() - timeout - 1})
    workers()
    wait_until(lambda: deliveries(task_id) == 2 and not redis_client().hlen(UNACKED), timeout=15)
    assert (deliveries(task_id), redis_client().hlen(UNACKED), processing(conversation_id)) == (2, 0, first_scoring)
    assert outcome(conversation_id) == ("scored", 1, 0)


def test_a_pool_process_killed_mid_scoring_has_its_task_delivered_again_at_once(workers):
    conversation_id = unqueued("pool-process-killed")
    worker = workers(pool="prefork")  # the production pool: a parent that outlives the process doing the work
    with scoring_in_hand(conversation_id):
        pid = worker.process.pid
        [child] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        os.kill(int(child), signal.SIGKILL)
    # No sweep here, and the visibility timeout is an hour: only the message put back at once can score it.
    wait_until(lambda: scored(conversation_id), timeout=15)
    assert outcome(conversation_id) == ("scored", 1, 0)


def test_redis_killed_under_a_running_worker_loses_nothing_the_worker_reconnects_and_the_sweep_catches_up(
    private_redis, workers, track, settings
):
    settings.SWEEP_UNSCORED_AFTER_SECONDS = 0
    workers()
    before = track("before-outage")
    assert wait_until(lambda: scored(before), timeout=15)
    in_flight = unqueued("in-flight")
    with scoring_in_hand(in_flight):
        kill(private_redis.process)
    assert wait_until(lambda: scored(in_flight), timeout=15)  # finished, though its acknowledgement cannot be sent
    during = track("during-outage")
    scoring_buffer.flush()
    assert wait_until(lambda: not redis_available(), timeout=5)  # its publish has failed (not merely not run yet)
    private_redis.start()  # same port, same append-only file
    reset_circuit()  # this process's own pause after a failed publish (BACKOFF_SECONDS): not what is tested here

    after = track("after-outage")
    assert wait_until(lambda: scored(after), timeout=30), "the worker did not reconnect on its own"
    assert processing(during)[0] == "pending"  # its enqueue failed: the sweep's to find
    assert sweep_unscored() == 1
    wait_until(lambda: scored(during), timeout=15)
    assert [outcome(c) for c in (before, in_flight, during, after)] == [("scored", 1, 0)] * 4


def terminate_waiting_backends() -> None:
    """End the PostgreSQL sessions of killed workers still waiting for the row lock: a session waiting for a lock
    notices its client is gone only once it gets it. A database server ends them in the end; here, at once."""
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as admin:
        query = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        admin.execute(query, [connection.settings_dict["NAME"]])


def test_a_conversation_that_kills_the_whole_worker_each_time_is_given_up_after_three_deaths(workers, settings):
    """Under `--pool solo` each death takes the whole worker and the message with it (back only after an hour);
    the sweep brings the conversation again each time in a new message, so the per-message cap never trips."""
    settings.SWEEP_UNSCORED_AFTER_SECONDS = 0
    poison, bystander = unqueued("kills-its-worker"), unqueued("scored-beside-it")
    with row_locked(poison) as waited_on:  # what kills the worker: whatever scores `poison` dies in it
        for _ in range(3):
            worker = workers()
            assert sweep_unscored() >= 1
            assert wait_until(waited_on, timeout=15)
            kill(worker.process)
            terminate_waiting_backends()
    # Scoring it would no longer kill a worker: had it not been given up, the next worker would score it.
    workers()
    sweep_unscored()
    assert wait_until(lambda: processing(poison)[0] == "failed" and scored(bystander), timeout=20)
    letter = DeadLetter.objects.get()
    assert (letter.task_name, letter.kwargs) == ("analytics.process_conversation", {"conversation_id": poison})
    assert "died in each of 3 scorings" in letter.error
    assert outcome(bystander) == ("scored", 1, 1)


def scored_with_a_new_failure(external_id: str) -> str:
    """A conversation of a minute ago whose bot answered with an error, scored: one new high failure to alert on."""
    start = datetime.now(UTC) - timedelta(minutes=1)
    conversation = conversation_with_turns("Where is my order?", "Error: upstream timeout.", start=start,
                                           external_id=external_id)  # fmt: skip
    Message.objects.filter(conversation=conversation, position=1).update(metadata={"error": "upstream timeout"})
    conversation_score(conversation_id=conversation.id)
    return str(conversation.id)


def test_an_alert_evaluation_held_by_a_worker_killed_whole_is_sent_again_by_the_sweep_not_an_hour_later(
    workers, slack_saved
):
    """The evaluation's message comes back only after the visibility timeout, an hour; it was recorded as pending
    when it was sent, so the alerts' sweep sends it again once OVERDUE_AFTER has passed (beat: every 2 minutes)."""
    slack = {"SLACK_WEBHOOK_HOSTS": slack_saved.netloc, "REQUESTS_CA_BUNDLE": standin_ca_bundle()}
    conversation_id = scored_with_a_new_failure("killed-evaluating")
    worker = workers(**slack)
    # Scored already, its scoring task locks nothing and queues its follow-ups (as a redelivered one does); recording
    # the alert checks the conversation's row (the delivery's foreign key), and waits on the lock held here.
    with row_locked(conversation_id) as waited_on:
        process_conversation.apply_async(kwargs={"conversation_id": conversation_id})
        assert wait_until(waited_on, timeout=15)
        kill(worker.process)
        terminate_waiting_backends()  # or the dead worker's transaction would commit once the lock is free
    [held] = redis_client().hvals(UNACKED)
    assert json.loads(held)[0]["headers"]["task"] == "alerts.evaluate_conversations"
    assert not AlertDelivery.objects.exists()

    workers(**slack)
    # OVERDUE_AFTER later, without waiting for it.
    redis_client().zadd(PENDING_EVALUATIONS, {conversation_id: time.time() - OVERDUE_AFTER.total_seconds()}, xx=True)
    assert sweep_unevaluated() == 1
    assert wait_until(lambda: AlertDelivery.objects.filter(status="sent").exists(), timeout=30)
    [text] = slack_saved.texts()
    assert "|killed-evaluating>" in text
    # The dead worker's message is still held (its hour is not up); the evaluation is no longer pending.
    assert (redis_client().hlen(UNACKED), redis_client().zcard(PENDING_EVALUATIONS)) == (1, 0)
