"""Reads for accounts."""

from django.db.models import QuerySet

from accounts.models import ApiKey


def api_key_list() -> QuerySet[ApiKey]:
    """Every key, newest first (revoked ones included, marked)."""
    return ApiKey.objects.order_by("-created_at")
