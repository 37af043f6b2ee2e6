"""The health score: bounded, deterministic, explained by documented components."""

import json
from datetime import UTC, datetime

import pytest

from analytics.scoring import COMPONENT_WEIGHTS, FAILURE_TYPES, Message, score_conversation

HAPPY = [
    {"role": "user", "content": "Can you book a table for two at 7 pm?"},
    {"role": "assistant", "content": "Booked: a table for two at 7 pm tonight."},
    {"role": "user", "content": "Perfect, thank you!"},
]
UNHAPPY = [
    {"role": "user", "content": "Can you book a table for two at 7 pm?"},
    {"role": "assistant", "content": "Sorry, I didn't understand that."},
    {"role": "user", "content": "No, that's wrong. Book a table for two at 7 pm!"},
    {"role": "assistant", "content": "Sorry, I didn't understand that."},
    {"role": "user", "content": "Ugh, useless. Let me talk to a human."},
]


def test_scoring_twice_gives_identical_results():
    assert score_conversation(UNHAPPY, ended=True).to_dict() == score_conversation(UNHAPPY, ended=True).to_dict()


@pytest.mark.parametrize("messages", [HAPPY, UNHAPPY, [], [{"role": "system", "content": "You are a bot."}]])
def test_health_stays_within_0_and_100(messages):
    assert 0.0 <= score_conversation(messages, ended=True).health <= 100.0


def test_failing_conversation_scores_lower_than_a_smooth_one():
    assert score_conversation(UNHAPPY, ended=True).health < score_conversation(HAPPY, ended=True).health


def test_component_weights_add_up_to_one():
    assert sum(COMPONENT_WEIGHTS.values()) == pytest.approx(1.0)


def test_breakdown_lists_every_documented_component_with_its_weight():
    components = score_conversation(HAPPY, ended=True).breakdown["components"]
    assert {name: c["weight"] for name, c in components.items()} == dict(COMPONENT_WEIGHTS)


def test_breakdown_points_add_up_to_the_lost_health():
    score = score_conversation(UNHAPPY, ended=True)
    lost = sum(c["points"] for c in score.breakdown["components"].values())
    assert 100.0 - lost == pytest.approx(score.health, abs=0.05)


def test_breakdown_is_json_serialisable():
    assert json.loads(json.dumps(score_conversation(UNHAPPY, ended=True).breakdown))


def test_dissatisfaction_component_points_at_the_unhappy_user_turns():
    components = score_conversation(UNHAPPY, ended=True).breakdown["components"]
    assert set(components["dissatisfaction"]["evidence_indexes"]) >= {2, 4}


def test_every_failure_has_a_known_type_and_severity():
    failures = score_conversation(UNHAPPY, ended=True).failures
    assert {(f.type in FAILURE_TYPES, f.severity in ("low", "medium", "high")) for f in failures} == {(True, True)}


def test_sentiment_is_given_for_every_message():
    assert len(score_conversation(UNHAPPY, ended=True).sentiments) == len(UNHAPPY)


def test_system_messages_have_no_sentiment():
    messages = [{"role": "system", "content": "Be helpful and kind."}, *HAPPY]
    assert score_conversation(messages, ended=True).sentiments[0] is None


def test_failure_evidence_ranks_a_failing_bot_turn_above_a_good_one():
    messages = [
        *HAPPY[:2],
        {"role": "user", "content": "And can you add a high chair?"},
        {"role": "assistant", "content": "Sorry, I didn't understand that."},
        {"role": "user", "content": "No, that's not what I asked!"},
    ]
    evidence = score_conversation(messages, ended=True).turn_failure_evidence
    assert evidence[3] > evidence[1]


def test_message_objects_and_mappings_score_the_same():
    objects = [Message(role=m["role"], content=m["content"], timestamp=datetime(2026, 1, 1, tzinfo=UTC)) for m in HAPPY]
    assert score_conversation(objects, ended=True).health == score_conversation(HAPPY, ended=True).health


def test_embeddings_of_the_wrong_length_are_rejected():
    with pytest.raises(ValueError):
        score_conversation(HAPPY, ended=True, embeddings=[[1.0]])
