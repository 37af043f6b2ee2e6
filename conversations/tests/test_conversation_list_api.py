"""GET /api/v1/conversations: filters, ordering, keyset pagination, validation, query count."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.services import conversations_score
from conversations.models import SEARCH_MAX_CHARS, Conversation, Message
from conversations.tests.factories import (
    ConversationFactory,
    FailureFactory,
    MessageFactory,
    PatternConversationFactory,
    hours_ago,
)

URL = "/api/v1/conversations"


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_list_shows_conversations_newest_activity_first(api):
    older = ConversationFactory(last_message_at=hours_ago(5))
    newer = ConversationFactory(last_message_at=hours_ago(1))
    assert ids(api.get(URL)) == [str(newer.id), str(older.id)]


def test_list_item_carries_the_summary_fields(api):
    conversation = ConversationFactory(external_id="ext-1", health_score=42.5, message_count=6)
    row = api.get(URL).json()["results"][0]
    assert (row["id"], row["external_id"], row["health_score"], row["message_count"]) == (
        str(conversation.id),
        "ext-1",
        42.5,
        6,
    )


def test_timeframe_keeps_conversations_active_within_it(api):
    recent = ConversationFactory(last_message_at=hours_ago(3))
    ConversationFactory(last_message_at=hours_ago(30))
    assert ids(api.get(URL, {"timeframe": "24h"})) == [str(recent.id)]


def test_from_and_to_bound_the_window(api):
    inside = ConversationFactory(last_message_at=hours_ago(10))
    ConversationFactory(last_message_at=hours_ago(2))
    ConversationFactory(last_message_at=hours_ago(20))
    window = {"from": hours_ago(12).isoformat(), "to": hours_ago(5).isoformat()}
    assert ids(api.get(URL, window)) == [str(inside.id)]


def test_health_min_and_max_bound_the_score(api):
    middle = ConversationFactory(health_score=50)
    ConversationFactory(health_score=20)
    ConversationFactory(health_score=90)
    assert ids(api.get(URL, {"health_min": 40, "health_max": 60})) == [str(middle.id)]


def test_health_bounds_count_the_score_in_whole_points_as_pages_show_it(api):
    shown_as_60 = [ConversationFactory(health_score=score) for score in (59.5, 60.4)]
    ConversationFactory(health_score=59.4)  # shown as 59
    ConversationFactory(health_score=60.5)  # shown as 61
    found = set(ids(api.get(URL, {"health_min": 60, "health_max": 60})))
    assert found == {str(conversation.id) for conversation in shown_as_60}


def test_has_failures_keeps_conversations_with_failures(api):
    failing = ConversationFactory(has_failures=True)
    ConversationFactory(has_failures=False)
    assert ids(api.get(URL, {"has_failures": "true"})) == [str(failing.id)]


def test_has_failures_false_keeps_conversations_without_failures(api):
    ConversationFactory(has_failures=True)
    clean = ConversationFactory(has_failures=False)
    assert ids(api.get(URL, {"has_failures": "false"})) == [str(clean.id)]


def test_an_empty_has_failures_is_no_filter_and_the_schema_says_so(api):
    # `?has_failures=` is what an HTML form sends for "any"; the OpenAPI document allows the empty value.
    ConversationFactory(has_failures=True)
    ConversationFactory(has_failures=False)
    assert len(ids(api.get(URL, {"has_failures": ""}))) == 2
    schema = api.get("/api/schema/", {"format": "json"}).json()
    parameter = next(p for p in schema["paths"][URL]["get"]["parameters"] if p["name"] == "has_failures")
    assert parameter["allowEmptyValue"] is True


def test_failure_type_keeps_conversations_with_a_failure_of_that_type(api):
    looping = FailureFactory(type="loop").conversation
    FailureFactory(type="refusal")
    assert ids(api.get(URL, {"failure_type": "loop"})) == [str(looping.id)]


def test_environment_keeps_conversations_of_that_environment(api):
    staging = ConversationFactory(environment="staging")
    ConversationFactory(environment="production")
    assert ids(api.get(URL, {"environment": "staging"})) == [str(staging.id)]


def test_an_empty_environment_is_no_filter_as_on_the_dashboard(api, admin_client):
    # `?environment=` is what the Conversations form sends with its field left empty: "any environment" there, so
    # the same query string must list the same conversations here, and export them.
    ConversationFactory(environment="staging")
    ConversationFactory(environment="")
    page = admin_client.get("/conversations/", {"environment": ""}).content.decode()
    on_the_page = len(re.findall(r'<td><a href="/conversations/[0-9a-f-]{36}/">', page))
    exported = api.get("/api/v1/conversations/export", {"environment": "", "format": "jsonl"})
    assert (len(ids(api.get(URL, {"environment": ""}))), on_the_page) == (2, 2)
    assert len(b"".join(exported.streaming_content).splitlines()) == 2


def test_pattern_keeps_the_patterns_conversations(api):
    member = PatternConversationFactory()
    ConversationFactory()
    assert ids(api.get(URL, {"pattern": str(member.pattern_id)})) == [str(member.conversation_id)]


def analysed(*conversations):
    """The conversations after their analysis, which builds the search document `q` reads."""
    conversations_score(conversation_ids=[conversation.id for conversation in conversations])
    return conversations[0]


def test_q_finds_conversations_whose_messages_contain_the_words(api):
    match = analysed(MessageFactory(content="Where is my refund for the broken blender?").conversation)
    analysed(MessageFactory(content="How do I change my password?").conversation)
    assert ids(api.get(URL, {"q": "refund blender"})) == [str(match.id)]


def test_q_matches_other_forms_of_a_word(api):
    match = analysed(MessageFactory(content="I was refunded twice").conversation)
    assert ids(api.get(URL, {"q": "refund"})) == [str(match.id)]


def test_q_matches_words_of_different_messages_and_phrases_within_one(api):
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, content="My blender arrived broken.", timestamp=hours_ago(2))
    MessageFactory(conversation=conversation, content="Sorry! I can issue a refund.", timestamp=hours_ago(1))
    analysed(conversation)
    assert ids(api.get(URL, {"q": "blender refund"})) == [str(conversation.id)]
    assert ids(api.get(URL, {"q": '"issue a refund"'})) == [str(conversation.id)]
    assert ids(api.get(URL, {"q": '"refund blender"'})) == []
    assert ids(api.get(URL, {"q": "blender -refund"})) == []


def test_q_finds_a_conversation_once_analysed_and_its_new_messages_after_the_next_analysis(api):
    conversation = MessageFactory(content="Where is my parcel?").conversation
    assert ids(api.get(URL, {"q": "parcel"})) == []
    analysed(conversation)
    assert ids(api.get(URL, {"q": "parcel"})) == [str(conversation.id)]
    MessageFactory(conversation=conversation, content="It was a toaster.")
    assert ids(api.get(URL, {"q": "toaster"})) == []
    analysed(conversation)
    assert ids(api.get(URL, {"q": "toaster"})) == [str(conversation.id)]


def test_q_covers_the_first_search_max_chars_of_a_conversation(api):
    conversation = ConversationFactory()
    long_text = "alpha " * (SEARCH_MAX_CHARS // 6)  # SEARCH_MAX_CHARS characters of words
    MessageFactory(conversation=conversation, content=long_text, timestamp=hours_ago(2))
    MessageFactory(conversation=conversation, content="omega", timestamp=hours_ago(1))
    analysed(conversation)
    assert (ids(api.get(URL, {"q": "alpha"})), ids(api.get(URL, {"q": "omega"}))) == ([str(conversation.id)], [])


def test_a_conversation_with_more_distinct_words_than_a_search_vector_holds_is_analysed(api):
    rng = random.Random(1)
    conversation = ConversationFactory()
    first_word = "zanzibar"
    for index in range(40):  # 1.3 million characters of distinct tokens: about 2 MB of lexemes uncapped
        words = " ".join(f"w{rng.getrandbits(40):x}" for _ in range(3000))
        MessageFactory(conversation=conversation, content=f"{first_word} {words}", timestamp=hours_ago(50 - index))
    analysed(conversation)
    assert ids(api.get(URL, {"q": first_word})) == [str(conversation.id)]


def test_q_lists_a_conversation_once_however_many_messages_match(api):
    conversation = ConversationFactory()
    MessageFactory.create_batch(3, conversation=conversation, content="refund please")
    analysed(conversation)
    assert ids(api.get(URL, {"q": "refund"})) == [str(conversation.id)]


def test_ordering_by_health_puts_the_worst_first_and_unscored_last(api):
    unscored = ConversationFactory(health_score=None)
    good = ConversationFactory(health_score=90)
    bad = ConversationFactory(health_score=10)
    assert ids(api.get(URL, {"ordering": "health_score"})) == [str(bad.id), str(good.id), str(unscored.id)]


def test_ordering_by_descending_health_keeps_unscored_last(api):
    unscored = ConversationFactory(health_score=None)
    good = ConversationFactory(health_score=90)
    bad = ConversationFactory(health_score=10)
    assert ids(api.get(URL, {"ordering": "-health_score"})) == [str(good.id), str(bad.id), str(unscored.id)]


def test_ordering_by_message_count(api):
    long = ConversationFactory(message_count=30)
    short = ConversationFactory(message_count=2)
    assert ids(api.get(URL, {"ordering": "message_count"})) == [str(short.id), str(long.id)]


def test_ordering_by_oldest_activity(api):
    newer = ConversationFactory(last_message_at=hours_ago(1))
    older = ConversationFactory(last_message_at=hours_ago(9))
    assert ids(api.get(URL, {"ordering": "last_message_at"})) == [str(older.id), str(newer.id)]


def _walk(api, params: dict, pages: int) -> tuple[list[str], str | None]:
    """The ids of `pages` pages, following next_cursor, and the last page's next_cursor."""
    seen, extra = [], {}
    for _ in range(pages):
        body = api.get(URL, {**params, **extra}).json()
        seen += [row["id"] for row in body["results"]]
        extra = {"cursor": body["next_cursor"]}
    return seen, body["next_cursor"]


@pytest.mark.parametrize("ordering", ["-last_message_at", "last_message_at", "health_score", "-health_score"])
def test_following_next_cursor_visits_every_conversation_once(api, ordering):
    same_moment = timezone.now() - timedelta(hours=1)
    conversations = ConversationFactory.create_batch(5, last_message_at=same_moment, health_score=50)
    conversations += ConversationFactory.create_batch(3, health_score=None, last_message_at=None)
    conversations += [ConversationFactory(health_score=score) for score in (10, 70, 95)]
    seen, last_cursor = _walk(api, {"page_size": 2, "ordering": ordering}, pages=6)
    assert (sorted(seen), last_cursor) == (sorted(str(c.id) for c in conversations), None)


def test_paging_by_oldest_activity_misses_no_conversation_that_gets_a_message_meanwhile(api):
    # The README's advice for reading every conversation: a conversation that changes moves behind the cursor.
    conversations = [ConversationFactory(last_message_at=hours_ago(hours)) for hours in (5, 4, 3, 2)]
    first = api.get(URL, {"page_size": 2, "ordering": "last_message_at"}).json()
    Conversation.objects.filter(pk=conversations[2].pk).update(last_message_at=timezone.now())  # not read yet
    rest, _ = _walk(api, {"page_size": 2, "ordering": "last_message_at", "cursor": first["next_cursor"]}, pages=1)
    assert {row["id"] for row in first["results"]} | set(rest) == {str(c.id) for c in conversations}


def test_last_page_has_no_next_cursor(api):
    ConversationFactory.create_batch(2)
    assert api.get(URL, {"page_size": 2}).json()["next_cursor"] is None


def test_page_size_above_100_is_refused_with_field_details(api):
    response = api.get(URL, {"page_size": 101})
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["page_size"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timeframe": "1y"}, "timeframe"),
        ({"from": "yesterday"}, "from"),
        ({"health_min": "abc"}, "health_min"),
        ({"health_max": 101}, "health_max"),
        ({"health_min": 80, "health_max": 20}, "health_max"),
        ({"has_failures": "maybe"}, "has_failures"),
        ({"pattern": "not-a-uuid"}, "pattern"),
        ({"ordering": "external_id"}, "ordering"),
        ({"timeframe": "7d", "from": "2026-01-01T00:00:00Z"}, "timeframe"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"cursor": "garbage"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_invalid_filter_is_refused_with_field_details(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["details"])) == ("validation_error", [field])


def test_cursor_of_another_ordering_is_refused(api):
    ConversationFactory.create_batch(3)
    cursor = api.get(URL, {"page_size": 1}).json()["next_cursor"]
    response = api.get(URL, {"cursor": cursor, "ordering": "health_score"})
    assert response.status_code == 400


def test_list_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    conversations = ConversationFactory.create_batch(60)
    for conversation in conversations:
        MessageFactory(conversation=conversation, role=Message.Role.USER, content="refund")
    analysed(*conversations)
    for conversation in conversations:
        FailureFactory(conversation=conversation, type="loop")
    api.get(URL)  # the first request creates the token's user
    # the user lookup + the page, whatever the filters
    with django_assert_max_num_queries(2):
        response = api.get(URL, {"page_size": 50, "failure_type": "loop", "q": "refund", "timeframe": "7d"})
    assert len(response.json()["results"]) == 50


@pytest.mark.parametrize(
    "path",
    [
        URL,
        "/api/v1/conversations/export",
        "/api/v1/failures",
        "/api/v1/analytics/summary",
        "/api/v1/analytics/patterns",
        "/api/v1/analytics/failures/trends",
        "/api/v1/saved-views",
    ],
)
def test_a_misspelt_parameter_is_refused_naming_it_rather_than_ignored(api, path):
    ConversationFactory(health_score=90)  # a filter ignored would have listed it
    response = api.get(path, {"heath_max": "40"})
    body = response.json()
    assert (response.status_code, body["code"], list(body["details"])) == (400, "validation_error", ["heath_max"])
    assert "Unknown parameter; this endpoint takes " in body["details"]["heath_max"][0]


def test_a_refused_parameter_names_what_the_endpoint_takes(api):
    details = api.get(URL, {"heath_max": "40"}).json()["details"]["heath_max"][0]
    assert all(name in details for name in ("health_max", "cursor", "page_size", "from", "to", "q"))


def test_every_filter_and_page_parameter_together_is_taken(api):
    conversation = ConversationFactory(health_score=30, has_failures=True, environment="prod")
    params = {"timeframe": "24h", "health_min": 0, "health_max": 40, "has_failures": "true", "environment": "prod"}
    params |= {"ordering": "health_score", "page_size": 5}
    assert ids(api.get(URL, params)) == [str(conversation.id)]


def test_a_conversation_is_found_by_the_id_its_app_sent(api):
    wanted = ConversationFactory(external_id="support-4711")
    ConversationFactory(external_id="support-4711-b")
    assert ids(api.get(URL, {"external_id": "support-4711"})) == [str(wanted.id)]
