"""GET conversations/{id}, its messages, health, failures and similar conversations."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from analytics.embeddings import embeddings_available
from analytics.models import EMBEDDING_DIMENSIONS, ConversationEmbedding
from conversations.tests.factories import ConversationFactory, FailureFactory, MessageFactory, hours_ago

UNKNOWN = uuid.uuid4()

BREAKDOWN = {
    "health": 62.0,
    "formula": "health = 100 - sum(points); points = 100 * weight * value",
    "components": {
        "failures": {
            "value": 0.5,
            "weight": 0.3,
            "points": 15.0,
            "evidence_indexes": [1],
            "evidence_message_ids": [11],
            "detail": {"types": ["loop"]},
        },
        "sentiment": {"value": 0.2, "weight": 0.1, "points": 2.0, "evidence_indexes": [], "detail": {}},
    },
    "turns": {
        "user_dissatisfaction": {"2": 0.05, "0": 0.4},
        "bot_failure_evidence": {"1": 0.12},
        "message_ids": {"0": 10, "1": 11, "2": 12},
    },
}


def test_detail_shows_the_conversation(api):
    conversation = ConversationFactory(external_id="ext-9", metadata={"plan": "pro"})
    body = api.get(f"/api/v1/conversations/{conversation.id}").json()
    assert (body["external_id"], body["metadata"]) == ("ext-9", {"plan": "pro"})


@pytest.mark.parametrize("suffix", ["", "/messages", "/health", "/failures", "/similar"])
def test_unknown_conversation_is_404_in_the_envelope(api, suffix, settings):
    settings.FEATURE_EMBEDDINGS = True
    response = api.get(f"/api/v1/conversations/{UNKNOWN}{suffix}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_messages_come_in_transcript_order(api):
    conversation = ConversationFactory()
    later = MessageFactory(conversation=conversation, position=1, timestamp=hours_ago(1), content="second")
    earlier = MessageFactory(conversation=conversation, position=0, timestamp=hours_ago(2), content="first")
    body = api.get(f"/api/v1/conversations/{conversation.id}/messages").json()
    assert [m["id"] for m in body["results"]] == [earlier.id, later.id]


def test_messages_page_through_every_message_once(api):
    conversation = ConversationFactory()
    start = hours_ago(3)
    messages = [
        MessageFactory(conversation=conversation, position=i, timestamp=start + timedelta(seconds=i // 2))
        for i in range(7)
    ]
    first = api.get(f"/api/v1/conversations/{conversation.id}/messages", {"page_size": 4}).json()
    second = api.get(
        f"/api/v1/conversations/{conversation.id}/messages", {"page_size": 4, "cursor": first["next_cursor"]}
    ).json()
    assert [m["id"] for m in first["results"] + second["results"]] == [m.id for m in messages]


def test_messages_page_size_is_validated(api):
    conversation = ConversationFactory()
    response = api.get(f"/api/v1/conversations/{conversation.id}/messages", {"page_size": 0})
    assert (response.status_code, list(response.json()["details"])) == (400, ["page_size"])


def test_messages_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    conversation = ConversationFactory()
    MessageFactory.create_batch(60, conversation=conversation)
    api.get("/api/v1/me")
    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/conversations/{conversation.id}/messages", {"page_size": 50})
    assert len(response.json()["results"]) == 50


def test_health_lists_each_component_with_weight_and_evidence(api):
    conversation = ConversationFactory(health_score=62.0, health_breakdown=BREAKDOWN)
    body = api.get(f"/api/v1/conversations/{conversation.id}/health").json()
    failures = {component["name"]: component for component in body["components"]}["failures"]
    assert (body["health_score"], failures["weight"], failures["evidence_message_ids"]) == (62.0, 0.3, [11])


def test_health_gives_each_scored_turn_its_figure_in_transcript_order(api):
    conversation = ConversationFactory(health_score=62.0, health_breakdown=BREAKDOWN)
    body = api.get(f"/api/v1/conversations/{conversation.id}/health").json()
    fields = ("index", "message_id", "role", "measure", "value", "notable")
    assert [tuple(turn[f] for f in fields) for turn in body["turns"]] == [
        (0, 10, "user", "dissatisfaction_risk", 0.4, True),
        (1, 11, "assistant", "failure_evidence", 0.12, False),
        (2, 12, "user", "dissatisfaction_risk", 0.05, False),
    ]


@pytest.mark.parametrize(
    ("breakdown", "scoring"),
    [({**BREAKDOWN, "scoring": "embeddings"}, "embeddings"), (BREAKDOWN, "lexical"), ({}, "")],
    ids=["with-embeddings", "stored-before-the-field", "unscored"],
)
def test_health_says_how_the_text_was_read(api, breakdown, scoring):
    conversation = ConversationFactory(health_score=62.0 if breakdown else None, health_breakdown=breakdown)
    assert api.get(f"/api/v1/conversations/{conversation.id}/health").json()["scoring"] == scoring


def test_health_of_an_unscored_conversation_has_no_components(api):
    conversation = ConversationFactory(health_score=None, health_breakdown={}, processing_state="pending")
    body = api.get(f"/api/v1/conversations/{conversation.id}/health").json()
    assert (body["health_score"], body["components"], body["turns"], body["processing_state"]) == (
        None,
        [],
        [],
        "pending",
    )


def test_conversation_failures_lists_only_its_own(api):
    own = FailureFactory()
    FailureFactory()
    body = api.get(f"/api/v1/conversations/{own.conversation_id}/failures").json()
    assert [f["id"] for f in body["results"]] == [str(own.id)]


def test_conversation_failures_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    conversation = ConversationFactory()
    for index in range(30):
        FailureFactory(conversation=conversation, type=f"type-{index}")
    api.get("/api/v1/me")
    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/conversations/{conversation.id}/failures", {"page_size": 25})
    assert len(response.json()["results"]) == 25


def test_similar_is_503_when_embeddings_are_off(api, settings):
    settings.FEATURE_EMBEDDINGS = False
    conversation = ConversationFactory()
    response = api.get(f"/api/v1/conversations/{conversation.id}/similar")
    assert (response.status_code, response.json()["code"]) == (503, "embeddings_unavailable")


def _embed(conversation, direction: list[float]) -> None:
    vector = direction + [0.0] * (EMBEDDING_DIMENSIONS - len(direction))
    ConversationEmbedding.objects.create(
        conversation=conversation, model_name="test", embedding=vector, content_hash=str(conversation.id)
    )


@pytest.fixture
def embeddings_on(settings):
    settings.FEATURE_EMBEDDINGS = True
    embeddings_available.cache_clear()
    yield
    embeddings_available.cache_clear()


def test_similar_lists_nearest_conversations_first(api, embeddings_on):
    subject, near, far = ConversationFactory(), ConversationFactory(), ConversationFactory()
    _embed(subject, [1.0, 0.0])
    _embed(near, [0.9, 0.1])
    _embed(far, [0.0, 1.0])
    body = api.get(f"/api/v1/conversations/{subject.id}/similar").json()
    assert [row["id"] for row in body["results"]] == [str(near.id), str(far.id)]


def test_similar_reports_cosine_similarity(api, embeddings_on):
    subject, same = ConversationFactory(), ConversationFactory()
    _embed(subject, [1.0, 0.0])
    _embed(same, [2.0, 0.0])
    body = api.get(f"/api/v1/conversations/{subject.id}/similar").json()
    assert body["results"][0]["similarity"] == pytest.approx(1.0)


def test_similar_is_empty_before_the_conversation_is_embedded(api, embeddings_on):
    conversation = ConversationFactory()
    assert api.get(f"/api/v1/conversations/{conversation.id}/similar").json()["results"] == []


def test_similar_limit_is_validated(api, embeddings_on):
    conversation = ConversationFactory()
    response = api.get(f"/api/v1/conversations/{conversation.id}/similar", {"limit": 51})
    assert (response.status_code, list(response.json()["details"])) == (400, ["limit"])
