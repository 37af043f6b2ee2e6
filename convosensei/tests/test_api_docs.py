"""The API's documentation pages, which people type into a browser."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("asked", "location"),
    [
        ("/api/docs", "/api/docs/"),
        ("/api/schema", "/api/schema/"),
        ("/api/schema?format=json", "/api/schema/?format=json"),
    ],
)
def test_the_docs_and_the_schema_without_their_trailing_slash_redirect_to_it(client, asked, location):
    response = client.get(asked)
    assert (response.status_code, response["Location"]) == (301, location)


def test_another_api_path_without_its_trailing_slash_still_gets_the_404_envelope(client):
    response = client.get("/api/v1")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
