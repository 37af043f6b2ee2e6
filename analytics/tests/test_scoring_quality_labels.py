"""bench/quality.py's label-reliability figures, on hand-written votes (no labelled files are read)."""

from __future__ import annotations

import pytest

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
