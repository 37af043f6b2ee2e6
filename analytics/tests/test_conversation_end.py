"""A conversation idle for CONVERSATION_IDLE_MINUTES is ended and waits for its final scoring: since now, not since
its last message."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.selectors import pipeline_attention
from analytics.services import conversations_mark_ended, conversations_unscored_ids
from conversations.tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_an_ended_conversation_waits_for_its_final_scoring_from_the_moment_it_ended():
    long_ago = timezone.now() - timedelta(hours=1)
    conversation = ConversationFactory(last_message_at=long_ago)
    type(conversation).objects.filter(id=conversation.id).update(updated_at=long_ago)  # its last ingestion

    assert conversations_mark_ended() == [str(conversation.id)]
    conversation.refresh_from_db()
    assert (conversation.processing_state, conversation.ended_at is not None) == ("pending", True)
    # The worker was sent it just now: the sweep does not send it again, and the overview does not call it late.
    assert conversations_unscored_ids(older_than=timedelta(seconds=60), limit=10) == []
    assert pipeline_attention(waiting_longer_than=timedelta(minutes=5))["waiting"] == 0
