"""Redis stopped and started for real: ingestion keeps working, and the sweep catches up."""

import base64
import json

import pytest

from analytics.tasks import sweep_unscored
from conversations.models import Conversation
from convosensei.redis_client import redis_client, reset_circuit
from ingestion.services import scoring_buffer
from ingestion.tests.payloads import transcript
from tests import plugin

TRACK = "/api/v1/conversations/track"
QUEUE = "process-conversation"

pytestmark = pytest.mark.django_db


def queued_conversation_ids() -> list[str]:
    """Conversation ids in the messages waiting in the process-conversation queue (kombu's JSON)."""
    ids = []
    for raw in redis_client().lrange(QUEUE, 0, -1):
        envelope = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        ids.extend(kwargs["conversation_ids"])
    return ids


def test_track_with_redis_stopped_stores_the_data_and_the_sweep_enqueues_it_once_redis_is_back(
    post_json, raw_key, settings, django_capture_on_commit_callbacks
):
    settings.SWEEP_UNSCORED_AFTER_SECONDS = 0
    redis_client().delete(QUEUE)
    plugin.redis_server.stop()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_json(TRACK, transcript("during-outage"), raw_key)
        assert scoring_buffer.flush() is False
    finally:
        plugin.redis_server.start()
        reset_circuit()
    conversation = Conversation.objects.get(external_id="during-outage")
    assert response.status_code == 202
    assert (conversation.message_count, conversation.processing_state) == (6, "pending")
    assert queued_conversation_ids() == []

    assert sweep_unscored() == 1
    assert queued_conversation_ids() == [str(conversation.id)]


def test_track_with_redis_up_enqueues_scoring_after_commit(post_json, raw_key, django_capture_on_commit_callbacks):
    redis_client().delete(QUEUE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(TRACK, transcript("normal"), raw_key)
    scoring_buffer.flush()
    assert queued_conversation_ids() == [response.json()["conversation_id"]]
