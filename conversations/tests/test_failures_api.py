"""The failure inbox: GET failures, GET/PATCH failures/{id}, POST failures/bulk-status."""

from __future__ import annotations

import uuid

import pytest

from conversations import services
from conversations.models import Failure
from conversations.tests.factories import FailureFactory

URL = "/api/v1/failures"


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def patch(api, failure_id, body):
    return api.patch(f"{URL}/{failure_id}", body, content_type="application/json")


def bulk(api, body):
    return api.post(f"{URL}/bulk-status", body, content_type="application/json")


def test_inbox_lists_failures_newest_first(api):
    older, newer = FailureFactory(), FailureFactory()
    Failure.objects.filter(id=older.id).update(detected_at=newer.detected_at.replace(year=2025))
    assert ids(api.get(URL)) == [str(newer.id), str(older.id)]


def test_inbox_item_names_its_conversation(api):
    failure = FailureFactory(conversation__external_id="ext-f")
    row = api.get(URL).json()["results"][0]
    assert (row["conversation_id"], row["conversation_external_id"]) == (str(failure.conversation_id), "ext-f")


@pytest.mark.parametrize(
    ("param", "kept", "other"),
    [
        ("status", {"status": "ack"}, {"status": "open"}),
        ("type", {"type": "loop"}, {"type": "refusal"}),
        ("severity", {"severity": "high"}, {"severity": "low"}),
    ],
)
def test_inbox_filter_keeps_matching_failures(api, param, kept, other):
    match = FailureFactory(**kept)
    FailureFactory(**other)
    assert ids(api.get(URL, {param: kept[param]})) == [str(match.id)]


def test_inbox_lists_one_conversations_failures(api):
    mine, _ = FailureFactory(), FailureFactory()
    assert ids(api.get(URL, {"conversation": str(mine.conversation_id)})) == [str(mine.id)]
    response = api.get(URL, {"conversation": "not-an-id"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["conversation"])


def test_inbox_timeframe_applies_to_detection_time(api):
    recent, old = FailureFactory(), FailureFactory()
    Failure.objects.filter(id=old.id).update(detected_at=old.detected_at.replace(year=2025))
    assert ids(api.get(URL, {"timeframe": "24h"})) == [str(recent.id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "closed"}, "status"), ({"severity": "urgent"}, "severity"), ({"timeframe": "2d"}, "timeframe")],
)
def test_inbox_invalid_filter_is_refused_with_field_details(api, params, field):
    response = api.get(URL, params)
    assert (response.status_code, list(response.json()["details"])) == (400, [field])


def test_inbox_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    FailureFactory.create_batch(60)
    api.get("/api/v1/me")
    with django_assert_max_num_queries(2):
        response = api.get(URL, {"page_size": 50})
    assert len(response.json()["results"]) == 50


def test_inbox_pages_through_every_failure_once(api):
    failures = FailureFactory.create_batch(5)
    first = api.get(URL, {"page_size": 3}).json()
    second = api.get(URL, {"page_size": 3, "cursor": first["next_cursor"]}).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert sorted(seen) == sorted(str(f.id) for f in failures)


def test_one_failure_is_shown(api):
    failure = FailureFactory(description="Looped three times")
    assert api.get(f"{URL}/{failure.id}").json()["description"] == "Looped three times"


def test_resolving_a_failure_sets_resolved_at(api):
    failure = FailureFactory()
    body = patch(api, failure.id, {"status": "resolved"}).json()
    assert (body["status"], body["resolved_at"] is not None) == ("resolved", True)


def test_resolving_twice_keeps_the_first_resolved_at(api):
    failure = FailureFactory()
    first = patch(api, failure.id, {"status": "resolved"}).json()
    second = patch(api, failure.id, {"status": "resolved"}).json()
    assert second["resolved_at"] == first["resolved_at"]


def test_reopening_a_failure_clears_resolved_at(api):
    failure = FailureFactory()
    patch(api, failure.id, {"status": "resolved"})
    body = patch(api, failure.id, {"status": "open"}).json()
    assert (body["status"], body["resolved_at"]) == ("open", None)


def test_acknowledging_a_failure_is_stored(api):
    failure = FailureFactory()
    patch(api, failure.id, {"status": "ack"})
    failure.refresh_from_db()
    assert failure.status == "ack"


def test_unknown_status_is_refused_with_field_details(api):
    failure = FailureFactory()
    response = patch(api, failure.id, {"status": "done"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["status"])


def test_patching_an_unknown_failure_is_404(api):
    assert patch(api, uuid.uuid4(), {"status": "ack"}).status_code == 404


def test_setting_the_status_of_a_failure_withdrawn_since_it_was_read_changes_nothing_and_says_so(db):
    shown = Failure.objects.get(pk=FailureFactory().pk)
    Failure.objects.filter(pk=shown.pk).delete()  # what scoring its conversation again does to one it no longer finds
    with pytest.raises(services.FailuresNotFound):
        services.failure_set_status(failure=shown, status=Failure.Status.ACK)


def test_bulk_status_changes_every_listed_failure(api):
    failures = FailureFactory.create_batch(3)
    bulk(api, {"ids": [str(f.id) for f in failures], "status": "resolved"})
    assert set(Failure.objects.values_list("status", flat=True)) == {"resolved"}


def test_bulk_status_sets_resolved_at(api):
    failure = FailureFactory()
    bulk(api, {"ids": [str(failure.id)], "status": "resolved"})
    failure.refresh_from_db()
    assert failure.resolved_at is not None


def test_bulk_status_counts_only_real_changes(api):
    done, pending = FailureFactory(status="resolved"), FailureFactory()
    body = bulk(api, {"ids": [str(done.id), str(pending.id)], "status": "resolved"}).json()
    assert (body["requested"], body["changed"]) == (2, 1)


def test_bulk_status_keeps_resolved_at_of_already_resolved_failures(api):
    done = FailureFactory(status="resolved", resolved_at=FailureFactory().detected_at.replace(year=2025))
    bulk(api, {"ids": [str(done.id)], "status": "resolved"})
    done.refresh_from_db()
    assert done.resolved_at.year == 2025


def test_bulk_status_with_an_unknown_id_changes_nothing_and_lists_it(api):
    failure, unknown = FailureFactory(), uuid.uuid4()
    response = bulk(api, {"ids": [str(failure.id), str(unknown)], "status": "ack"})
    failure.refresh_from_db()
    assert (response.status_code, response.json()["details"], failure.status) == (
        404,
        {"ids": [str(unknown)]},
        "open",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "status": "ack"}, "ids"),
        ({"ids": ["nope"], "status": "ack"}, "ids"),
        ({"ids": [str(uuid.uuid4())]}, "status"),
    ],
)
def test_bulk_status_invalid_body_is_refused_with_field_details(api, body, field):
    response = bulk(api, body)
    assert (response.status_code, list(response.json()["details"])) == (400, [field])
