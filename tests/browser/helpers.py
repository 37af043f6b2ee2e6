"""What the browser tests do and read in a page, in one place so that a new page's test is a few lines."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Response

ADMIN_USERNAME = "boss"
ADMIN_PASSWORD = "a-long-enough-password"
VIEWPORTS = {"1280x800": {"width": 1280, "height": 800}, "1024x768": {"width": 1024, "height": 768}}


def log_in(page: Page, *, username: str, password: str) -> None:
    """Fill in and submit the real login form (does not wait for where it leads)."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def focused(page: Page) -> str:
    """The focused element as `tag#id` or `tag "text"`, for asserting a Tab order."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const tag = el.tagName.toLowerCase();
            return el.id ? `${tag}#${el.id}` : `${tag} "${el.textContent.trim()}"`;
        }"""
    )


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no horizontal scrollbar)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def unlabelled_fields(page: Page) -> list[str]:
    """Visible form fields without a <label>, aria-label or aria-labelledby, as HTML."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
            .filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label")
                            && !el.getAttribute("aria-labelledby"))
            .map((el) => el.outerHTML)"""
    )


@dataclass
class PageProblems:
    """What went wrong in the page while a test drove it, whether or not the test looked."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    uncaught_exceptions: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.uncaught_exceptions.append(str(error)))
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_response(self, response: Response) -> None:
        # A page itself may answer 4xx on purpose (a form with errors); its assets never should.
        same_origin = origin(response.url) == self.origin
        is_asset = response.request.resource_type != "document"
        if same_origin and (response.status >= 500 or (is_asset and response.status >= 400)):
            self.failed_responses.append(f"{response.status} {response.request.method} {response.url}")

    def all(self) -> list[str]:
        return self.console_errors + self.uncaught_exceptions + self.failed_responses

    def clear(self) -> None:
        self.console_errors.clear()
        self.uncaught_exceptions.clear()
        self.failed_responses.clear()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
