"""Settings → API keys, as the admin uses it in the browser (server side; the browser test drives it too)."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create
from conversations.models import Conversation

pytestmark = pytest.mark.django_db


def test_api_keys_page_needs_login(client):
    response = client.get("/settings/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/settings/")


def test_creating_a_key_shows_its_secret_once(admin_client):
    created = admin_client.post("/settings/", {"name": "support bot"})
    row = ApiKey.objects.get(name="support bot")
    page = created.content.decode()
    secret_start = page.index(f"cs_{row.prefix}_")
    secret = page[secret_start : secret_start + len(f"cs_{row.prefix}_") + 43]
    assert created["Cache-Control"] == "no-store"
    assert secret not in admin_client.get("/settings/").content.decode()


def test_the_new_keys_snippet_sends_a_conversation_of_now(admin_client, client, settings):
    settings.DASHBOARD_TIME_ZONE = "Asia/Tokyo"  # the page's zone, nine hours off UTC, is not the snippet's
    page = html.unescape(admin_client.post("/settings/", {"name": "support bot"}).content.decode())
    key = re.search(r'"Authorization: Bearer (cs_[^"]+)"', page).group(1)
    body = json.loads(re.search(r"-d '(.*?)'</pre>", page, re.DOTALL).group(1))
    client.post(
        "/api/v1/conversations/track", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    sent_at = Conversation.objects.get(external_id=body["external_id"]).last_message_at
    assert timezone.now() - timedelta(minutes=1) < sent_at <= timezone.now()


def test_a_key_without_a_name_is_refused_with_a_message(admin_client):
    response = admin_client.post("/settings/", {"name": " "})
    assert response.status_code == 400
    assert "Give the key a name" in response.content.decode()


def test_revoking_from_the_page_revokes_the_key(admin_client):
    row, _ = api_key_create(name="old app")
    response = admin_client.post(f"/settings/api-keys/{row.id}/revoke")
    row.refresh_from_db()
    assert (response.status_code, row.revoked_at is not None) == (302, True)


def test_empty_state_tells_what_to_do(admin_client):
    assert "No keys yet" in admin_client.get("/settings/").content.decode()


def test_sending_the_same_key_form_again_creates_no_second_key(admin_client):
    page = admin_client.get("/settings/").content.decode()
    token = page.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    first = admin_client.post("/settings/", {"name": "support bot", "form_token": token})
    again = admin_client.post("/settings/", {"name": "support bot", "form_token": token}, follow=True)
    assert (first.status_code, ApiKey.objects.filter(name="support bot").count()) == (200, 1)
    assert "That form was sent before: the key “support bot” was created then" in again.content.decode()
    fresh = again.content.decode().split('name="form_token" value="', 1)[1].split('"', 1)[0]
    assert fresh != token
    admin_client.post("/settings/", {"name": "support bot", "form_token": fresh})
    assert ApiKey.objects.filter(name="support bot").count() == 2
