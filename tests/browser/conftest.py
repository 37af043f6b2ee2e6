"""Real-browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live_server.

A test asks for `page` (anonymous) or `logged_in_page` (an admin, logged in through the real form); the
page's `base_url` is the live server, so `page.goto("/settings/")` works. Whatever the test does, the
page fails it on a console error (a Content-Security-Policy violation is one), an uncaught exception or
a same-origin asset answered with 400 or more, and a screenshot of it is saved to
test-artifacts/screenshots/<test name>.png, passed or failed.

Without a Chromium (/usr/bin/chromium, or CHROMIUM_PATH) the tests skip, except under CI (CI=true),
where a missing browser fails them: `make test` installs Debian's chromium where it can.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.browser.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, VIEWPORTS, PageProblems, log_in, origin

# What this machine kind needs: without the background-networking flags Chromium keeps dialling
# Google's hosts, which the closed network refuses. Playwright adds --headless and --no-sandbox itself
# as well; they are repeated so that this list is the whole story.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Short, so that a selector that never matches fails in seconds, not in Playwright's default 30.
TIMEOUT_MS = 5_000

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
problems_key = pytest.StashKey["PageProblems"]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not its teardown) when its page logged a problem it did not expect."""
    result = yield
    problems = item.stash.get(problems_key, None)
    if problems is not None and problems.all():
        pytest.fail("The page had problems:\n  " + "\n  ".join(problems.all()), pytrace=False)
    return result


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    """Debian's Chromium (or CHROMIUM_PATH); skips without one, but fails under CI."""
    candidate = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    executable = shutil.which(candidate)
    if executable is None:
        reason = f"no Chromium at {candidate}: install Debian's chromium (`make browser`, as root) or set CHROMIUM_PATH"
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
        pytest.skip(reason)
    return executable


@pytest.fixture(scope="package")
def allow_sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio loop running in the test thread, so Django would refuse the
    tests' (and pytest-django's) synchronous ORM calls. Allowed for this package only, and restored after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(chromium_executable: str, allow_sync_orm_beside_playwright: None) -> Iterator[Browser]:
    """One Chromium for the package. Package-scoped, not session-scoped: the event loop Playwright leaves
    running in the main thread would break other packages' tests (async_to_sync refuses to run beside it)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def live_server() -> Iterator[LiveServer]:
    """pytest-django's live server on 127.0.0.1, serving static files as production does.

    Its own would put Django's StaticFilesHandler in front of the app, which serves the source files by
    their plain names, so the hashed names the pages link to (whitenoise's manifest) would all be 404.
    Without it, whitenoise serves them from STATIC_ROOT (collected by the root conftest), as in production.
    """
    server = LiveServer("127.0.0.1", start=False)
    server.thread.static_handler = _app_itself
    server.start()
    yield server
    server.stop()


def _app_itself(app):
    return app


@pytest.fixture
def page_problems(live_server) -> PageProblems:
    return PageProblems(origin=origin(live_server.url))


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, live_server, page_problems: PageProblems) -> Iterator[Page]:
    """A fresh browser context on the live server, watched for problems; screenshot at the end, pass or fail."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS["1280x800"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page_problems.watch(page)
    request.node.stash[problems_key] = page_problems
    yield page
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / f"{_file_name(request.node.name)}.png", full_page=True)
    context.close()


@pytest.fixture
def admin_user(django_user_model, settings):
    # The live server thread reads the same settings: a cheap hasher saves ~0.5 s per log-in, not the
    # point of any browser test (tests/test_login.py covers the real hashers).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_superuser(ADMIN_USERNAME, "boss@example.com", ADMIN_PASSWORD)


@pytest.fixture
def logged_in_page(page: Page, admin_user) -> Page:
    """`page`, logged in as an admin through the real login form."""
    log_in(page, username=ADMIN_USERNAME, password=ADMIN_PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url, wait_until="commit")
    return page


def _file_name(test_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
