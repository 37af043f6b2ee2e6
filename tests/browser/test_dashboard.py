"""The dashboard pages in a real browser, on the demo data set: what the admin does every morning."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from conversations.models import Failure


@pytest.fixture
def demo(live_server) -> None:
    call_command("load_demo", count=80, days=10)


def test_overview_draws_its_four_charts(logged_in_page: Page, demo):
    logged_in_page.goto("/?timeframe=30d")
    for chart in ("conversations", "health", "failures", "distribution"):
        drawn = logged_in_page.evaluate(f"() => !!Chart.getChart(document.getElementById('chart-{chart}'))")
        assert drawn, chart
    expect(logged_in_page.locator(".kpi .value").first).not_to_have_text("–")


def test_the_health_line_breaks_on_a_day_without_conversations(logged_in_page: Page, live_server):
    from datetime import timedelta

    from django.utils import timezone

    from conversations.tests.factories import ConversationFactory

    now = timezone.now()
    for days_ago in (1, 3):  # nothing two days ago: an outage has no average health to draw through
        ConversationFactory(last_message_at=now - timedelta(days=days_ago), health_score=80.0)
    logged_in_page.goto("/?timeframe=7d")
    segments = logged_in_page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-health')).getDatasetMeta(0).dataset.segments.length"
    )
    assert segments == 2


def test_filtering_conversations_by_health_shows_only_matching_rows(logged_in_page: Page, demo):
    logged_in_page.goto("/conversations/")
    logged_in_page.get_by_label("Health from").fill("60")
    logged_in_page.get_by_label("Health to").fill("90")
    logged_in_page.get_by_role("button", name="Apply").click()
    logged_in_page.wait_for_url(re.compile(r"health_min=60"))
    scores = [int(text) for text in logged_in_page.locator("table.conversations .badge").all_inner_texts()]
    assert scores
    assert all(60 <= score <= 90 for score in scores)


def test_a_conversation_shows_its_failure_on_the_message(logged_in_page: Page, demo):
    failure = Failure.objects.first()
    logged_in_page.goto(f"/conversations/{failure.conversation_id}/")
    message = logged_in_page.locator(f"#message-{failure.message_id}")
    expect(message).to_have_class(re.compile(r"\bfailure\b"))
    # A message may carry several failures (a refusal that also ended the conversation): each has its note.
    for on_message in Failure.objects.filter(message_id=failure.message_id):
        note = message.locator(".failure-note").filter(has_text=on_message.description)
        expect(note).to_contain_text(on_message.type)


def test_the_inboxs_link_to_a_failure_past_the_first_500_messages_scrolls_to_its_message(
    logged_in_page: Page, live_server
):
    from datetime import UTC, datetime, timedelta

    from conversations.models import Message
    from conversations.tests.factories import ConversationFactory, FailureFactory

    conversation = ConversationFactory(message_count=523)
    start = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    messages = Message.objects.bulk_create(
        Message(
            conversation=conversation,
            position=index,
            role=Message.Role.USER,
            content=f"turn {index + 1}",
            timestamp=start + timedelta(seconds=index),
            dedupe_key=f"turn:{index}",
        )
        for index in range(523)
    )
    failure = FailureFactory(conversation=conversation, message=messages[521])
    logged_in_page.goto("/failures/")
    logged_in_page.get_by_role("link", name=conversation.external_id).click()
    expect(logged_in_page.locator(f"#message-{failure.message_id}")).to_be_in_viewport()


def test_acknowledging_a_failure_takes_it_off_the_open_list(logged_in_page: Page, demo):
    failure = Failure.objects.filter(status="open").order_by("-detected_at").first()
    logged_in_page.goto("/failures/")
    logged_in_page.locator(f"#select-{failure.id}").check()
    logged_in_page.get_by_role("button", name="Acknowledge selected").click()
    expect(logged_in_page.locator(".messages")).to_contain_text("Marked 1 failure as acknowledged")
    expect(logged_in_page.locator(f"#select-{failure.id}")).to_have_count(0)


def test_select_all_checks_every_failure_listed_and_resolves_them_all(logged_in_page: Page, demo):
    logged_in_page.goto("/failures/")
    boxes = logged_in_page.locator("input[name=ids]")
    listed = boxes.evaluate_all("(boxes) => boxes.map((box) => box.value)")
    logged_in_page.get_by_label("Select every failure listed").check()
    assert boxes.evaluate_all("(boxes) => boxes.filter((box) => box.checked).length") == len(listed)
    logged_in_page.get_by_role("button", name="Resolve selected").click()
    expect(logged_in_page.locator(".messages")).to_contain_text(f"Marked {len(listed)} failures as resolved")
    assert Failure.objects.filter(id__in=listed, status=Failure.Status.RESOLVED).count() == len(listed)


def test_a_saved_view_is_saved_then_applied(logged_in_page: Page, demo):
    logged_in_page.goto("/conversations/?health_max=50")
    logged_in_page.get_by_label("Save these filters as").fill("Unhappy")
    logged_in_page.get_by_role("button", name="Save view").click()
    expect(logged_in_page.locator(".messages")).to_contain_text("Saved the view")
    logged_in_page.goto("/conversations/")
    logged_in_page.get_by_role("link", name="Unhappy").click()
    logged_in_page.wait_for_url(re.compile(r"health_max=50"))
    expect(logged_in_page.get_by_label("Health to")).to_have_value("50")


@pytest.mark.parametrize("size", ["1280x800", "1024x768"])
def test_a_conversation_fits_the_laptop_sizes(logged_in_page: Page, demo, size):
    from tests.browser.helpers import VIEWPORTS, horizontal_overflow

    failure = Failure.objects.first()
    logged_in_page.set_viewport_size(VIEWPORTS[size])
    logged_in_page.goto(f"/conversations/{failure.conversation_id}/")
    assert horizontal_overflow(logged_in_page) <= 0


def test_the_overview_charts_are_drawn_again_after_the_automatic_refresh(logged_in_page: Page, demo, monkeypatch):
    # The page fails the test on a console error too: htmx copying a chart's style attribute breaks the CSP.
    monkeypatch.setattr("analytics.views.REFRESH_SECONDS", 1)  # the live server's thread reads the same module
    logged_in_page.goto("/?timeframe=30d")
    # The page's own timer makes the request; the promise settles once htmx has swapped in the answer and settled.
    logged_in_page.evaluate(
        "() => new Promise((resolve) => document.addEventListener('htmx:afterSettle', resolve, {once: true}))"
    )
    charts = logged_in_page.evaluate(
        """() => Array.from(document.querySelectorAll("#overview canvas")).map((canvas) => {
            const chart = Chart.getChart(canvas);
            return {id: canvas.id, drawn: !!chart && chart.canvas === canvas, size: [canvas.width, canvas.height]};
        })"""
    )
    assert [chart["id"] for chart in charts if chart["drawn"] and chart["size"] != [300, 150]] == [
        "chart-conversations",
        "chart-health",
        "chart-failures",
        "chart-distribution",
    ]


def test_applying_filters_to_a_patterns_conversations_keeps_the_pattern(logged_in_page: Page, demo):
    from analytics.models import UsagePattern

    pattern = UsagePattern.objects.filter(size__gte=2).order_by("-size").first()
    logged_in_page.goto(f"/patterns/{pattern.id}/")
    logged_in_page.get_by_role("link", name=re.compile(r"See its \d+ conversations")).click()
    expect(logged_in_page.locator(".active-filter")).to_contain_text(f"Pattern: {pattern.label}")
    logged_in_page.get_by_label("Health from").fill("0")
    logged_in_page.get_by_role("button", name="Apply").click()
    logged_in_page.wait_for_url(re.compile(r"health_min=0"))
    assert f"pattern={pattern.id}" in logged_in_page.url
    expect(logged_in_page.locator(".active-filter")).to_contain_text(f"Pattern: {pattern.label}")
    logged_in_page.get_by_role("link", name="Remove the pattern filter").click()
    logged_in_page.wait_for_url(lambda url: "pattern=" not in url)
    expect(logged_in_page.locator(".active-filter")).to_have_count(0)


def _oklab(colour: str) -> tuple[float, float, float]:
    """A #rrggbb colour in OKLab (Björn Ottosson's), where distance follows how different colours look."""
    red, green, blue = (
        channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
        for channel in (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    )
    long = (0.4122214708 * red + 0.5363325363 * green + 0.0514459929 * blue) ** (1 / 3)
    medium = (0.2119034982 * red + 0.6806995451 * green + 0.1073969566 * blue) ** (1 / 3)
    short = (0.0883024619 * red + 0.2817188376 * green + 0.6299787005 * blue) ** (1 / 3)
    return (
        0.2104542553 * long + 0.7936177850 * medium - 0.0040720468 * short,
        1.9779984951 * long - 2.4285922050 * medium + 0.4505937099 * short,
        0.0259040371 * long + 0.7827717662 * medium - 0.8086757660 * short,
    )


def test_every_failure_type_has_a_colour_of_its_own_on_the_overview(logged_in_page: Page, live_server):
    from itertools import combinations
    from math import dist

    from analytics.scoring import FAILURE_TYPES
    from conversations.tests.factories import FailureFactory

    for failure_type in FAILURE_TYPES:
        FailureFactory(type=failure_type)
    logged_in_page.goto("/?timeframe=7d")
    colours = dict(
        logged_in_page.evaluate(
            """() => Chart.getChart(document.getElementById('chart-failures')).data.datasets
                .map((dataset) => [dataset.label, dataset.backgroundColor])"""
        )
    )
    assert set(colours) == set(FAILURE_TYPES)
    # 0.1 apart in OKLab at least: error and user_frustration were 0.058 apart, two browns read as one.
    closest = min(combinations(colours, 2), key=lambda pair: dist(*(_oklab(colours[kind]) for kind in pair)))
    assert dist(*(_oklab(colours[kind]) for kind in closest)) >= 0.1, closest


def test_the_overview_left_open_after_the_session_ended_goes_to_the_login_form(logged_in_page: Page, monkeypatch):
    monkeypatch.setattr("analytics.views.REFRESH_SECONDS", 1)  # the live server's thread reads the same module
    logged_in_page.goto("/?timeframe=7d")
    logged_in_page.context.clear_cookies()  # logged out in another tab, or the session expired
    expect(logged_in_page).to_have_url(re.compile(r"/login/\?next=/%3Ftimeframe%3D7d$"))
    expect(logged_in_page.get_by_role("button", name="Log in")).to_be_visible()
