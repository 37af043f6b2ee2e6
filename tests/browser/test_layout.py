"""Each page at the two laptop sizes of issue 6: no horizontal scrollbar, every form field labelled.

A new page joins with one line in PAGES: its path and the fixture that opens it (`page`: anonymous,
`logged_in_page`: the admin).
"""

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import VIEWPORTS, horizontal_overflow, unlabelled_fields

PAGES = [
    pytest.param("/login/", "page", id="login"),
    pytest.param("/settings/", "logged_in_page", id="settings"),
    pytest.param("/", "logged_in_page", id="overview"),
    pytest.param("/conversations/", "logged_in_page", id="conversations"),
    pytest.param("/failures/", "logged_in_page", id="failures"),
    pytest.param("/patterns/", "logged_in_page", id="patterns"),
]


@pytest.fixture(params=[pytest.param(size, id=name) for name, size in VIEWPORTS.items()])
def shown(request: pytest.FixtureRequest, path: str, opened_by: str) -> Page:
    page = request.getfixturevalue(opened_by)
    page.set_viewport_size(request.param)
    page.goto(path)
    return page


@pytest.mark.parametrize(("path", "opened_by"), PAGES)
def test_page_has_no_horizontal_scrollbar(shown: Page):
    assert horizontal_overflow(shown) <= 0


@pytest.mark.parametrize(("path", "opened_by"), PAGES)
def test_every_form_field_has_a_label(shown: Page):
    assert unlabelled_fields(shown) == []
