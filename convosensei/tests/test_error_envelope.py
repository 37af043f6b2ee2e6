import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("convosensei.tests.urls")]


def test_unknown_api_path_gets_404_in_the_envelope(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"message": "No API endpoint at this path.", "code": "not_found"}


def test_an_endpoint_with_a_trailing_slash_gets_a_404_that_names_it(client):
    # Django's own URLs end in a slash, so a newcomer adds one; a bare "No API endpoint" sent them looking elsewhere.
    response = client.post("/api/v1/conversations/track/", data={}, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {
        "message": "No API endpoint at this path: the endpoint is /api/v1/conversations/track, without the slash.",
        "code": "not_found",
    }


def test_wrong_method_gets_405_in_the_envelope(admin_client):
    response = admin_client.delete("/api/v1/me")
    assert response.status_code == 405
    assert response.json() == {"message": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}


def test_crash_in_an_api_view_gets_500_without_internals(client):
    response = client.get("/api/v1/test/boom")
    assert response.status_code == 500
    body = response.json()
    assert (body["message"], body["code"]) == ("Internal server error.", "internal_error")
    assert "internal detail" not in response.content.decode()


def test_crash_in_a_plain_view_under_api_gets_500_in_the_envelope(client):
    response = client.get("/api/v1/test/plain-boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"


def test_500_envelope_carries_the_request_id(client):
    response = client.get("/api/v1/test/boom")
    assert response.json()["details"] == {"request_id": response["X-Request-ID"]}


def test_database_error_gets_a_clean_503(client):
    response = client.get("/api/v1/test/database-down")
    assert response.status_code == 503
    assert response.json() == {
        "message": "The database is unavailable; try again shortly.",
        "code": "database_unavailable",
    }


def test_a_database_out_of_disk_gets_the_503_with_retry_after(client):
    response = client.get("/api/v1/test/disk-full")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["code"] == "database_unavailable"


def test_a_query_failing_on_its_own_is_a_500_with_its_traceback_not_the_database_unavailable(client, caplog):
    # A missing table (a deployment without `migrate`) said "database unavailable", which sent operators to look at
    # a database that was up. The SDKs retry a 500 as they retry a 503, so nothing sent is lost either way.
    response = client.get("/api/v1/test/query-fails")
    assert response.status_code == 500
    assert response.json() == {
        "message": "Internal server error.",
        "code": "internal_error",
        "details": {"request_id": response["X-Request-ID"]},
    }
    [record] = [r for r in caplog.records if r.getMessage() == "api.unhandled_error"]
    assert "no_such_table_after_a_deployment" in str(record.exc_info[1])


def test_unsafe_method_on_an_unknown_api_path_gets_the_404_envelope(client):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/v1/no-such-thing", data={}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
