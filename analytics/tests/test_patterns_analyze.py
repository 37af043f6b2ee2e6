"""Usage patterns stored per period: labels, figures, lineage across weeks, idempotent re-runs, the command."""

import io
import random
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from analytics.management.commands.analyze_patterns import Command as AnalyzePatternsCommand
from analytics.models import PatternConversation, UsagePattern
from analytics.services import usage_patterns_analyze, usage_patterns_default_period
from analytics.tests.factories import conversation_with_turns
from conversations.models import Conversation

pytestmark = pytest.mark.django_db

TOPICS = {
    "refund": [
        "I want a refund for my broken blender",
        "How long does the refund take to reach my card",
        "Please refund the double charge on my bill",
        "Is a refund possible after thirty days",
    ],
    "password": [
        "I forgot my password and cannot log in",
        "The password reset email never arrives",
        "How do I change the password of my account",
        "My new password is not accepted",
    ],
    "delivery": [
        "Where is my parcel, the delivery is late",
        "My delivery tracking number shows nothing",
        "Can the delivery come on Saturday instead",
        "The delivery driver left my box at the wrong house",
    ],
}
WEEK_1 = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC))
WEEK_2 = (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))


def _week(start: datetime, sizes: dict[str, int], seed: int) -> None:
    """Conversations of the week: the refund ones have failures and a low health, the others not."""
    rng = random.Random(seed)
    for topic, size in sizes.items():
        for i in range(size):
            first, second = rng.sample(TOPICS[topic], 2)
            conversation_with_turns(
                first,
                "Let me check that for you.",
                second,
                start=start + timedelta(hours=i),
                health_score=40.0 if topic == "refund" else 90.0,
                has_failures=topic == "refund",
            )


@pytest.fixture
def two_weeks():
    _week(WEEK_1[0], {"refund": 12, "password": 10, "delivery": 8}, seed=1)
    _week(WEEK_2[0], {"refund": 18, "password": 10, "delivery": 8}, seed=2)


def _by_topic(since: datetime, until: datetime) -> dict[str, UsagePattern]:
    found = UsagePattern.objects.filter(period_start=since, period_end=until)
    return {topic: p for p in found for topic in TOPICS if topic in p.label}


def test_a_patterns_failure_rate_is_of_its_scored_conversations_as_its_average_health(two_weeks):
    # A scoring backlog (or a scoring given up) must not read as fewer failures: the overview's share of conversations
    # with failures leaves the unscored ones out, and so does the pattern's rate, as its average health does.
    week_1 = Conversation.objects.filter(started_at__gte=WEEK_1[0], started_at__lt=WEEK_1[1], has_failures=True)
    unscored = week_1.order_by("id").values_list("id", flat=True)[:4]
    Conversation.objects.filter(id__in=list(unscored)).update(health_score=None, has_failures=False)
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    refund = _by_topic(*WEEK_1)["refund"]
    assert (refund.size, refund.avg_health, refund.failure_rate) == (12, 40.0, 1.0)


def test_patterns_of_a_week_are_labelled_with_their_topic_words(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    assert sorted(_by_topic(*WEEK_1)) == sorted(TOPICS)


def test_patterns_store_size_average_health_and_failure_rate(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    refund = _by_topic(*WEEK_1)["refund"]
    assert (refund.size, refund.avg_health, refund.failure_rate) == (12, 40.0, 1.0)


def test_every_conversation_of_the_week_belongs_to_one_pattern(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    assert PatternConversation.objects.values("conversation").distinct().count() == 30


def test_the_second_week_keeps_the_lineage_of_the_first_weeks_patterns(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    usage_patterns_analyze(since=WEEK_2[0], until=WEEK_2[1])
    first, second = _by_topic(*WEEK_1), _by_topic(*WEEK_2)
    assert {t: p.lineage_id for t, p in second.items()} == {t: p.lineage_id for t, p in first.items()}


def test_a_persisting_pattern_reports_its_change_against_the_previous_week(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    usage_patterns_analyze(since=WEEK_2[0], until=WEEK_2[1])
    assert _by_topic(*WEEK_2)["refund"].size_change == 0.5  # 12 -> 18


def test_a_shorter_period_analysed_by_hand_compares_by_conversations_per_day():
    _week(WEEK_1[0], {"refund": 24, "password": 20, "delivery": 16}, seed=1)
    _week(WEEK_2[0], {"refund": 12, "password": 20, "delivery": 8}, seed=2)
    half_week = (WEEK_2[0], WEEK_2[0] + timedelta(days=3, hours=12))
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    usage_patterns_analyze(since=half_week[0], until=half_week[1])
    changes = {topic: pattern.size_change for topic, pattern in _by_topic(*half_week).items()}
    assert changes == {"refund": 0.0, "password": 1.0, "delivery": 0.0}  # 24 a week is 12 in half of one


def test_a_first_analysis_has_no_change_to_report(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    assert {p.size_change for p in _by_topic(*WEEK_1).values()} == {None}


def test_rerunning_a_period_replaces_its_patterns(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    assert (UsagePattern.objects.count(), PatternConversation.objects.count()) == (3, 30)


def test_the_representative_conversation_belongs_to_its_pattern(two_weeks):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    refund = _by_topic(*WEEK_1)["refund"]
    assert refund.memberships.filter(conversation=refund.representative_conversation_id).exists()


def test_the_default_period_on_a_monday_is_the_previous_week():
    monday = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
    assert usage_patterns_default_period(now=monday) == WEEK_2


@pytest.mark.parametrize("day", [16, 18, 22])
def test_the_default_period_after_a_monday_is_still_the_previous_whole_week(day):
    # A run delayed past Monday (a worker down) or started by hand analyses the week the schedule would have.
    assert usage_patterns_default_period(now=datetime(2026, 11, day, 23, 0, tzinfo=UTC)) == WEEK_2


def test_the_default_period_is_a_week_of_the_dashboards_days(settings):
    settings.DASHBOARD_TIME_ZONE = "America/New_York"
    new_york = ZoneInfo("America/New_York")
    # Monday 03:00 in New York; the week before it holds the end of daylight saving time (1 November 2026).
    monday = datetime(2026, 11, 9, 3, 0, tzinfo=new_york)
    since, until = usage_patterns_default_period(now=monday)
    assert (since, until) == (datetime(2026, 11, 2, tzinfo=new_york), datetime(2026, 11, 9, tzinfo=new_york))
    assert (since.astimezone(UTC).hour, until.astimezone(UTC).hour) == (5, 5)
    monday = datetime(2026, 11, 2, 3, 0, tzinfo=new_york)
    since, until = usage_patterns_default_period(now=monday)
    assert (since.astimezone(UTC), until.astimezone(UTC)) == (
        datetime(2026, 10, 26, 4, tzinfo=UTC),
        datetime(2026, 11, 2, 5, tzinfo=UTC),
    )


def test_the_commands_days_are_the_dashboards_days(two_weeks, settings):
    settings.DASHBOARD_TIME_ZONE = "Asia/Tokyo"
    call_command(
        "analyze_patterns", "--since", "2026-11-02", "--until", "2026-11-09", "--no-progress", stdout=io.StringIO()
    )
    pattern = UsagePattern.objects.first()
    tokyo_midnight = datetime(2026, 11, 2, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert (pattern.period_start, pattern.period_start.astimezone(UTC)) == (
        tokyo_midnight,
        datetime(2026, 11, 1, 15, tzinfo=UTC),
    )


def test_the_command_says_it_fell_back_to_tfidf_when_embeddings_are_off(two_weeks, settings):
    settings.FEATURE_EMBEDDINGS = False
    out = io.StringIO()
    call_command("analyze_patterns", "--since", "2026-11-02", "--until", "2026-11-09", "--no-progress", stdout=out)
    assert "clustered TF-IDF vectors" in out.getvalue()


def test_the_command_stores_the_patterns_of_the_period(two_weeks):
    call_command(
        "analyze_patterns", "--since", "2026-11-09", "--until", "2026-11-16", "--no-progress", stdout=io.StringIO()
    )
    assert sorted(_by_topic(*WEEK_2)) == sorted(TOPICS)


def test_a_day_that_does_not_exist_is_a_usage_error_naming_the_option():
    # Raised from the option's type as a CommandError, it came out as a 40-line traceback; as argparse's usage
    # error it is one line naming the option (from the command line, "manage.py analyze_patterns: error: …").
    # The parser is asked directly: ManagementUtility would set Django up again, and its logging with it.
    command = AnalyzePatternsCommand()
    command._called_from_command_line = True
    parser = command.create_parser("manage.py", "analyze_patterns")
    with pytest.raises(SystemExit) as exit_info, redirect_stderr(io.StringIO()) as err:
        parser.parse_args(["--since", "2026-13-01", "--until", "2026-11-20"])
    assert exit_info.value.code == 2
    assert err.getvalue().splitlines()[-1] == (
        "manage.py analyze_patterns: error: argument --since: '2026-13-01' is not a date like 2026-11-16"
    )


def test_a_week_without_conversations_yields_no_pattern(two_weeks):
    # A quiet week must not fail the weekly task (it would end as a dead letter after its retries).
    empty = (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC))
    analysis = usage_patterns_analyze(since=empty[0], until=empty[1])
    assert (analysis.conversations, analysis.patterns) == (0, [])
    out = io.StringIO()
    call_command("analyze_patterns", "--since", "2026-10-05", "--until", "2026-10-12", "--no-progress", stdout=out)
    assert "0 pattern(s)" in out.getvalue()
