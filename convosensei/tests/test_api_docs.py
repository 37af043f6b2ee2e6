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


def _schema(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_every_operation_says_in_its_summary_what_it_does(client):
    operations = [
        f"{method.upper()} {path}"
        for path, methods in _schema(client)["paths"].items()
        for method, operation in methods.items()
        if not operation.get("summary")
    ]
    assert operations == []


def test_every_schema_component_is_named_after_what_it_holds(client):
    # A serializer nested in a view without a ref_name is published under its class name alone: "Output", "Created".
    generic = {"Input", "InputRequest", "Output", "Created", "Params", "OutputRequest"}
    assert generic & set(_schema(client)["components"]["schemas"]) == set()
