"""A scoring that is given up (after its retries, or after its worker died too often) loses nothing and loops
nowhere: the conversation is marked `failed` and left to a replay, and a batch is scored one by one."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import DeadLetter
from analytics.services import conversation_score, conversations_unscored_ids
from analytics.tasks import process_conversation, process_conversations
from analytics.tests.factories import conversation_with_turns
from conversations.models import Conversation
from convosensei.redis_client import redis_client

pytestmark = pytest.mark.django_db

QUEUE = "process-conversation"


def _waiting_a_while(*turns: str) -> Conversation:
    conversation = conversation_with_turns(*turns, processing_state="pending")
    Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now() - timedelta(hours=1))
    return conversation


def _state(conversation: Conversation) -> str:
    return Conversation.objects.get(id=conversation.id).processing_state


def _queued_kwargs() -> list[dict]:
    """The kwargs of the messages waiting in the process-conversation queue (kombu's JSON)."""
    return [json.loads(base64.b64decode(json.loads(raw)["body"]))[1] for raw in redis_client().lrange(QUEUE, 0, -1)]


def test_a_conversation_whose_scoring_is_given_up_is_failed_and_not_swept_again():
    poison = _waiting_a_while("Where is my order?", "It shipped.")
    waiting = _waiting_a_while("Can I return it?", "Yes, within 30 days.")
    process_conversation.give_up((), {"conversation_id": str(poison.id)}, error="RuntimeError: boom", attempts=3)
    assert (_state(poison), DeadLetter.objects.get().kwargs) == ("failed", {"conversation_id": str(poison.id)})
    assert conversations_unscored_ids(older_than=timedelta(0), limit=10) == [str(waiting.id)]


def test_replaying_a_failed_conversation_scores_it():
    poison = _waiting_a_while("Where is my order?", "It shipped.")
    process_conversation.give_up((), {"conversation_id": str(poison.id)}, error="RuntimeError: boom", attempts=3)
    conversation_score(conversation_id=poison.id, only_unscored=True)  # what the replayed task runs
    assert _state(poison) == "scored"


def test_a_scored_conversation_stays_scored_when_an_older_task_for_it_is_given_up():
    conversation = _waiting_a_while("Where is my order?", "It shipped.")
    conversation_score(conversation_id=conversation.id)
    process_conversation.give_up((), {"conversation_id": str(conversation.id)}, error="lost", attempts=1)
    assert _state(conversation) == "scored"


def test_a_given_up_task_with_an_id_that_names_nothing_is_still_a_dead_letter():
    process_conversation.give_up((), {"conversation_id": "not-a-uuid"}, error="ValidationError", attempts=3)
    assert DeadLetter.objects.count() == 1


def test_a_batch_given_up_is_scored_one_conversation_at_a_time_instead_of_dead_lettered():
    first = _waiting_a_while("Where is my order?", "It shipped.")
    second = _waiting_a_while("Can I return it?", "Yes, within 30 days.")
    ids = [str(first.id), str(second.id)]
    redis_client().delete(QUEUE)
    process_conversations.give_up((), {"conversation_ids": ids}, error="Delivered more than 3 times", attempts=1)
    assert sorted(kwargs["conversation_id"] for kwargs in _queued_kwargs()) == sorted(ids)
    assert (DeadLetter.objects.count(), _state(first), _state(second)) == (0, "pending", "pending")
