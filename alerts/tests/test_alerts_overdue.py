"""Alert deliveries whose task was lost (a worker killed whole, a Redis that lost its data) are sent after all: the
sweep finds them by how late their attempt is (with a real worker: analytics/tests/test_pipeline_alerts.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertDelivery
from alerts.tasks import sweep_overdue


def pending(key: str, *, recorded_ago: timedelta, next_attempt_in: timedelta | None = None, **fields):
    delivery = AlertDelivery.objects.create(
        dedupe_key=f"low_health:{key}",
        kind=AlertDelivery.Kind.LOW_HEALTH,
        payload={"conversation_id": "00000000-0000-4000-8000-000000000000", "external_id": key,
                 "health_score": 12.0, "threshold": 40.0},
        **fields,
    )  # fmt: skip
    due = None if next_attempt_in is None else timezone.now() + next_attempt_in
    AlertDelivery.objects.filter(id=delivery.id).update(created_at=timezone.now() - recorded_ago, next_attempt_at=due)
    return delivery


@pytest.mark.django_db
def test_a_delivery_recorded_just_now_or_waiting_for_its_retry_or_done_is_not_swept():
    pending("just-recorded", recorded_ago=timedelta(seconds=30))
    pending("retry-due-later", recorded_ago=timedelta(hours=1), next_attempt_in=timedelta(minutes=30))
    pending("retry-due-just-now", recorded_ago=timedelta(hours=1), next_attempt_in=timedelta(minutes=-1))
    pending("sent", recorded_ago=timedelta(hours=1), status=AlertDelivery.Status.SENT)
    pending("failed", recorded_ago=timedelta(hours=1), status=AlertDelivery.Status.FAILED)
    assert sweep_overdue() == 0
