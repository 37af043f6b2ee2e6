"""Saved views: POST/GET saved-views, GET/PUT/DELETE saved-views/{id}, config validated per scope."""

from __future__ import annotations

import uuid

import pytest

from conversations import services
from conversations.models import SavedView
from conversations.tests.factories import SavedViewFactory

URL = "/api/v1/saved-views"


def post(api, body):
    return api.post(URL, body, content_type="application/json")


def put(api, view_id, body):
    return api.put(f"{URL}/{view_id}", body, content_type="application/json")


def test_creating_a_view_stores_name_scope_and_config(api):
    config = {"timeframe": "7d", "health_max": 40, "q": "refund"}
    response = post(api, {"name": "Unhappy refunds", "scope": "conversations", "config": config})
    view = SavedView.objects.get()
    assert (response.status_code, view.name, view.config) == (201, "Unhappy refunds", config)


def test_a_failures_view_takes_the_inbox_filters(api):
    response = post(api, {"name": "Open loops", "scope": "failures", "config": {"status": "open", "type": "loop"}})
    assert response.status_code == 201


def test_list_shows_every_view(api):
    SavedViewFactory.create_batch(3)
    assert len(api.get(URL).json()) == 3


def test_list_filters_by_scope(api):
    SavedViewFactory(scope="conversations")
    inbox = SavedViewFactory(scope="failures", config={"status": "open"})
    assert [v["id"] for v in api.get(URL, {"scope": "failures"}).json()] == [str(inbox.id)]


def test_list_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    SavedViewFactory.create_batch(30)
    api.get("/api/v1/me")
    with django_assert_max_num_queries(2):
        assert len(api.get(URL).json()) == 30


def test_one_view_is_shown(api):
    view = SavedViewFactory(name="Mine")
    assert api.get(f"{URL}/{view.id}").json()["name"] == "Mine"


def test_put_replaces_the_view(api):
    view = SavedViewFactory()
    put(api, view.id, {"name": "Renamed", "scope": "failures", "config": {"severity": "high"}})
    view.refresh_from_db()
    assert (view.name, view.scope, view.config) == ("Renamed", "failures", {"severity": "high"})


def test_delete_removes_the_view(api):
    view = SavedViewFactory()
    response = api.delete(f"{URL}/{view.id}")
    assert (response.status_code, SavedView.objects.count()) == (204, 0)


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_view_is_404(api, method):
    body = {"name": "x", "scope": "conversations", "config": {}}
    response = getattr(api, method)(f"{URL}/{uuid.uuid4()}", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_unknown_config_key_is_refused_with_field_details(api):
    response = post(api, {"name": "v", "scope": "conversations", "config": {"colour": "red"}})
    assert (response.status_code, response.json()["details"]) == (400, {"config": {"colour": ["Unknown filter."]}})


def test_bad_config_value_is_refused_with_field_details(api):
    response = post(api, {"name": "v", "scope": "conversations", "config": {"health_min": "high"}})
    assert (response.status_code, list(response.json()["details"]["config"])) == (400, ["health_min"])


def test_a_conversations_filter_in_a_failures_view_is_refused(api):
    response = post(api, {"name": "v", "scope": "failures", "config": {"health_min": 10}})
    assert (response.status_code, list(response.json()["details"]["config"])) == (400, ["health_min"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "conversations"}, "name"),
        ({"name": "v", "scope": "messages"}, "scope"),
        ({"name": "v", "scope": "conversations", "config": ["timeframe"]}, "config"),
        ({"name": "x" * 101, "scope": "conversations"}, "name"),
    ],
)
def test_invalid_body_is_refused_with_field_details(api, body, field):
    response = post(api, body)
    assert (response.status_code, list(response.json()["details"])) == (400, [field])


def test_invalid_put_is_refused_with_field_details(api):
    view = SavedViewFactory()
    response = put(api, view.id, {"name": "v", "scope": "conversations", "config": {"ordering": "random"}})
    assert (response.status_code, list(response.json()["details"]["config"])) == (400, ["ordering"])


def test_a_second_view_with_the_same_scope_and_name_is_409(api):
    SavedViewFactory(name="Dup", scope="conversations")
    response = post(api, {"name": "Dup", "scope": "conversations", "config": {}})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")


def test_a_409_names_the_view_that_has_the_name_already(api):
    taken = SavedViewFactory(name="Dup", scope="conversations")
    other = SavedViewFactory(name="Other", scope="conversations")
    expected = (
        f"A saved view of scope conversations is named “Dup” already (id {taken.id}): PUT it to change its filters."
    )
    assert post(api, {"name": "Dup", "scope": "conversations"}).json()["message"] == expected
    assert put(api, other.id, {"name": "Dup", "scope": "conversations"}).json()["message"] == expected


def test_a_view_put_again_under_its_own_name_is_no_conflict(api):
    view = SavedViewFactory(name="Dup", scope="conversations")
    response = put(api, view.id, {"name": "Dup", "scope": "conversations", "config": {"health_max": 40}})
    assert (response.status_code, response.json()["config"]) == (200, {"health_max": 40})


def test_replacing_a_view_deleted_since_it_was_read_is_refused_and_recreates_nothing(db):
    shown = SavedView.objects.get(pk=SavedViewFactory().pk)
    SavedView.objects.filter(pk=shown.pk).delete()  # a DELETE that came in between the PUT's read and its write
    with pytest.raises(SavedView.DoesNotExist):
        services.saved_view_update(view=shown, name="Renamed", scope=shown.scope, config={})
    assert not SavedView.objects.exists()


def test_saving_filters_under_a_name_creates_the_view_then_replaces_its_filters(db):
    first, created = services.saved_view_save_named(name="Unhappy", scope="conversations", config={"health_max": 40})
    again, created_again = services.saved_view_save_named(
        name="Unhappy", scope="conversations", config={"health_max": 30}
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert SavedView.objects.get().config == {"health_max": 30}
