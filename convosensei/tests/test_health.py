import logging

import pytest

from convosensei.embedded import free_port


def test_healthz_answers_while_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down"}


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


def test_a_plain_caller_request_id_is_kept(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"


def test_a_request_id_that_could_forge_log_lines_is_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="x\ninjected")["X-Request-ID"] != "x\ninjected"


@pytest.mark.django_db
def test_a_probe_by_the_servers_own_address_is_answered_whatever_the_allowed_hosts(client, settings):
    # Load balancers and docker-compose's healthcheck ask by address (Host: 10.0.3.7:8000), not by the public name.
    settings.ALLOWED_HOSTS = ["convosensei.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.3.7:8000").status_code == 200


def test_a_page_asked_for_by_a_host_not_allowed_is_still_refused(client, settings):
    settings.ALLOWED_HOSTS = ["convosensei.example.com"]
    assert client.get("/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_a_probe_over_plain_http_is_answered_where_pages_redirect_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301


def test_a_host_not_allowed_is_logged_as_one_line_naming_it_without_a_traceback(client, settings, caplog):
    settings.ALLOWED_HOSTS = ["convosensei.example.com"]
    with caplog.at_level(logging.ERROR, logger="django.security.DisallowedHost"):
        client.get("/login/", HTTP_HOST="scanner.invalid")
    (record,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert "scanner.invalid" in record.getMessage()
    assert (record.levelname, record.exc_info, record.exc_text) == ("ERROR", None, None)
