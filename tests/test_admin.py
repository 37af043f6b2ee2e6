"""The Django admin: every model's list and change pages load, with a bounded number of queries."""

import re

import pytest
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db.models import UUIDField
from django.urls import reverse
from django.utils.html import escape

from accounts.models import ApiKey
from accounts.services import api_key_verify
from analytics.models import DeadLetter
from conversations.models import Conversation, Failure, Message

pytestmark = pytest.mark.django_db

MODELS = [model for model in admin.site._registry if model._meta.app_label not in {"auth", "django_celery_beat"}]


@pytest.fixture
def demo():
    call_command("load_demo", count=40, days=5)
    DeadLetter.objects.create(task_name="analytics.process_conversation", kwargs={"conversation_id": "x"}, error="E")


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_admin_list_page_loads_with_bounded_queries(admin_client, demo, model, django_assert_max_num_queries):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(15):
        response = admin_client.get(url)
    assert response.status_code == 200


def test_failure_status_action_acknowledges(admin_client, demo):
    failure = Failure.objects.filter(status="open").first()
    url = reverse("admin:conversations_failure_changelist")
    admin_client.post(url, {"action": "acknowledge", "_selected_action": [str(failure.pk)]})
    failure.refresh_from_db()
    assert failure.status == "ack"


def test_conversation_change_page_shows_its_messages(admin_client, demo):
    conversation = Conversation.objects.first()
    response = admin_client.get(reverse("admin:conversations_conversation_change", args=[conversation.pk]))
    assert response.status_code == 200
    assert escape(conversation.messages.first().content[:20]) in response.content.decode()


def test_a_message_can_be_viewed_but_neither_edited_nor_added(admin_client, demo):
    message = Message.objects.first()
    change = reverse("admin:conversations_message_change", args=[message.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"content": "rewritten", "role": "user"}).status_code == 403
    assert Message.objects.get(pk=message.pk).content == message.content
    assert admin_client.get(reverse("admin:conversations_message_add")).status_code == 403


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_admin_list_has_an_order_of_its_own(model):
    # Without one, Django orders a list by descending primary key: for a random UUID that is no order at all.
    model_admin = admin.site._registry[model]
    assert model_admin.get_ordering(None) or model._meta.ordering or not isinstance(model._meta.pk, UUIDField)


def test_the_conversation_list_shows_the_latest_conversation_first(admin_client, demo):
    page = admin_client.get(reverse("admin:conversations_conversation_changelist")).content.decode()
    latest = Conversation.objects.order_by("-last_message_at").values_list("external_id", flat=True)[:3]
    assert [page.index(f">{external_id}<") for external_id in latest] == sorted(
        page.index(f">{external_id}<") for external_id in latest
    )


def test_an_api_key_added_in_the_admin_is_shown_in_its_response_and_never_put_in_a_cookie(admin_client):
    response = admin_client.post(reverse("admin:accounts_apikey_add"), {"name": "from the admin"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [plaintext] = re.findall(r"cs_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", response.content.decode())
    assert api_key_verify(raw_key=plaintext).prefix == ApiKey.objects.get(name="from the admin").prefix
    # Django's message storage keeps a message in a cookie (zlib-compressed and signed, not encrypted): the secret
    # would sit in the browser's cookie jar and travel in request headers.
    assert "messages" not in response.cookies
    assert all(plaintext not in str(session.get_decoded()) for session in Session.objects.all())
    assert plaintext not in admin_client.get(reverse("admin:accounts_apikey_changelist")).content.decode()
