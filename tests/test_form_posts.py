"""The dashboard's form URLs reached other than by their forms: asked for with GET (the login form sends a browser on
to one when a form was sent after the login ended, or its address is opened again), and sent to once logged out."""

import pytest

from convosensei.decorators import LOGGED_OUT

pytestmark = pytest.mark.django_db

# Each URL that only takes a form's POST, and the page its form is on.
FORM_URLS = [
    ("/settings/slack", "/settings/#slack"),
    ("/settings/slack/test", "/settings/#slack"),
    ("/settings/api-keys/3f0c9a52-6f1e-4d0b-9a57-2b8c1d4e6a70/revoke", "/settings/#api-keys"),
    ("/failures/status", "/failures/"),
    ("/conversations/views/save", "/conversations/"),
    ("/conversations/views/8d2e4b16-0c3a-4f7e-b5d9-6a1c2e3f4b58/delete", "/conversations/"),
]


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(("url", "page"), FORM_URLS)
def test_a_get_of_a_form_url_goes_to_the_page_of_its_form(admin_client, url, page):
    response = admin_client.get(url)
    assert (response.status_code, response["Location"]) == (302, page)


@pytest.mark.parametrize(("url", "page"), FORM_URLS)
def test_logging_in_on_the_way_to_a_form_url_lands_on_the_page_of_its_form(
    client, django_user_model, fast_passwords, url, page
):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "a-long-enough-password")
    response = client.post(
        "/login/", {"username": "boss", "password": "a-long-enough-password", "next": url}, follow=True
    )
    assert (response.status_code, response.redirect_chain) == (200, [(url, 302), (page, 302)])


@pytest.mark.parametrize("url", [url for url, _ in FORM_URLS] + ["/settings/"])
def test_a_form_sent_once_logged_out_goes_to_the_login_form_which_says_nothing_was_saved(client, url):
    response = client.post(url, {"name": "support bot"}, follow=True)
    assert response.redirect_chain == [(f"/login/?next={url}", 302)]
    assert LOGGED_OUT in response.content.decode()


def test_a_form_url_still_refuses_other_methods(admin_client):
    response = admin_client.put("/settings/slack")
    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD, POST")


def test_a_page_asked_for_once_logged_out_says_nothing_of_a_form(client):
    assert LOGGED_OUT not in client.get("/settings/", follow=True).content.decode()
