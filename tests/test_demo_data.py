"""The demo data set of `make run`: varied, realistic, and loaded through the real ingestion service."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from analytics.scoring import FAILURE_TYPES, score_conversation
from conversations.demo import demo_conversations
from conversations.management.commands import load_demo
from conversations.models import Conversation, Failure

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_demo_conversations_show_every_failure_type():
    found = Counter()
    for payload in demo_conversations(count=400, seed=1, now=NOW):
        found.update(failure.type for failure in score_conversation(payload["messages"], ended=True).failures)
    assert set(found) == set(FAILURE_TYPES)


def test_each_demo_scenario_is_found_by_its_own_detector_and_a_fine_conversation_by_none():
    found, missed = Counter(), Counter()
    for payload in demo_conversations(count=1000, seed=2, now=NOW):
        scenario = payload["metadata"]["scenario"]
        types = {failure.type for failure in score_conversation(payload["messages"], ended=True).failures}
        if scenario == "fine":
            assert not types, payload["messages"]
        else:
            (found if scenario in types else missed)[scenario] += 1
    assert set(found) == set(FAILURE_TYPES)
    assert missed == Counter()


def test_a_demo_timeout_takes_as_long_as_a_timeout():
    # "upstream model timed out" on a reply that came back in 1.7 s read as a contradiction.
    replies = [
        m["metadata"]
        for c in demo_conversations(count=1000, seed=3, now=NOW)
        for m in c["messages"]
        if m["role"] == "assistant" and "error" in m.get("metadata", {})
    ]
    timeouts = [m["latency_ms"] for m in replies if "timed out" in m["error"]["message"]]
    assert timeouts and min(timeouts) >= 15_000


def test_demo_conversations_are_seeded():
    first = list(demo_conversations(count=20, seed=3, now=NOW))
    assert first == list(demo_conversations(count=20, seed=3, now=NOW))


def test_demo_conversations_spread_over_the_period():
    days = {payload["messages"][0]["timestamp"][:10] for payload in demo_conversations(count=500, days=30, now=NOW)}
    assert len(days) >= 25


def test_demo_conversations_grow_and_are_busier_on_weekdays():
    starts = [
        datetime.fromisoformat(payload["messages"][0]["timestamp"])
        for payload in demo_conversations(count=2000, days=30, now=NOW)
    ]
    assert max(starts) <= NOW - timedelta(hours=1)  # every one can be over by now
    # The overview's first figures compare the last 7 days with the 7 before: the demo says the product grows.
    last_week = sum(s >= NOW - timedelta(days=7) for s in starts)
    week_before = sum(NOW - timedelta(days=14) <= s < NOW - timedelta(days=7) for s in starts)
    assert last_week > 1.2 * week_before
    per_day = Counter(s.date() for s in starts if NOW - timedelta(days=28) <= s < NOW.replace(hour=0))
    weekdays = [n for day, n in per_day.items() if day.weekday() < 5]
    weekends = [n for day, n in per_day.items() if day.weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 1.5 * sum(weekends) / len(weekends)


@pytest.mark.django_db
def test_load_demo_ingests_and_scores_every_conversation():
    call_command("load_demo", count=60, days=10)
    conversations = Conversation.objects.filter(external_id__startswith="demo-")
    assert conversations.count() == 60
    assert conversations.filter(processing_state="scored", health_score__isnull=False).count() == 60
    assert Failure.objects.exists()


@pytest.mark.django_db
def test_load_demo_shows_its_progress_unless_asked_not_to(capsys):
    call_command("load_demo", count=30, days=10)
    shown = capsys.readouterr().err
    assert "Ingesting" in shown and "Scoring" in shown and shown.count("30/30") == 2
    call_command("load_demo", count=30, days=10, force=True, no_progress=True)
    assert capsys.readouterr().err == ""


@pytest.mark.django_db
def test_load_demo_queues_no_scoring_as_it_scores_itself(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("load_demo", count=30, days=10)
    assert Conversation.objects.filter(processing_state="scored").count() == 30
    assert callbacks == []


@pytest.mark.django_db
def test_load_demo_ends_every_conversation_before_scoring_it(monkeypatch):
    monkeypatch.setattr(load_demo, "END_BATCH", 25)  # fewer than the demo has: it must end them batch after batch
    call_command("load_demo", count=60, days=10)
    conversations = Conversation.objects.filter(external_id__startswith="demo-")
    assert conversations.filter(ended_at__isnull=False, processing_state="scored").count() == 60
    assert all(c.processed_at >= c.ended_at for c in conversations)  # the scoring came after the end


@pytest.mark.django_db
def test_load_demo_a_second_time_changes_nothing():
    call_command("load_demo", count=30, days=10)
    call_command("load_demo", count=30, days=10)
    assert Conversation.objects.count() == 30
