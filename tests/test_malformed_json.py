"""A body that is not JSON gets the same 400, in the same words, from ingestion and from the dashboard API."""

import pytest
from django.test import Client

from accounts.services import api_key_create
from conversations.tests.auth import api, jwt_secret  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

TRACK = "/api/v1/conversations/track"
API_KEYS = "/api/v1/api-keys"


@pytest.fixture
def ingest(db) -> Client:
    _, key = api_key_create(name="ingest")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_malformed_json_gets_one_message_from_ingestion_and_the_dashboard_api(ingest, api):  # noqa: F811
    answers = [
        (response.status_code, response.json())
        for response in (
            ingest.post(TRACK, data="{nope", content_type="application/json"),
            api.post(API_KEYS, data="{nope", content_type="application/json"),
        )
    ]
    expected = {
        "message": "Malformed JSON: expecting property name enclosed in double quotes at line 1, column 2.",
        "code": "malformed_request",
    }
    assert answers == [(400, expected), (400, expected)]


def test_nan_is_refused_by_the_dashboard_api_as_malformed_json(api):  # noqa: F811
    response = api.post(API_KEYS, data='{"name": NaN}', content_type="application/json")
    assert (response.status_code, response.json()["message"]) == (400, "Malformed JSON: NaN is not a JSON number.")


def test_a_body_that_is_not_in_its_declared_charset_is_malformed_json(api):  # noqa: F811
    response = api.post(API_KEYS, data=b'{"name": "\xff"}', content_type="application/json; charset=utf-8")
    assert (response.status_code, response.json()["message"]) == (400, "Malformed JSON: the body is not utf-8 text.")


def test_a_message_that_ends_in_at_is_not_followed_by_a_second_at(ingest):
    response = ingest.post(TRACK, data='{"external_id": "abc', content_type="application/json")
    assert response.json()["message"] == "Malformed JSON: unterminated string starting at line 1, column 17."


def test_the_dashboard_api_refuses_a_body_over_a_mebibyte_with_413_and_stores_nothing(api):  # noqa: F811
    from accounts.models import ApiKey

    body = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = api.post(API_KEYS, data=body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        413,
        {"message": "The request body is larger than 1048576 bytes.", "code": "payload_too_large"},
    )
    assert not ApiKey.objects.exists()
