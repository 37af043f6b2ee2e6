"""The pages at a phone's width (390x844, an iPhone 12 to 15): the page is never wider than the screen; a wide
table scrolls sideways inside its card instead."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(live_server) -> None:
    from accounts.services import api_key_create
    from conversations.tests.factories import FailureFactory

    call_command("load_demo", count=80, days=10)
    api_key_create(name="support-bot production")  # the Settings page lists it, with its actions
    # The longest type, newest: first among the overview's open failures, its tag one word that cannot wrap.
    FailureFactory(type="human_handoff_request", description="The user asked for a person.")


@pytest.mark.parametrize("path", ["/?timeframe=30d", "/conversations/", "/failures/", "/patterns/", "/settings/"])
def test_a_page_with_wide_tables_is_no_wider_than_a_phone(logged_in_page: Page, demo, path):
    logged_in_page.set_viewport_size(PHONE)
    logged_in_page.goto(path)
    assert logged_in_page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_wide_table_scrolls_inside_its_card_on_a_phone(logged_in_page: Page, demo):
    logged_in_page.set_viewport_size(PHONE)
    logged_in_page.goto("/failures/")
    scroller = logged_in_page.locator(".table-scroll").filter(has=logged_in_page.locator("table.failures"))
    scrolls = scroller.evaluate("(box) => [box.scrollWidth > box.clientWidth, getComputedStyle(box).overflowX]")
    assert scrolls == [True, "auto"]


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 800}])
def test_a_conversation_with_long_unbroken_text_is_no_wider_than_the_screen(
    logged_in_page: Page, live_server, viewport
):
    # Real transcripts hold URLs, tokens and stack traces, and external ids can be long: they wrap, not the page.
    from analytics.tests.factories import conversation_with_turns
    from conversations.models import Failure

    url = "https://shop.example.com/orders/" + "a1b2c3d4" * 40
    conversation = conversation_with_turns(
        f"My order page {url} shows an error", "Sorry, I don't understand.", external_id="review-" + "x" * 240
    )
    message = conversation.messages.order_by("position").last()
    Failure.objects.create(
        conversation=conversation, message=message, type="bot_fallback", severity="medium", description=url
    )
    logged_in_page.set_viewport_size(viewport)
    logged_in_page.goto(f"/conversations/{conversation.id}/")
    assert logged_in_page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]


def test_a_message_whose_metadata_holds_a_long_url_keeps_the_conversation_as_wide_as_a_phone(
    logged_in_page: Page, live_server
):
    from conversations.models import Message
    from conversations.tests.factories import MessageFactory

    url = "https://example.com/orders/" + "a1b2c3d4e5" * 28  # 307 characters, no place to break
    message = MessageFactory(
        conversation__message_count=1,
        role=Message.Role.ASSISTANT,
        content="",
        metadata={"source": url, "model": "gpt-test"},
    )
    logged_in_page.set_viewport_size(PHONE)
    logged_in_page.goto(f"/conversations/{message.conversation_id}/")
    logged_in_page.get_by_text("Metadata: source").click()
    expect(logged_in_page.locator(f"#message-{message.id} pre")).to_contain_text(url[:40])
    assert logged_in_page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"] + 1
