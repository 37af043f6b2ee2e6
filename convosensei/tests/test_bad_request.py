"""A 400 raised before any view, with the project's own URLs (its handler400)."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_host_under_api_gets_400_in_the_envelope(client):
    # An SDK pointed at a host name missing from DJANGO_ALLOWED_HOSTS got Django's HTML page and could only report
    # "HTTP 400"; the envelope says what is wrong.
    response = client.post(
        "/api/v1/conversations/track", data={}, content_type="application/json", HTTP_HOST="convosensei.internal"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "This server does not answer to the host named in the request (DJANGO_ALLOWED_HOSTS).",
        "code": "disallowed_host",
    }


def test_unknown_host_on_a_page_still_gets_the_html_400(client):
    response = client.get("/", HTTP_HOST="convosensei.internal")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
