"""Rows of the analytics pipeline's tests: the dashboard tests' factories, at a fixed time and unscored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from conversations.models import Conversation, Message
from conversations.tests import factories as base

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


class ConversationFactory(base.ConversationFactory):
    """A conversation as ingestion leaves it (unscored, no messages counted), at a fixed time."""

    environment = "test"
    started_at = START
    last_message_at = START
    message_count = 0
    health_score = None
    processing_state = Conversation.ProcessingState.PENDING


class MessageFactory(base.MessageFactory):
    conversation = factory.SubFactory(ConversationFactory)
    content = "Hello"
    timestamp = START


class FailureFactory(base.FailureFactory):
    conversation = factory.SubFactory(ConversationFactory)
    evidence = factory.LazyFunction(dict)


def conversation_with_turns(*turns: str, start: datetime = START, **fields) -> Conversation:
    """A conversation whose turns alternate user, assistant, … one minute apart."""
    conversation = ConversationFactory(
        started_at=start, last_message_at=start + timedelta(minutes=max(len(turns) - 1, 0)), **fields
    )
    for position, text in enumerate(turns):
        MessageFactory(
            conversation=conversation,
            position=position,
            role=Message.Role.USER if position % 2 == 0 else Message.Role.ASSISTANT,
            content=text,
            timestamp=start + timedelta(minutes=position),
        )
    conversation.message_count = len(turns)
    conversation.save(update_fields=["message_count"])
    return conversation
