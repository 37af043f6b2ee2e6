"""Writes of the dashboard API (failure triage, saved views) and the deletion of conversations."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from conversations.filters import config_validate
from conversations.models import Conversation, Failure, SavedView

logger = logging.getLogger(__name__)


def _resolved_at(status: str, now):
    """resolved_at after a status change: kept when already resolved (idempotent), now when newly
    resolved, cleared otherwise. Evaluated by the UPDATE on each row's old values."""
    if status != Failure.Status.RESOLVED:
        return Value(None)
    return Case(
        When(status=Failure.Status.RESOLVED, resolved_at__isnull=False, then=F("resolved_at")), default=Value(now)
    )


class FailuresNotFound(Exception):
    def __init__(self, missing: list[uuid.UUID]) -> None:
        super().__init__(f"{len(missing)} failures not found")
        self.missing = missing


@transaction.atomic
def failure_set_status(*, failure: Failure, status: str) -> Failure:
    """Set a failure's status (open, ack, resolved); setting the same status again changes nothing.

    Returns the failure as stored. Raises FailuresNotFound when it is gone since it was read: scoring its conversation
    again withdraws an open failure it no longer finds.
    """
    # Its row locked and read again, so that a withdrawal cannot come in between and a concurrent change is seen.
    stored = Failure.objects.select_for_update().filter(pk=failure.pk).values_list("status", "resolved_at").first()
    if stored is None:
        raise FailuresNotFound([failure.pk])
    failure.status, failure.resolved_at = stored
    if failure.status != status:
        now = timezone.now()
        failure.resolved_at = (failure.resolved_at or now) if status == Failure.Status.RESOLVED else None
        failure.status = status
        failure.save(update_fields=["status", "resolved_at", "updated_at"])
        logger.info("failure.status_changed", extra={"failure_id": str(failure.id), "status": status})
    return failure


@transaction.atomic
def failure_bulk_set_status(*, failure_ids: list[uuid.UUID], status: str) -> int:
    """Set the status of every listed failure, all or none; returns how many rows changed status.

    Raises FailuresNotFound (nothing changed) when some id is unknown.
    """
    ids = list(dict.fromkeys(failure_ids))
    found = set(Failure.objects.select_for_update().filter(id__in=ids).values_list("id", flat=True))
    missing = [failure_id for failure_id in ids if failure_id not in found]
    if missing:
        raise FailuresNotFound(missing)
    now = timezone.now()
    changed = (
        Failure.objects.filter(id__in=ids)
        .exclude(status=status)
        .update(status=status, resolved_at=_resolved_at(status, now), updated_at=now)
    )
    logger.info("failure.bulk_status_changed", extra={"requested": len(ids), "changed": changed, "status": status})
    return changed


@transaction.atomic
def saved_view_create(*, name: str, scope: str, config: dict) -> SavedView:
    """Create a saved view; its config must be valid filters of its scope (ValidationError otherwise).

    A second view with the same scope and name raises IntegrityError (the API answers 409).
    """
    view = SavedView.objects.create(name=name, scope=scope, config=config_validate(scope=scope, config=config))
    logger.info("saved_view.created", extra={"saved_view_id": str(view.id), "scope": scope})
    return view


@transaction.atomic
def saved_view_update(*, view: SavedView, name: str, scope: str, config: dict) -> SavedView:
    """Replace a saved view's name, scope and config (validated as in saved_view_create).

    Raises SavedView.DoesNotExist when the view was deleted since it was read (its row is locked first, so a delete
    either comes before and is seen here, or waits).
    """
    config = config_validate(scope=scope, config=config)
    if not SavedView.objects.select_for_update().filter(pk=view.pk).exists():
        raise SavedView.DoesNotExist(f"Saved view {view.pk} was deleted.")
    view.name, view.scope, view.config = name, scope, config
    view.save(update_fields=["name", "scope", "config", "updated_at"])
    logger.info("saved_view.updated", extra={"saved_view_id": str(view.id), "scope": scope})
    return view


@transaction.atomic
def saved_view_save_named(*, name: str, scope: str, config: dict) -> tuple[SavedView, bool]:
    """Save filters under a name: replace the config of the scope's view of that name, or create it.

    Returns (view, created). Safe against a concurrent save or delete of the same name (update_or_create locks the
    row, and a create that loses a race reads the winner's row).
    """
    view, created = SavedView.objects.update_or_create(
        scope=scope, name=name, defaults={"config": config_validate(scope=scope, config=config)}
    )
    logger.info("saved_view.created" if created else "saved_view.updated", extra={"saved_view_id": str(view.id)})
    return view, created


@transaction.atomic
def saved_view_delete(*, view: SavedView) -> None:
    view_id = str(view.id)
    view.delete()
    logger.info("saved_view.deleted", extra={"saved_view_id": view_id})


# Every row that holds or points at a conversation, children first. Deleted by SQL rather than by the ORM's
# collector, which loads each message of the conversations into memory to cascade to its failures. A table that
# comes to point at conversations or messages must be added here (test_conversations_delete checks the models).
# Alert deliveries go too: their payload names the conversation (its external id), and none is sent again.
_DELETE_CONVERSATION_ROWS = (
    "DELETE FROM failures WHERE conversation_id = ANY(%s)",
    "DELETE FROM messages WHERE conversation_id = ANY(%s)",
    "DELETE FROM pattern_conversations WHERE conversation_id = ANY(%s)",
    "DELETE FROM conversation_embeddings WHERE conversation_id = ANY(%s)",
    "DELETE FROM alert_deliveries WHERE conversation_id = ANY(%s)",
    "UPDATE usage_patterns SET representative_conversation_id = NULL WHERE representative_conversation_id = ANY(%s)",
    "DELETE FROM conversations WHERE id = ANY(%s)",
)


@transaction.atomic
def conversations_delete(*, conversation_ids: list[uuid.UUID]) -> int:
    """Delete conversations with their messages, failures, embeddings, pattern memberships and alert deliveries;
    returns how many conversations were deleted (ids of none are skipped).

    The rows are locked first: a scoring or an ingestion in progress on one finishes before, and messages that
    arrive after start a new conversation of the same external id. Usage patterns keep their figures (what the
    period held); one whose representative is deleted shows none.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM conversations WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [conversation_ids])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        for statement in _DELETE_CONVERSATION_ROWS:
            cursor.execute(statement, [ids])
    logger.info("conversations.deleted", extra={"conversations": len(ids)})
    return len(ids)


def conversations_delete_matching(
    *, conversations: QuerySet[Conversation], batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Delete the conversations of a queryset that exist when this starts (not those that arrive meanwhile: the loop
    ends), `batch_size` per transaction, each a short lock, and a run stopped halfway keeps what it did. Returns how
    many; `progress` is called with the total so far after each batch."""
    conversations = conversations.filter(created_at__lte=timezone.now()).order_by("id")
    deleted = 0
    while ids := list(conversations.values_list("id", flat=True)[:batch_size]):
        deleted += conversations_delete(conversation_ids=ids)
        if progress:
            progress(deleted)
    return deleted
