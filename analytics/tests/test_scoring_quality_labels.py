"""bench/quality.py's label-reliability and detector figures, on hand-written labels (no labelled files are read)."""

from __future__ import annotations

import pytest

from analytics.scoring import score_conversation

quality = pytest.importorskip("bench.quality")


def test_a_positive_resting_on_one_vote_and_a_negative_one_vote_away():
    # [2, 2, 2] has mean 2 (dissatisfied); one annotator voting 3 lifts it to 2.33.
    assert quality._one_vote_from_flipping([[4, 4, 4], [2, 2, 2]]) == (True, True)
    # Two turns at <= 2, or one far below 2: one vote cannot undo it.
    assert quality._one_vote_from_flipping([[2, 2, 2], [2, 2, 1]]) == (True, False)
    assert quality._one_vote_from_flipping([[1, 1, 2], [4, 4, 4]]) == (True, False)
    # [3, 2, 2] (mean 2.33) is one vote-point from dissatisfied; [3, 3, 3] is not.
    assert quality._one_vote_from_flipping([[3, 2, 2], [5, 5, 5]]) == (False, True)
    assert quality._one_vote_from_flipping([[3, 3, 3]]) == (False, False)


def test_label_reliability_reports_shares_and_the_annotators_own_rating():
    labels = [
        {"turn_satisfaction_votes": [[2, 2, 2]], "dissatisfied": True, "dialogue_satisfaction": 2.0},
        {"turn_satisfaction_votes": [[1, 1, 1]], "dissatisfied": True, "dialogue_satisfaction": 3.5},
        {"turn_satisfaction_votes": [[3, 2, 2]], "dissatisfied": False, "dialogue_satisfaction": 3.0},
        {"turn_satisfaction_votes": [[4, 4, 4]], "dissatisfied": False, "dialogue_satisfaction": 4.0},
    ]
    out = quality.label_reliability(labels)
    assert out["dissatisfied_positives_one_vote_from_negative"] == 0.5
    assert out["dissatisfied_negatives_one_vote_from_positive"] == 0.5
    # Ratings 2.0 and 3.5 for the positives, 3.0 and 4.0 for the negatives: 3 of the 4 pairs ranked right.
    assert out["auc_dissatisfied_annotators_dialogue_rating"] == 0.75


def test_label_reliability_is_empty_without_votes():
    assert quality.label_reliability([{"turn_breakdown": [None, {"O": 1.0, "T": 0.0, "X": 0.0}]}]) == {}


def _uss_style(turns, votes):
    """A conversation in the labelled files' format: user and bot turns alternate, each user turn has votes."""
    messages = [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(turns)]
    indexes = [i for i in range(len(turns)) if i % 2 == 0]
    return {"messages": messages, "labels": {"turn_message_index": indexes, "turn_satisfaction_votes": votes}}


def test_detector_figures_judge_user_failures_by_their_votes_and_bot_failures_by_the_reply():
    conversation = _uss_style(
        [
            "Book me a table at Nopa for tonight.",
            "Sorry, I couldn't book that restaurant.",
            "No, that's not what I asked, I said Nopa!",
            "Booked: Nopa, 8 pm.",
            "Thanks.",
        ],
        [[4, 4, 4], [1, 2, 2], [5, 4, 5]],
    )
    calm = _uss_style(["What time do you open?", "At 9 am every day.", "Thanks."], [[3, 3, 3], [4, 4, 4]])
    conversations = [conversation, calm]
    scores = [score_conversation(c["messages"], ended=True) for c in conversations]
    out = quality.detector_figures(conversations, scores)
    # The fallback (message 1) is judged by the user's next turn (votes [1, 2, 2]); the correction
    # (message 2) by its own votes: both bad. 1 of the 5 labelled turns is bad: base rate 0.2, lift 5.
    fallback = out["detector_bot_fallback"]
    assert fallback["judged"] == 1 and fallback["precision"] == 1.0 and fallback["lift"] == 5.0
    assert fallback["share_of_conversations"] == 0.5
    assert out["detector_user_correction"]["precision"] == 1.0


def test_detector_figures_judge_a_user_failure_by_the_bot_turn_before_it_on_bot_labelled_files():
    conversation = {
        "messages": [
            {"role": "user", "content": "Do you like jazz?"},
            {"role": "assistant", "content": "My cat sleeps on the printer all day."},
            {"role": "user", "content": "What? That makes no sense."},
        ],
        "labels": {"turn_message_index": [0, 1, 2], "turn_breakdown": [None, {"O": 0.1, "T": 0.2, "X": 0.7}, None]},
    }
    score = score_conversation(conversation["messages"], ended=True)
    out = quality.detector_figures([conversation], [score])
    assert out["detector_user_frustration"]["judged"] == 1
    assert out["detector_user_frustration"]["precision"] == 1.0


def test_notable_turns_counts_what_the_page_marks_and_how_often_the_humans_agree():
    # Five turns, four labelled: of the three marked at 0.3, two were labelled and one of those was bad.
    out = quality.notable_turns([0.1, 0.3, 0.5, 0.9, 0.2], [0, 1, 0, 0], [0.1, 0.3, 0.5, 0.2], 0.3)
    assert out == {"threshold": 0.3, "share": 0.6, "precision": 0.5, "base_rate": 0.25}


def test_notable_turns_without_labels_gives_the_share_only():
    assert quality.notable_turns([0.4, 0.1], [], [], 0.3) == {
        "threshold": 0.3, "share": 0.5, "precision": None, "base_rate": None,
    }  # fmt: skip
