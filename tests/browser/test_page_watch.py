"""The net under every browser test must catch what it claims to (each test then empties it, to pass)."""

from playwright.sync_api import Page

from tests.browser.helpers import PageProblems


def test_an_inline_script_blocked_by_the_csp_is_a_page_problem(page: Page, page_problems: PageProblems):
    page.goto("/login/")
    with page.expect_console_message():
        page.evaluate("() => document.head.append(Object.assign(document.createElement('script'), {text: '1'}))")
    assert "Content Security Policy" in " ".join(page_problems.console_errors)
    page_problems.clear()


def test_a_missing_static_file_is_a_page_problem(page: Page, page_problems: PageProblems):
    page.goto("/login/")
    with page.expect_response("**/static/css/missing.css"):
        page.evaluate("() => fetch('/static/css/missing.css')")
    assert page_problems.failed_responses == [f"404 GET {page.url.removesuffix('/login/')}/static/css/missing.css"]
    page_problems.clear()


def test_an_uncaught_exception_is_a_page_problem(page: Page, page_problems: PageProblems):
    page.goto("/login/")
    with page.expect_event("pageerror"):
        page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }); }")
    assert page_problems.uncaught_exceptions == ["boom"]
    page_problems.clear()
