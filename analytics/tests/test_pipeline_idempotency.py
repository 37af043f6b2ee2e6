"""process_conversation's service (conversation_score) can run any number of times with the same result."""

import re
from datetime import timedelta

import pytest
from django.contrib.postgres.search import SearchVector
from django.db.models import Value

from analytics import services
from analytics.services import conversation_score
from analytics.tests.factories import START, FailureFactory, MessageFactory, conversation_with_turns
from conversations.models import Conversation, Failure, Message

pytestmark = pytest.mark.django_db

TROUBLED = (
    "Where is my refund for order 4711?",
    "Sorry, I didn't understand that. Could you rephrase?",
    "Ugh, this is useless! Where is my REFUND?",
    "I'm sorry, I can't help with that request.",
    "No, that's not what I asked. I want a human agent.",
)


def _conversation_row(conversation: Conversation) -> tuple:
    return Conversation.objects.filter(id=conversation.id).values_list(
        "health_score", "health_breakdown", "sentiment_summary", "has_failures", "failure_count", "processing_state"
    )[0]


def _failure_rows(conversation: Conversation) -> list[tuple]:
    return list(
        Failure.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list(
            "id", "message_id", "type", "severity", "description", "evidence", "status", "detected_at", "updated_at"
        )
    )


def _sentiments(conversation: Conversation) -> list[tuple]:
    return list(Message.objects.filter(conversation=conversation).order_by("id").values_list("id", "sentiment_score"))


@pytest.fixture
def troubled():
    return conversation_with_turns(*TROUBLED)


def test_scoring_stores_the_failures_it_detects(troubled):
    conversation_score(conversation_id=troubled.id)
    types = set(Failure.objects.filter(conversation=troubled).values_list("type", flat=True))
    assert {"bot_fallback", "refusal"} <= types


def test_scoring_stores_each_turns_figure_with_its_message_id(troubled):
    conversation_score(conversation_id=troubled.id)
    turns = Conversation.objects.get(id=troubled.id).health_breakdown["turns"]
    ids = Message.objects.filter(conversation=troubled).order_by("position").values_list("id", flat=True)
    assert turns["message_ids"] == {str(index): message_id for index, message_id in enumerate(ids)}
    assert (sorted(turns["user_dissatisfaction"]), sorted(turns["bot_failure_evidence"])) == (
        ["0", "2", "4"],
        ["1", "3"],
    )
    # Both bot turns fail on their face, a fallback and a refusal: each hard cue alone is worth 0.35.
    assert min(turns["bot_failure_evidence"].values()) >= 0.35


def _search_document(conversation: Conversation) -> str:
    return Conversation.objects.values_list("search", flat=True).get(id=conversation.id)


def test_the_search_document_is_rebuilt_only_when_messages_were_added(troubled):
    conversation_score(conversation_id=troubled.id)
    assert "refund" in _search_document(troubled)
    # A document no scoring would build: kept while the messages stay the same, replaced once one is added.
    Conversation.objects.filter(id=troubled.id).update(search=SearchVector(Value("sentinel"), config="simple"))
    conversation_score(conversation_id=troubled.id)
    assert _search_document(troubled) == "'sentinel':1"
    MessageFactory(
        conversation=troubled, position=5, role="assistant", content="Parcels ship daily.",
        timestamp=START + timedelta(minutes=5),
    )  # fmt: skip
    conversation_score(conversation_id=troubled.id)
    assert "sentinel" not in _search_document(troubled)
    assert {"parcel", "refund"} <= set(re.findall(r"'(\w+)'", _search_document(troubled)))


def test_rescoring_yields_an_identical_conversation_row(troubled):
    conversation_score(conversation_id=troubled.id)
    first = _conversation_row(troubled)
    conversation_score(conversation_id=troubled.id)
    assert _conversation_row(troubled) == first


def test_rescoring_yields_identical_failure_rows_without_duplicates(troubled):
    conversation_score(conversation_id=troubled.id)
    first = _failure_rows(troubled)
    conversation_score(conversation_id=troubled.id)
    assert _failure_rows(troubled) == first


def test_rescoring_yields_identical_message_sentiments(troubled):
    conversation_score(conversation_id=troubled.id)
    first = _sentiments(troubled)
    conversation_score(conversation_id=troubled.id)
    assert _sentiments(troubled) == first


def test_a_batch_written_in_several_chunks_stores_what_scoring_each_alone_stores(monkeypatch):
    monkeypatch.setattr(services, "WRITE_CHUNK", 2)
    calm = ("Can I move my delivery slot?", "Yes, your slot is now Friday 10:00.", "Great, thanks!")
    batch = [conversation_with_turns(*(TROUBLED if i % 2 else calm)) for i in range(5)]
    services.conversations_score(conversation_ids=[c.id for c in batch])
    stored = [(_conversation_row(c), _failure_rows(c), _sentiments(c)) for c in batch]
    assert {row[0][-1] for row in stored} == {"scored"}
    for conversation in batch:
        conversation_score(conversation_id=conversation.id)
    assert [(_conversation_row(c), _failure_rows(c), _sentiments(c)) for c in batch] == stored
    assert [row[0][4] for row in stored] == [0, len(stored[1][1]), 0, len(stored[1][1]), 0]  # failure_count


def test_a_batch_that_fails_in_a_later_chunk_writes_nothing_and_leaves_the_connection_usable(monkeypatch):
    monkeypatch.setattr(services, "WRITE_CHUNK", 2)
    batch = [conversation_with_turns(*TROUBLED) for _ in range(5)]
    real = services.score_conversation
    calls = []

    def fails_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # in the second chunk, after the first chunk's writes went out
            raise RuntimeError("scoring failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "score_conversation", fails_on_the_fourth)
    with pytest.raises(RuntimeError, match="scoring failed"):
        services.conversations_score(conversation_ids=[c.id for c in batch])
    assert [_conversation_row(c)[-1] for c in batch] == ["pending"] * 5
    assert (Failure.objects.count(), Message.objects.exclude(sentiment_score=None).count()) == (0, 0)
    monkeypatch.setattr(services, "score_conversation", real)
    assert len(services.conversations_score(conversation_ids=[c.id for c in batch])) == 5


def test_an_acknowledged_failure_stays_acknowledged_after_rescoring(troubled):
    conversation_score(conversation_id=troubled.id)
    Failure.objects.filter(conversation=troubled, type="refusal").update(status=Failure.Status.ACK)
    conversation_score(conversation_id=troubled.id)
    assert list(Failure.objects.filter(conversation=troubled, type="refusal").values_list("status", flat=True)) == [
        "ack"
    ]


def test_an_open_failure_no_longer_detected_is_withdrawn_on_rescoring():
    conversation = conversation_with_turns("Can I move my delivery slot?", "Yes, your slot is now Friday 10:00.")
    answer = conversation.messages.get(role="assistant")
    FailureFactory(conversation=conversation, message=answer, type="refusal", status=Failure.Status.OPEN)
    conversation_score(conversation_id=conversation.id)
    assert Failure.objects.filter(conversation=conversation).count() == 0


def test_an_acknowledged_failure_no_longer_detected_is_kept_on_rescoring():
    conversation = conversation_with_turns("Can I move my delivery slot?", "Yes, your slot is now Friday 10:00.")
    answer = conversation.messages.get(role="assistant")
    FailureFactory(conversation=conversation, message=answer, type="refusal", status=Failure.Status.ACK)
    conversation_score(conversation_id=conversation.id)
    assert list(Failure.objects.filter(conversation=conversation).values_list("type", "status")) == [("refusal", "ack")]


def test_a_withdrawn_failure_is_no_longer_counted_on_the_conversation():
    conversation = conversation_with_turns("Can I move my delivery slot?", "Yes, your slot is now Friday 10:00.")
    answer = conversation.messages.get(role="assistant")
    FailureFactory(conversation=conversation, message=answer, type="refusal", status=Failure.Status.OPEN)
    conversation_score(conversation_id=conversation.id)
    conversation.refresh_from_db()
    assert (conversation.has_failures, conversation.failure_count) == (False, 0)


def test_a_failure_is_dated_by_its_message_not_by_the_scoring(db):
    from datetime import UTC, datetime

    from analytics.services import conversation_score
    from conversations.models import Failure
    from ingestion.services import conversations_ingest

    said_at = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    [result] = conversations_ingest(
        conversations=[
            {
                "external_id": "dated-failure", "environment": "", "user_id": "", "metadata": {},
                "messages": [
                    {"role": "user", "content": "Can I talk to a human please?", "timestamp": said_at, "metadata": {}},
                ],
            }
        ],
        api_key_id=None,
    )  # fmt: skip
    conversation_score(conversation_id=result.conversation_id)
    assert Failure.objects.get(type="human_handoff_request").detected_at == said_at


def test_rescoring_a_grown_conversation_runs_vader_on_its_new_messages_only(troubled):
    conversation_score(conversation_id=troubled.id)
    # A stored score stands for its message's text, which never changes: it is read back, not recomputed.
    Message.objects.filter(conversation=troubled, position=0).update(sentiment_score=0.1234)
    MessageFactory(
        conversation=troubled,
        position=5,
        role=Message.Role.ASSISTANT,
        content="Great, glad to help!",
        timestamp=START + timedelta(minutes=10),
    )
    conversation_score(conversation_id=troubled.id)
    scores = dict(Message.objects.filter(conversation=troubled).values_list("position", "sentiment_score"))
    assert (scores[0], scores[5] > 0.5) == (0.1234, True)


def test_the_tasks_skip_a_conversation_scored_since_it_was_queued(troubled):
    from analytics.tasks import process_conversations

    conversation_score(conversation_id=troubled.id)
    scored_at = Conversation.objects.get(id=troubled.id).processed_at
    process_conversations(conversation_ids=[str(troubled.id)])  # queued twice: the sweep, a replay
    assert Conversation.objects.get(id=troubled.id).processed_at == scored_at
    assert services.conversations_score(conversation_ids=[troubled.id], only_unscored=True) == []


def test_the_tasks_score_a_conversation_that_is_pending_again(troubled):
    from analytics.tasks import process_conversations

    conversation_score(conversation_id=troubled.id)
    MessageFactory(conversation=troubled, role="user", content="Still there?", timestamp=START + timedelta(hours=1))
    Conversation.objects.filter(id=troubled.id).update(processing_state="pending")  # as ingestion does
    process_conversations(conversation_ids=[str(troubled.id)])
    row = Conversation.objects.get(id=troubled.id)
    assert row.processing_state == "scored"
    assert len(row.health_breakdown["turns"]["message_ids"]) == len(TROUBLED) + 1  # the new message was scored
