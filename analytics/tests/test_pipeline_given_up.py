"""A scoring that is given up (after its retries, or after its worker died too often) loses nothing and loops
nowhere: the conversation is marked `failed` and left to a replay, and a batch is scored one by one.

A worker dying in a scoring is what a start that never ends stands for here: `scoring_started` entered and never
left, as in a process killed inside the block (test_pipeline_failures_in_flight.py kills real workers)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import DeadLetter
from analytics.services import conversation_score, conversations_unscored_ids
from analytics.tasks import process_conversation, process_conversations, scoring_deaths, scoring_started
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


@pytest.fixture
def worker_died_scoring():
    """`worker_died_scoring(conversation)`: a start on it never ended. The blocks are held open (a block let go of
    is closed by the garbage collector, which ends its start) until the test is over."""
    held = []

    def died(conversation: Conversation) -> None:
        held.append(scoring_started([str(conversation.id)]))
        held[-1].__enter__()

    return died


def test_a_batch_scores_the_others_and_sends_a_conversation_a_worker_died_scoring_to_a_task_of_its_own(
    worker_died_scoring,
):
    suspect = _waiting_a_while("Where is my order?", "It shipped.")
    other = _waiting_a_while("Can I return it?", "Yes, within 30 days.")
    worker_died_scoring(suspect)
    redis_client().delete(QUEUE)
    process_conversations(conversation_ids=[str(suspect.id), str(other.id)])
    assert (_state(suspect), _state(other)) == ("pending", "scored")
    assert _queued_kwargs() == [{"conversation_id": str(suspect.id)}]


def test_a_conversation_whose_worker_died_in_three_scorings_is_given_up_whatever_messages_brought_them(
    worker_died_scoring,
):
    poison = _waiting_a_while("Where is my order?", "It shipped.")
    for _ in range(3):
        worker_died_scoring(poison)
    process_conversation(conversation_id=str(poison.id))
    letter = DeadLetter.objects.get()
    assert (_state(poison), letter.kwargs, letter.attempts) == ("failed", {"conversation_id": str(poison.id)}, 3)
    assert "died in each of 3 scorings" in letter.error
    assert scoring_deaths([str(poison.id)]) == {str(poison.id): 0}  # a replay counts afresh


def test_two_deaths_are_not_enough_to_give_up_and_a_scoring_that_finishes_or_raises_counts_none(
    worker_died_scoring,
):
    conversation = _waiting_a_while("Where is my order?", "It shipped.")
    for _ in range(2):
        worker_died_scoring(conversation)
    with pytest.raises(RuntimeError), scoring_started([str(conversation.id)]):
        raise RuntimeError("a failure that a retry handles")
    process_conversation(conversation_id=str(conversation.id))
    assert (_state(conversation), DeadLetter.objects.count()) == ("scored", 0)
    assert scoring_deaths([str(conversation.id)]) == {str(conversation.id): 2}
