"""Logging in and out of the dashboard, in Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, log_in


def test_admin_logs_in_through_the_form_and_reaches_the_dashboard(page: Page, admin_user):
    log_in(page, username=ADMIN_USERNAME, password=ADMIN_PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.goto("/settings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")


def test_wrong_password_shows_the_error_and_stays_on_the_login_page(page: Page, admin_user):
    log_in(page, username=ADMIN_USERNAME, password="not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Your username and password didn't match. Please try again.")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_log_out_ends_the_session(logged_in_page: Page):
    logged_in_page.goto("/settings/")
    logged_in_page.get_by_role("button", name="Log out").click()
    expect(logged_in_page).to_have_url(re.compile(r"/login/$"))
    logged_in_page.goto("/settings/")
    expect(logged_in_page).to_have_url(re.compile(r"/login/\?next=/settings/$"))


@pytest.mark.parametrize("path", ["/settings/"])
def test_dashboard_pages_send_an_anonymous_visitor_to_the_login_form(page: Page, path):
    page.goto(path)
    expect(page.get_by_label("Username")).to_be_focused()


def test_a_form_sent_after_the_login_ended_leads_back_to_its_page_after_logging_in(logged_in_page: Page):
    logged_in_page.goto("/settings/")
    logged_in_page.get_by_label("Webhook URL").fill("https://hooks.slack.com/services/T0001/B0002/abc")
    logged_in_page.context.clear_cookies(name="sessionid")  # the login expired, or ended in another tab
    logged_in_page.get_by_role("button", name="Save").click()
    expect(logged_in_page.get_by_role("status")).to_have_text(
        "You had been logged out, so nothing was saved or sent: log in, then submit the form again."
    )
    logged_in_page.get_by_label("Username").fill(ADMIN_USERNAME)
    logged_in_page.get_by_label("Password").fill(ADMIN_PASSWORD)
    logged_in_page.get_by_role("button", name="Log in").click()
    expect(logged_in_page).to_have_url(re.compile(r"/settings/#slack$"))  # not a blank 405 at /settings/slack
    expect(logged_in_page.get_by_role("heading", level=1)).to_have_text("Settings")
    expect(logged_in_page.get_by_label("Webhook URL")).to_have_value("")  # nothing was saved
