"""DASHBOARD_TIME_ZONE: the dashboard shows times, and draws the overview's days, in it; the JSON API keeps UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from analytics.tests.factories import ConversationFactory, FailureFactory
from analytics.views import _charts
from conversations.models import Failure
from conversations.tests.auth import jwt_secret, supabase_token  # noqa: F401 (fixture)
from conversations.tests.factories import ConversationFactory as ScoredConversationFactory

pytestmark = pytest.mark.django_db

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def test_overview_days_and_hours_are_the_dashboard_zones():
    end = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    late = ConversationFactory(last_message_at=datetime(2026, 11, 23, 23, 30, tzinfo=UTC))  # the 24th, 00:30 in Berlin
    ConversationFactory(last_message_at=datetime(2026, 11, 23, 22, 30, tzinfo=UTC))  # the 23rd, 23:30 in Berlin
    failure = FailureFactory(conversation=late, type="refusal")
    Failure.objects.filter(pk=failure.pk).update(detected_at=late.last_message_at)

    in_utc = _charts(end - timedelta(days=7), end, "7d", UTC)
    in_berlin = _charts(end - timedelta(days=7), end, "7d", BERLIN)

    assert in_utc["labels"] == in_berlin["labels"] == [f"2026-11-{day}" for day in range(20, 27)]
    assert in_utc["conversations"] == [0, 0, 0, 2, 0, 0, 0]
    assert in_utc["failures"] == [{"type": "refusal", "counts": [0, 0, 0, 1, 0, 0, 0]}]
    assert in_berlin["conversations"] == [0, 0, 0, 1, 1, 0, 0]
    assert in_berlin["failures"] == [{"type": "refusal", "counts": [0, 0, 0, 0, 1, 0, 0]}]
    assert in_berlin["time_zone"] == "Europe/Berlin"
    hours = _charts(end - timedelta(hours=24), end, "24h", BERLIN)["labels"]
    assert (hours[0], hours[-1], len(hours)) == ("17:00", "16:00", 24)


def test_a_day_with_a_daylight_saving_change_is_one_bar_and_its_repeated_hour_one_bucket():
    # New York leaves daylight saving time at 02:00 on 1 November 2026: 01:00-02:00 happens twice that day.
    ConversationFactory(last_message_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    ConversationFactory(last_message_at=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST, an hour later
    ConversationFactory(last_message_at=datetime(2026, 11, 2, 4, 30, tzinfo=UTC))  # 23:30 EST, still the 1st

    end = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
    days = _charts(end - timedelta(days=7), end, "7d", NEW_YORK)
    assert days["labels"] == ["2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"] + [
        f"2026-11-0{day}" for day in (1, 2, 3)
    ]
    assert days["conversations"] == [0, 0, 0, 0, 3, 0, 0]

    end = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 07:00 EST
    hours = _charts(end - timedelta(hours=24), end, "24h", NEW_YORK)
    assert (hours["labels"][0], hours["labels"][-1], len(hours["labels"])) == ("08:00", "07:00", 24)
    assert dict(zip(hours["labels"], hours["conversations"], strict=True))["01:00"] == 2
    assert sum(hours["conversations"]) == 2


def test_pages_show_times_in_the_dashboard_zone_and_say_which(admin_client, settings):
    ScoredConversationFactory(last_message_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    page = admin_client.get("/conversations/").content.decode()
    assert "2026-11-26 10:00" in page
    assert "Times are in UTC." in page

    settings.DASHBOARD_TIME_ZONE = "Asia/Kolkata"
    page = admin_client.get("/conversations/").content.decode()
    assert "2026-11-26 15:30" in page
    assert "2026-11-26 10:00" not in page
    assert "Times are in Asia/Kolkata." in page


def test_the_api_keeps_utc_whatever_the_dashboard_zone(jwt_secret, settings):  # noqa: F811 (the fixture)
    settings.DASHBOARD_TIME_ZONE = "Asia/Kolkata"
    conversation = ScoredConversationFactory(last_message_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    api = Client(headers={"Authorization": f"Bearer {supabase_token()}"})
    body = api.get(f"/api/v1/conversations/{conversation.id}").json()
    assert body["last_message_at"] == "2026-11-26T10:00:00Z"


def test_the_admin_shows_times_in_the_dashboard_zone(admin_client, settings):
    ScoredConversationFactory(last_message_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    settings.DASHBOARD_TIME_ZONE = "Asia/Kolkata"
    page = admin_client.get("/admin/conversations/conversation/").content.decode()
    assert "Nov. 26, 2026, 3:30 p.m." in page
    assert "10 a.m." not in page
