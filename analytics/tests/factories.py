"""Rows of the analytics pipeline's tests, built with factory_boy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from conversations.models import Conversation, Failure, Message

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    external_id = factory.Sequence(lambda n: f"conv-{n}")
    environment = "test"
    started_at = START
    last_message_at = START


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    position = factory.Sequence(lambda n: n)
    role = Message.Role.USER
    content = "Hello"
    timestamp = START
    dedupe_key = factory.Sequence(lambda n: f"k:{n}")


class FailureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Failure

    conversation = factory.SubFactory(ConversationFactory)
    message = None
    type = "refusal"
    severity = Failure.Severity.MEDIUM
    description = "The bot declined to help."


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
