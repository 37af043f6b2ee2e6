"""Rows of the dashboard API's tests, built with factory_boy."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.utils import timezone

from analytics.models import PatternConversation, UsagePattern
from conversations.models import Conversation, Failure, Message, SavedView


def hours_ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    external_id = factory.Sequence(lambda n: f"conv-{n}")
    environment = "production"
    started_at = factory.LazyFunction(lambda: hours_ago(2))
    last_message_at = factory.LazyFunction(lambda: hours_ago(1))
    message_count = 2
    health_score = 80.0
    processing_state = Conversation.ProcessingState.SCORED


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    position = factory.Sequence(lambda n: n)
    role = Message.Role.USER
    content = "Hello, I need help with my order."
    timestamp = factory.LazyFunction(lambda: hours_ago(1))
    dedupe_key = factory.Sequence(lambda n: f"k:{n}")


class FailureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Failure

    conversation = factory.SubFactory(ConversationFactory, has_failures=True, failure_count=1)
    message = None
    type = "refusal"
    severity = Failure.Severity.MEDIUM
    description = "The bot declined to help."
    evidence = factory.LazyFunction(lambda: {"message_index": 1})


class SavedViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedView

    name = factory.Sequence(lambda n: f"view {n}")
    scope = SavedView.Scope.CONVERSATIONS
    config = factory.LazyFunction(lambda: {"timeframe": "7d", "has_failures": True})


class UsagePatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsagePattern

    label = factory.Sequence(lambda n: f"pattern {n}")
    keywords = factory.LazyFunction(lambda: ["refund", "order"])
    size = 10
    avg_health = 70.0
    failure_rate = 0.2
    size_change = 0.5
    period_start = factory.LazyFunction(lambda: hours_ago(24 * 7))
    period_end = factory.LazyFunction(lambda: hours_ago(0))
    analysis_run = factory.LazyFunction(uuid.uuid4)


class PatternConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatternConversation

    pattern = factory.SubFactory(UsagePatternFactory)
    conversation = factory.SubFactory(ConversationFactory)
    similarity = 0.9
