"""The dashboard without a mouse, in Chromium."""

import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, focused


def test_login_form_is_filled_and_submitted_with_the_keyboard_alone(page: Page, admin_user):
    page.goto("/login/")
    stops = [focused(page)]  # the username field has autofocus
    page.keyboard.type(ADMIN_USERNAME)
    page.keyboard.press("Tab")
    stops.append(focused(page))
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Tab")
    stops.append(focused(page))
    page.keyboard.press("Enter")
    assert stops == ["input#id_username", "input#id_password", 'button "Log in"']
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(logged_in_page: Page):
    logged_in_page.goto("/settings/")
    logged_in_page.keyboard.press("Tab")
    skip_link = logged_in_page.get_by_role("link", name="Skip to content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()  # shown while focused, off-screen otherwise
    logged_in_page.keyboard.press("Enter")
    expect(logged_in_page.locator("main")).to_be_focused()
