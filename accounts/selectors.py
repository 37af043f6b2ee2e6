"""Reads for accounts."""

import uuid

from django.db.models import QuerySet

from accounts.models import ApiKey


def api_key_list() -> QuerySet[ApiKey]:
    """Every key, newest first (revoked ones included, marked)."""
    return ApiKey.objects.order_by("-created_at")


def api_key_get(*, key_id: uuid.UUID) -> ApiKey | None:
    return ApiKey.objects.filter(id=key_id).first()
