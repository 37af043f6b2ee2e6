"""Deleting conversations: by the service (with all that derives from them), the nightly retention task, the
`delete_conversations` command and the admin."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts.models import AlertDelivery
from analytics.models import EMBEDDING_DIMENSIONS, ConversationEmbedding, PatternConversation, UsagePattern
from conversations import services
from conversations.models import Conversation, Failure, Message
from conversations.services import conversations_delete, conversations_delete_matching
from conversations.tasks import delete_expired
from conversations.tests.factories import (
    ConversationFactory,
    FailureFactory,
    MessageFactory,
    PatternConversationFactory,
    UsagePatternFactory,
)

pytestmark = pytest.mark.django_db


def with_everything(**fields) -> Conversation:
    """A conversation with a row in every table that holds or points at one."""
    conversation = ConversationFactory(**fields)
    message = MessageFactory(conversation=conversation)
    FailureFactory(conversation=conversation, message=message)
    PatternConversationFactory(
        conversation=conversation, pattern=UsagePatternFactory(representative_conversation=conversation)
    )
    ConversationEmbedding.objects.create(
        conversation=conversation, model_name="test", embedding=[0.1] * EMBEDDING_DIMENSIONS, content_hash="h"
    )
    AlertDelivery.objects.create(
        dedupe_key=f"low_health:{conversation.id}", kind="low_health", conversation=conversation
    )
    return conversation


def rows_of(conversation: Conversation) -> dict[str, int]:
    return {
        "conversations": Conversation.objects.filter(id=conversation.id).count(),
        "messages": Message.objects.filter(conversation_id=conversation.id).count(),
        "failures": Failure.objects.filter(conversation_id=conversation.id).count(),
        "patterns": PatternConversation.objects.filter(conversation_id=conversation.id).count(),
        "embeddings": ConversationEmbedding.objects.filter(conversation_id=conversation.id).count(),
        # By what the delivery is about: deleting by the foreign key alone would only set it to null.
        "alerts": AlertDelivery.objects.filter(dedupe_key=f"low_health:{conversation.id}").count(),
    }


NONE = dict.fromkeys(["conversations", "messages", "failures", "patterns", "embeddings", "alerts"], 0)
ONE_EACH = dict.fromkeys(NONE, 1)


def test_deleting_a_conversation_deletes_what_derives_from_it_and_nothing_of_another():
    gone, kept = with_everything(), with_everything()
    assert conversations_delete(conversation_ids=[gone.id]) == 1
    assert (rows_of(gone), rows_of(kept)) == (NONE, ONE_EACH)
    # A usage pattern keeps its figures (what its period held); its deleted representative is no longer named.
    pattern = UsagePattern.objects.get(memberships__isnull=True)
    assert (pattern.size, pattern.representative_conversation_id) == (10, None)


def test_deleting_ids_of_no_conversation_deletes_nothing():
    kept = with_everything()
    assert conversations_delete(conversation_ids=[ConversationFactory.build().id]) == 0
    assert rows_of(kept) == ONE_EACH


def test_every_table_that_points_at_conversations_or_messages_is_deleted_from():
    """A new table pointing at them must be added to the service's statements, or deleting would fail (or leave
    rows naming a conversation that no longer exists)."""
    pointing = {
        field.model._meta.db_table
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if (field.many_to_one or field.one_to_one) and field.concrete and field.related_model in (Conversation, Message)
    }
    statements = " ".join(services._DELETE_CONVERSATION_ROWS)
    assert pointing and {table for table in pointing if f" {table} " not in statements} == set()


def test_a_deletion_in_batches_reports_its_progress_and_deletes_every_match():
    for _ in range(5):
        ConversationFactory(environment="staging")
    kept = ConversationFactory(environment="production")
    progress = []
    deleted = conversations_delete_matching(
        conversations=Conversation.objects.filter(environment="staging"), batch_size=2, progress=progress.append
    )
    assert (deleted, progress, list(Conversation.objects.values_list("id", flat=True))) == (5, [2, 4, 5], [kept.id])


def _aged(days: float, **fields) -> Conversation:
    at = timezone.now() - timedelta(days=days)
    return ConversationFactory(started_at=at, last_message_at=at, **fields)


def test_retention_deletes_conversations_whose_last_message_is_older_than_the_setting(settings):
    old, recent = _aged(31), _aged(29)
    silent = ConversationFactory(last_message_at=None, message_count=0)  # no message ever: its creation counts
    Conversation.objects.filter(id=silent.id).update(created_at=timezone.now() - timedelta(days=31))
    settings.CONVERSATION_RETENTION_DAYS = 30
    assert delete_expired.apply().get() == 2
    assert list(Conversation.objects.values_list("id", flat=True)) == [recent.id]
    assert not Conversation.objects.filter(id__in=[old.id, silent.id]).exists()


def test_without_a_retention_setting_nothing_is_deleted(settings):
    old = _aged(3650)
    settings.CONVERSATION_RETENTION_DAYS = 0
    assert delete_expired.apply().get() == 0
    assert Conversation.objects.filter(id=old.id).exists()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("delete_conversations", *args, stdout=out)
    return out.getvalue()


def test_the_command_deletes_an_end_users_conversations_only():
    theirs = [with_everything(end_user_id="user-42"), with_everything(end_user_id="user-42")]
    other = with_everything(end_user_id="user-7")
    output = run("--end-user-id", "user-42", "--yes")
    assert "Deleted 2 of 2" in output and "Deleted 2 conversation(s)." in output
    assert ([rows_of(c) for c in theirs], rows_of(other)) == ([NONE, NONE], ONE_EACH)


def test_the_command_counts_without_deleting_on_a_dry_run_and_by_external_id():
    conversation = with_everything(external_id="support-4711")
    assert run("--external-id", "support-4711", "--dry-run") == "Would delete 1 conversation(s) with 1 message(s).\n"
    assert rows_of(conversation) == ONE_EACH
    run("--external-id", "support-4711", "--yes")
    assert rows_of(conversation) == NONE


def test_the_command_asks_for_yes_when_it_cannot_ask_and_deletes_nothing():
    conversation = with_everything()
    with pytest.raises(CommandError, match=r"would delete 1 conversation\(s\) with 1 message\(s\): add --yes"):
        run("--id", str(conversation.id))  # pytest's stdin is no terminal
    assert rows_of(conversation) == ONE_EACH


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((), "Name what to delete"),
        (("--older-than-days", "0", "--yes"), "--older-than-days must be 1 or more"),
        (("--id", "not-a-uuid"), "'not-a-uuid' is not a conversation id"),
    ],
)
def test_the_command_refuses_what_names_nothing_or_everything(args, error):
    kept = with_everything()
    with pytest.raises(CommandError, match=error):
        run(*args)
    assert rows_of(kept) == ONE_EACH


def test_the_command_says_so_when_nothing_matches():
    assert run("--end-user-id", "nobody", "--yes") == "No conversation matches; nothing deleted.\n"


def test_deleting_from_the_admin_deletes_what_derives_from_it(admin_client):
    gone, kept = with_everything(), with_everything()
    response = admin_client.post(
        "/admin/conversations/conversation/",
        {"action": "delete_selected", "_selected_action": [str(gone.id)], "post": "yes"},
    )
    assert response.status_code == 302
    assert (rows_of(gone), rows_of(kept)) == (NONE, ONE_EACH)
