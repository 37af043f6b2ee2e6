"""The API documentation page (Swagger UI, served locally) renders under the Content-Security-Policy."""

from playwright.sync_api import Page, expect


def test_the_api_docs_render_without_breaking_the_content_security_policy(page: Page):
    # The page fixture fails the test on any console error, a refused inline style included.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ConvoSensei")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
