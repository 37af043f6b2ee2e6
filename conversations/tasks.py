"""Celery entry points of the conversations app: each calls a service (conversations/services.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from conversations.selectors import conversations_expired
from conversations.services import conversations_delete_matching

logger = logging.getLogger(__name__)


@shared_task(name="conversations.delete_expired")
def delete_expired() -> int:
    """Delete the conversations whose last message is older than CONVERSATION_RETENTION_DAYS (0: none); returns
    how many. A run that fails is the next night's to finish: each batch deleted stays deleted."""
    days = settings.CONVERSATION_RETENTION_DAYS
    if not days:
        return 0
    deleted = conversations_delete_matching(conversations=conversations_expired(older_than=timedelta(days=days)))
    logger.info("retention.deleted", extra={"conversations": deleted, "retention_days": days})
    return deleted
