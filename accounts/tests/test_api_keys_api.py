"""POST /api/v1/api-keys as a dashboard client calls it, with a Supabase token."""

import pytest

from accounts.models import ApiKey
from conversations.tests.auth import api, jwt_secret  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

API_KEYS = "/api/v1/api-keys"


def test_a_name_over_100_characters_as_sent_is_refused_though_it_trims_to_100(api):  # noqa: F811
    response = api.post(API_KEYS, {"name": " " + "*" * 100}, content_type="application/json")
    assert (response.status_code, response.json()["details"]) == (
        400,
        {"name": ["Ensure this field has no more than 100 characters."]},
    )
    assert not ApiKey.objects.exists()


def test_a_name_of_100_characters_is_kept_trimmed(api):  # noqa: F811
    response = api.post(API_KEYS, {"name": " " + "*" * 98 + " "}, content_type="application/json")
    assert (response.status_code, response.json()["name"]) == (201, "*" * 98)


@pytest.mark.parametrize("key_id", ["not-a-key-id", "6f1c2a4e-0000-4000-8000-00000000000b"])
def test_revoking_a_key_that_does_not_exist_names_what_was_not_found(api, key_id):  # noqa: F811
    response = api.delete(f"{API_KEYS}/{key_id}")
    expected = {"message": "No API key with this id.", "code": "not_found"}
    assert (response.status_code, response.json()) == (404, expected)
