"""Settings → Slack alerts, in Chromium: save the webhook (the local HTTPS stand-in), send a test message."""

from playwright.sync_api import Page, expect

from tests.browser.helpers import PageProblems
from tests.standin import Reply


def save_webhook(page: Page, url: str) -> None:
    page.goto("/settings/")
    page.get_by_label("Webhook URL").fill(url)
    page.get_by_role("button", name="Save").click()


def test_a_saved_webhook_gets_a_test_message_and_the_page_says_it_was_sent(logged_in_page: Page, slack_standin):
    save_webhook(logged_in_page, slack_standin.webhook_url)
    expect(logged_in_page.get_by_role("status")).to_have_text("Saved the Slack alert settings.")
    expect(logged_in_page.get_by_label("Webhook URL")).to_have_value(
        f"{slack_standin.url}/services/T0STANDIN/B0STANDIN/••••••"
    )
    logged_in_page.get_by_role("button", name="Send test message").click()
    expect(logged_in_page.get_by_role("status")).to_contain_text("Test message sent")
    assert len(slack_standin.requests) == 1


def test_a_webhook_slack_refuses_shows_why_the_test_message_was_not_sent(logged_in_page: Page, slack_standin):
    save_webhook(logged_in_page, slack_standin.webhook_url)
    slack_standin.replies.append(Reply(404, b"no_service"))
    logged_in_page.get_by_role("button", name="Send test message").click()
    expect(logged_in_page.get_by_role("status")).to_contain_text("Slack says the webhook was revoked (404 no_service)")


def test_a_url_off_slack_is_shown_as_an_error_beside_the_field(
    logged_in_page: Page, slack_standin, page_problems: PageProblems
):
    save_webhook(logged_in_page, "https://evil.example.com/services/T0001/B0002/abc")
    expect(logged_in_page.get_by_label("Webhook URL")).to_have_attribute("aria-invalid", "true")
    expect(logged_in_page.get_by_role("alert")).to_contain_text("Must be a Slack webhook URL on 127.0.0.1:")
    # The form answers 400 on purpose, and Chromium logs that as a console error: expected here.
    assert [error.split(" (http")[0] for error in page_problems.console_errors] == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    page_problems.clear()
