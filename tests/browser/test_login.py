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
