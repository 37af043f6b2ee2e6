"""Responses that hold the users' conversations or a secret are kept in no cache: not in a shared proxy's, and not in
the browser's, where the Back button would show a transcript again after the admin logged out."""

import json

import pytest

from conversations.tests.auth import api, jwt_secret  # noqa: F401 (fixtures)
from conversations.tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _never_stored(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_a_conversation_page_is_never_stored(admin_client):
    message = MessageFactory(content="my card number is 4111")
    response = admin_client.get(f"/conversations/{message.conversation_id}/")
    assert response.status_code == 200
    assert _never_stored(response)


def test_the_api_s_transcript_and_export_are_never_stored(api):  # noqa: F811
    message = MessageFactory(content="my card number is 4111")
    for url in (f"/api/v1/conversations/{message.conversation_id}/messages", "/api/v1/conversations/export"):
        response = api.get(url)
        assert response.status_code == 200
        assert _never_stored(response), url


def test_a_key_created_with_the_api_is_never_stored(admin_client):
    response = admin_client.post("/api/v1/api-keys", json.dumps({"name": "ci"}), content_type="application/json")
    assert response.status_code == 201
    assert _never_stored(response)


def test_a_cache_control_of_a_view_s_own_is_kept(admin_client):
    response = admin_client.post("/settings/", {"name": "support bot"})
    assert response["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(client):
    ConversationFactory()
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert not _never_stored(response)
