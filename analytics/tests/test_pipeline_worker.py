"""The pipeline end to end: the real HTTP API, Redis and a real Celery worker process."""

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import call_command

from accounts.services import api_key_create
from analytics.models import DeadLetter
from analytics.tasks import process_conversation
from analytics.tests.conftest import wait_until
from conversations.models import Conversation, Failure

TRACK = "/api/v1/conversations/track"


def _transcript(index: int) -> dict:
    """Every other conversation has the bot fail to understand; all have user and assistant turns."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(minutes=index)
    reply = "Sorry, I didn't understand that. Could you rephrase?" if index % 2 else "It ships on Monday."
    turns = [("user", f"When does order {index} ship?"), ("assistant", reply), ("user", "Thanks.")]
    return {
        "external_id": f"worker-{index}",
        "messages": [
            {"role": role, "content": text, "timestamp": (start + timedelta(seconds=10 * i)).isoformat()}
            for i, (role, text) in enumerate(turns)
        ],
    }


@pytest.fixture
def fifty_ingested_through_the_api(live_server, celery_worker):
    """POST 50 conversations to the live server one by one; returns the time the first was sent."""
    _, key = api_key_create(name="worker test")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    started = time.monotonic()
    url = f"{live_server.url}{TRACK}"
    statuses = [session.post(url, json=_transcript(i), timeout=10).status_code for i in range(50)]
    assert statuses == [202] * 50
    return started


@pytest.mark.django_db(transaction=True)
def test_fifty_conversations_ingested_through_the_api_are_all_scored_within_30_seconds(fifty_ingested_through_the_api):
    def scored() -> int:
        return Conversation.objects.filter(processing_state="scored", health_score__isnull=False).count()

    wait_until(lambda: scored() == 50, timeout=30 - (time.monotonic() - fifty_ingested_through_the_api))
    assert scored() == 50


@pytest.mark.django_db(transaction=True)
def test_conversations_scored_by_the_worker_have_their_failures_stored(fifty_ingested_through_the_api):
    wait_until(lambda: Conversation.objects.filter(processing_state="scored").count() == 50, timeout=30)
    assert Failure.objects.filter(type="bot_fallback").values("conversation").distinct().count() == 25


def _dead_letters() -> list[tuple]:
    return list(DeadLetter.objects.order_by("id").values_list("task_name", "kwargs", "attempts"))


# A conversation id that does not parse fails on every attempt: an honest task that fails every time.
UNPARSABLE = {"conversation_id": "not-a-uuid"}


@pytest.mark.django_db(transaction=True)
def test_a_task_failing_every_time_ends_as_one_dead_letter_after_its_retries(celery_worker):
    process_conversation.apply_async(kwargs=UNPARSABLE)
    wait_until(lambda: DeadLetter.objects.exists(), timeout=30)
    time.sleep(3)  # longer than a retry's backoff here (1 s): a second row would have appeared by now
    assert _dead_letters() == [("analytics.process_conversation", UNPARSABLE, 3)]  # first run + TASK_MAX_RETRIES=2


@pytest.mark.django_db(transaction=True)
def test_replay_dead_letters_runs_the_dead_lettered_task_again(celery_worker):
    process_conversation.apply_async(kwargs=UNPARSABLE)
    wait_until(lambda: DeadLetter.objects.exists(), timeout=30)
    call_command("replay_dead_letters", stdout=io.StringIO())
    wait_until(lambda: DeadLetter.objects.count() == 2, timeout=30)
    assert _dead_letters() == [("analytics.process_conversation", UNPARSABLE, 3)] * 2
