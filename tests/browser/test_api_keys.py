"""Settings → API keys, in Chromium: create (secret shown once, copy), revoke (with confirmation)."""

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.services import api_key_create

KEY_PATTERN = re.compile(r"cs_([a-z0-9]{12})_[A-Za-z0-9_-]{43}")
TRACK = "/api/v1/conversations/track"


def create_key_in_page(page: Page, name: str) -> str:
    page.goto("/settings/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create key").click()
    return page.locator("#new-key").inner_text()


def track_status(live_server, key: str) -> int:
    # An empty body: a valid key gets 400 (validation), a bad one 401, and nothing is stored either way.
    response = requests.post(live_server.url + TRACK, json={}, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return response.status_code


# A plain-http host other than localhost has no Clipboard API: navigator.clipboard is left out, as there. The page
# keeps it under another name, for the test to read what was copied.
WITHOUT_CLIPBOARD_API = """
    window.keptClipboard = navigator.clipboard;
    delete Navigator.prototype.clipboard;
"""
# A browser that refuses the old way of copying too (document.execCommand answers false).
COPY_COMMAND_REFUSED = """
    const execCommand = Document.prototype.execCommand;
    Document.prototype.execCommand = function (command, ...rest) {
        return command === "copy" ? false : execCommand.call(this, command, ...rest);
    };
"""
# The Clipboard API there, but refusing to write (a permission denied).
CLIPBOARD_WRITE_REFUSED = """
    navigator.clipboard.writeText = () => Promise.reject(new DOMException("Denied.", "NotAllowedError"));
"""


def selected_text(page: Page) -> str:
    return page.evaluate("() => window.getSelection().toString()")


@pytest.fixture
def existing_key(live_server) -> tuple[str, str]:
    row, key = api_key_create(name="support bot")
    assert track_status(live_server, key) == 400  # the key works before the test revokes it
    return row.prefix, key


def test_a_new_key_is_shown_in_full_once_then_only_by_its_prefix(logged_in_page: Page):
    key = create_key_in_page(logged_in_page, "support bot")
    prefix = KEY_PATTERN.fullmatch(key).group(1)
    logged_in_page.goto("/settings/")  # a GET (a reload would send the POST again and make a second key)
    expect(logged_in_page.locator("main")).not_to_contain_text(key)
    expect(logged_in_page.get_by_role("row", name="support bot")).to_contain_text(f"cs_{prefix}_…")


def test_copy_button_puts_the_new_key_on_the_clipboard(logged_in_page: Page):
    logged_in_page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    key = create_key_in_page(logged_in_page, "support bot")
    copy = logged_in_page.locator("button.copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert logged_in_page.evaluate("() => navigator.clipboard.readText()") == key
    assert selected_text(logged_in_page) == ""  # by the Clipboard API, not the fallback


def test_without_the_clipboard_api_copy_selects_the_new_key_and_copies_it(logged_in_page: Page):
    logged_in_page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    logged_in_page.add_init_script(WITHOUT_CLIPBOARD_API)
    key = create_key_in_page(logged_in_page, "support bot")
    copy = logged_in_page.locator("button.copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert selected_text(logged_in_page) == key
    assert logged_in_page.evaluate("() => window.keptClipboard.readText()") == key


@pytest.mark.parametrize(
    "clipboard",
    [WITHOUT_CLIPBOARD_API, CLIPBOARD_WRITE_REFUSED],
    ids=["without-the-clipboard-api", "clipboard-refuses-to-write"],
)
def test_a_key_that_cannot_be_copied_is_left_selected_for_ctrl_c(logged_in_page: Page, clipboard: str):
    logged_in_page.add_init_script(clipboard + COPY_COMMAND_REFUSED)
    key = create_key_in_page(logged_in_page, "support bot")
    copy = logged_in_page.locator("button.copy")
    copy.click()
    expect(copy).to_have_text("Selected: press Ctrl+C")
    assert selected_text(logged_in_page) == key


def test_revoking_after_confirmation_makes_the_key_fail_at_once(logged_in_page: Page, live_server, existing_key):
    prefix, key = existing_key
    logged_in_page.goto("/settings/")
    logged_in_page.once("dialog", lambda dialog: dialog.accept())
    logged_in_page.get_by_role("row", name="support bot").get_by_role("button", name="Revoke").click()
    expect(logged_in_page.get_by_role("status")).to_contain_text(f"cs_{prefix}_…")
    expect(logged_in_page.get_by_role("row", name="support bot")).to_contain_text("revoked")
    assert track_status(live_server, key) == 401


def test_dismissing_the_confirmation_keeps_the_key(logged_in_page: Page, live_server, existing_key):
    _, key = existing_key
    logged_in_page.goto("/settings/")
    logged_in_page.once("dialog", lambda dialog: dialog.dismiss())
    logged_in_page.get_by_role("row", name="support bot").get_by_role("button", name="Revoke").click()
    expect(logged_in_page.get_by_role("row", name="support bot")).to_contain_text("active")
    assert track_status(live_server, key) == 400
