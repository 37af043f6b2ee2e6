"""Embedding features and the learned bot-turn evidence, with hand-made vectors (no model needed)."""

import numpy as np

from analytics.scoring import score_conversation
from analytics.scoring.features import (
    bot_turn_features,
    build_views,
    semantic_bot_turn_features,
    semantic_user_turn_features,
    unit_vectors,
)
from analytics.scoring.types import Message

COMPLAINT = np.array([0.0, 0.0, 1.0])


def _views(*turns):
    roles = ("user", "assistant")
    return build_views([Message(role=roles[i % 2], content=t) for i, t in enumerate(turns)])


def _user_features(vectors, index=2):
    views = _views("Find me a hotel in the east.", "Here is a train timetable.", "I need a hotel in the east.")
    return semantic_user_turn_features(views, unit_vectors(vectors), views[index], COMPLAINT)


def test_user_rephrasing_an_earlier_request_is_semantic_repetition():
    features = _user_features([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.95, 0.05, 0.0]])
    assert features["sem_repeats_request"] > 0.9


def test_user_asking_something_new_is_no_semantic_repetition():
    features = _user_features([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.2, 0.9]])
    assert features["sem_repeats_request"] < 0.3


def test_bot_answer_far_from_the_request_is_off_request_for_the_next_user_turn():
    features = _user_features([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, 0.0]])
    assert features["sem_bot_off_request"] == 1.0


def test_bot_answer_close_to_the_request_is_not_off_request():
    features = _user_features([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.9, 0.1, 0.0]])
    assert features["sem_bot_off_request"] < 0.1


def test_user_turn_near_the_complaint_prototypes_reads_as_a_complaint():
    features = _user_features([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.1, 0.0, 1.0]])
    assert features["sem_complaint"] > 0.9


def test_user_turn_far_from_the_complaint_prototypes_reads_as_no_complaint():
    features = _user_features([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.1, 0.0]])
    assert features["sem_complaint"] < 0.1


def _semantic_bot_features(texts, vectors):
    """The semantic features of the last of `texts` (a bot turn), given each text's vector."""
    views = _views(*texts)
    return semantic_bot_turn_features(
        views, unit_vectors(vectors), views[-1], centroid=COMPLAINT, off_request_mean=0.0, off_context_mean=0.0
    )


def test_bot_saying_again_what_it_said_before_is_semantic_self_repetition():
    features = _semantic_bot_features(
        ["Hi", "What city are you in?", "Boston.", "Which city are you in?"],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.2, 0.0], [0.0, 1.0, 0.1]],
    )
    assert features["sem_self_repetition"] > 0.9


def test_bot_asking_a_new_question_is_no_semantic_self_repetition():
    features = _semantic_bot_features(
        ["Hi", "What city are you in?", "Boston.", "For how many nights?"],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.2, 0.0], [0.0, 0.0, 1.0]],
    )
    assert features["sem_self_repetition"] < 0.1


def test_vectors_of_another_size_than_the_centroid_give_no_complaint_signal():
    features = _user_features([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert features["sem_complaint"] == 0.0


def test_off_topic_answer_by_embeddings_raises_the_bot_turn_evidence():
    messages = [
        {"role": "user", "content": "What is the baggage allowance?"},
        {"role": "assistant", "content": "The allowance is one bag."},
    ]
    on_topic = score_conversation(messages, ended=True, embeddings=[[1.0, 0.0], [0.9, 0.1]])
    off_topic = score_conversation(messages, ended=True, embeddings=[[1.0, 0.0], [0.0, 1.0]])
    assert off_topic.turn_failure_evidence[1] > on_topic.turn_failure_evidence[1]


def test_error_in_metadata_raises_the_bot_turn_evidence_whatever_the_model_learnt():
    ok = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, how can I help?"}]
    failed = [ok[0], {**ok[1], "metadata": {"error": "upstream 502"}}]
    assert score_conversation(failed, ended=True).turn_failure_evidence[1] >= 0.7


def test_rephrased_request_raises_the_user_turn_risk_with_embeddings():
    messages = [
        {"role": "user", "content": "I need a hotel in the east."},
        {"role": "assistant", "content": "Here is a train timetable."},
        {"role": "user", "content": "Can you look for a place to stay on the east side?"},
    ]
    repeated = score_conversation(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0], [0.97, 0.1]])
    new_topic = score_conversation(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert repeated.user_turn_risk[2] > new_topic.user_turn_risk[2]


def _bot_features(views, index):
    return bot_turn_features(
        views, views[index], risks={}, error=False, blamed=False, struggle=0.0, off_topic_share=0.0
    )


def test_bot_reply_far_from_the_last_messages_taken_together_is_off_context():
    features = _semantic_bot_features(
        ["I love hiking.", "Where do you hike?", "In the Alps.", "My favourite colour is blue."],
        [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [1.0, 0.0, 0.1], [0.0, 1.0, 0.0]],
    )
    assert features["sem_off_context"] > 0.9


def test_bot_reply_on_the_subject_of_the_last_messages_is_not_off_context():
    features = _semantic_bot_features(
        ["I love hiking.", "Where do you hike?", "In the Alps.", "The Alps are great for hiking."],
        [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [1.0, 0.0, 0.1], [0.95, 0.05, 0.05]],
    )
    assert features["sem_off_context"] < 0.1


def test_bot_reply_sharing_no_topic_word_with_the_last_messages_ignores_the_context():
    views = _views("I love hiking in the mountains.", "Which mountains?", "The Alps.", "Pizza tastes wonderful.")
    assert _bot_features(views, 3)["ignores_context"] == 1.0


def test_bot_reply_returning_to_a_word_of_the_last_messages_keeps_to_the_context():
    views = _views("I love hiking in the mountains.", "Which mountains?", "The Alps.", "Hiking there is lovely.")
    assert _bot_features(views, 3)["ignores_context"] == 0.0


def test_user_saying_they_are_lost_after_a_bot_turn_marks_that_turn():
    views = _views("Hi there.", "Bananas are yellow.", "What? That makes no sense.")
    assert _bot_features(views, 1)["next_user_confused"] == 1.0


def test_non_sequitur_raises_the_bot_turn_evidence_without_embeddings():
    start = [
        {"role": "user", "content": "I love hiking in the mountains."},
        {"role": "assistant", "content": "Which mountains do you like best?"},
        {"role": "user", "content": "The Alps, mostly."},
    ]
    on_topic = score_conversation(
        [*start, {"role": "assistant", "content": "Hiking in the Alps is lovely."}], ended=False
    )
    non_sequitur = score_conversation(
        [*start, {"role": "assistant", "content": "Pizza tastes wonderful."}], ended=False
    )
    assert non_sequitur.turn_failure_evidence[3] > on_topic.turn_failure_evidence[3]
