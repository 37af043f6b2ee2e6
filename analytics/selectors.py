"""Reads of the analytics app."""

from django.db.models import QuerySet

from analytics.models import DeadLetter


def dead_letter_list_pending(*, ids: list[int] | None = None, include_replayed: bool = False) -> QuerySet[DeadLetter]:
    """Dead letters to replay, oldest first: those never replayed, or all of them."""
    dead_letters = DeadLetter.objects.order_by("created_at")
    if ids:
        dead_letters = dead_letters.filter(id__in=ids)
    if not include_replayed:
        dead_letters = dead_letters.filter(replayed_at__isnull=True)
    return dead_letters
