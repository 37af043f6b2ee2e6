"""The analytics endpoints: summary, patterns, failure trends (they live in analytics/api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conversations.models import Failure
from conversations.tests.factories import (
    ConversationFactory,
    FailureFactory,
    UsagePatternFactory,
    hours_ago,
)

SUMMARY = "/api/v1/analytics/summary"
PATTERNS = "/api/v1/analytics/patterns"
TRENDS = "/api/v1/analytics/failures/trends"


def test_summary_counts_the_current_period(api):
    ConversationFactory(last_message_at=hours_ago(2), message_count=4, health_score=60, has_failures=True)
    ConversationFactory(last_message_at=hours_ago(3), message_count=6, health_score=80, has_failures=False)
    current = api.get(SUMMARY, {"timeframe": "24h"}).json()["current"]
    assert current == {
        "conversations": 2,
        "messages": 10,
        "avg_health": 70.0,
        "failure_share": 0.5,
        "open_failures": 0,
    }


def test_summary_failure_share_is_of_the_scored_conversations_as_the_average_health_is(api):
    ConversationFactory(last_message_at=hours_ago(2), health_score=40, has_failures=True)
    ConversationFactory(last_message_at=hours_ago(2), health_score=90, has_failures=False)
    ConversationFactory.create_batch(2, last_message_at=hours_ago(1), health_score=None)  # a scoring backlog
    current = api.get(SUMMARY, {"timeframe": "24h"}).json()["current"]
    assert (current["conversations"], current["avg_health"], current["failure_share"]) == (4, 65.0, 0.5)


def test_summary_counts_the_previous_period_of_the_same_length(api):
    ConversationFactory(last_message_at=hours_ago(30))
    ConversationFactory(last_message_at=hours_ago(50))
    assert api.get(SUMMARY, {"timeframe": "24h"}).json()["previous"]["conversations"] == 1


def test_summary_reports_the_change_against_the_previous_period(api):
    ConversationFactory.create_batch(3, last_message_at=hours_ago(2))
    ConversationFactory.create_batch(2, last_message_at=hours_ago(30))
    change = api.get(SUMMARY, {"timeframe": "24h"}).json()["change"]["conversations"]
    assert change == {"absolute": 1, "relative": 0.5}


def test_summary_changes_of_counts_are_whole_numbers_and_of_averages_decimals(api):
    ConversationFactory.create_batch(3, last_message_at=hours_ago(2), message_count=4, health_score=70)
    ConversationFactory.create_batch(2, last_message_at=hours_ago(30), message_count=4, health_score=60)
    change = api.get(SUMMARY, {"timeframe": "24h"}).json()["change"]
    counts = [change[name]["absolute"] for name in ("conversations", "messages", "open_failures")]
    assert counts == [1, 4, 0]
    assert all(type(count) is int for count in counts)
    assert change["avg_health"]["absolute"] == 10.0
    assert type(change["avg_health"]["absolute"]) is float


def test_summary_counts_open_failures_detected_in_the_period(api):
    FailureFactory()
    FailureFactory(status="resolved")
    assert api.get(SUMMARY, {"timeframe": "24h"}).json()["current"]["open_failures"] == 1


def test_summary_takes_an_explicit_window(api):
    ConversationFactory(last_message_at=datetime(2026, 3, 2, tzinfo=UTC))
    body = api.get(SUMMARY, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z"}).json()
    assert body["current"]["conversations"] == 1


def test_summary_of_an_empty_period_has_no_averages(api):
    current = api.get(SUMMARY).json()["current"]
    assert (current["avg_health"], current["failure_share"]) == (None, None)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timeframe": "1y"}, "timeframe"),
        ({"from": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "2026-03-03T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "0100-01-01T00:00:00Z", "to": "9000-01-01T00:00:00Z"}, "from"),
    ],
)
def test_summary_invalid_window_is_refused_with_field_details(api, params, field):
    response = api.get(SUMMARY, params)
    assert (response.status_code, list(response.json()["details"])) == (400, [field])


def test_patterns_lists_the_latest_runs_patterns_largest_first(api):
    UsagePatternFactory(period_end=hours_ago(24 * 8), label="old run")
    latest = UsagePatternFactory(label="small").analysis_run
    UsagePatternFactory(label="big", size=50, analysis_run=latest)
    body = api.get(PATTERNS).json()
    assert [p["label"] for p in body["results"]] == ["big", "small"]


def test_patterns_of_a_period_analysed_again_are_those_of_the_newer_run(api):
    # A run by hand over the last days of the week (analyze_patterns --since … --until <Monday>) ends where the
    # weekly run ended; it is the newer analysis, whatever the size of its patterns.
    end = hours_ago(0)
    UsagePatternFactory(period_start=end - timedelta(days=7), period_end=end, size=50, label="weekly")
    newer = UsagePatternFactory(period_start=end - timedelta(days=3), period_end=end, size=20, label="by hand")
    body = api.get(PATTERNS).json()
    assert (body["analysis_run"], [p["label"] for p in body["results"]]) == (str(newer.analysis_run), ["by hand"])


def test_patterns_report_size_health_failure_rate_and_trend(api):
    UsagePatternFactory(size=12, avg_health=55.5, failure_rate=0.25, size_change=-0.4)
    pattern = api.get(PATTERNS).json()["results"][0]
    assert (pattern["size"], pattern["avg_health"], pattern["failure_rate"], pattern["trend"]) == (
        12,
        55.5,
        0.25,
        "down",
    )


def test_a_pattern_seen_for_the_first_time_is_new(api):
    UsagePatternFactory(size_change=None)
    assert api.get(PATTERNS).json()["results"][0]["trend"] == "new"


def test_patterns_before_any_analysis_are_empty(api):
    assert api.get(PATTERNS).json() == {"analysis_run": None, "period_start": None, "period_end": None, "results": []}


def test_patterns_limit_is_validated(api):
    response = api.get(PATTERNS, {"limit": 0})
    assert (response.status_code, list(response.json()["details"])) == (400, ["limit"])


def test_patterns_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    run = UsagePatternFactory().analysis_run
    UsagePatternFactory.create_batch(30, analysis_run=run)
    api.get("/api/v1/me")
    with django_assert_max_num_queries(3):
        assert len(api.get(PATTERNS, {"limit": 25}).json()["results"]) == 25


def _detected(failure: Failure, when: datetime) -> None:
    Failure.objects.filter(id=failure.id).update(detected_at=when)


def test_trends_count_failures_per_day_and_type(api):
    day = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for kind in ("loop", "loop", "refusal"):
        _detected(FailureFactory(type=kind), day)
    body = api.get(TRENDS, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-04T00:00:00Z"}).json()
    assert [(p["bucket_start"], p["type"], p["count"]) for p in body["points"]] == [
        ("2026-03-02T00:00:00Z", "loop", 2),
        ("2026-03-02T00:00:00Z", "refusal", 1),
    ]


def test_trends_count_per_hour_when_asked(api):
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    _detected(FailureFactory(), start)
    _detected(FailureFactory(), start + timedelta(hours=1, minutes=5))
    body = api.get(TRENDS, {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z", "bucket": "hour"}).json()
    assert [p["bucket_start"] for p in body["points"]] == ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"]


def test_trends_list_the_types_seen(api):
    FailureFactory(type="loop")
    FailureFactory(type="apology")
    assert api.get(TRENDS).json()["types"] == ["apology", "loop"]


def test_hourly_trends_over_more_than_a_week_are_refused(api):
    response = api.get(TRENDS, {"timeframe": "30d", "bucket": "hour"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["bucket"])


def test_trends_unknown_bucket_is_refused(api):
    response = api.get(TRENDS, {"bucket": "week"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["bucket"])
