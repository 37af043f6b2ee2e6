import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convosensei.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_while_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "static_files": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down", "static_files": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_static_files_when_they_were_not_collected(client, settings, tmp_path, caplog):
    settings.STATIC_ROOT = tmp_path  # a release deployed without `collectstatic`
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "static_files": "down"}
    [record] = [r for r in caplog.records if r.getMessage() == "readyz.static_files_missing"]
    assert "run `python manage.py collectstatic --no-input`" in record.problem


def test_the_web_process_says_at_start_that_the_static_files_were_not_collected(tmp_path):
    env = {**os.environ, "DJANGO_DEBUG": "false", "CONVOSENSEI_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "k" * 50}
    started = subprocess.run(
        [sys.executable, "-c", "import convosensei.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0, started.stderr
    [line] = [json.loads(line) for line in started.stderr.splitlines() if "static_files.missing" in line]
    assert (line["level"], str(tmp_path / "staticfiles") in line["problem"]) == ("ERROR", True)


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


def test_a_host_not_allowed_is_logged_as_one_warning_naming_it_without_a_traceback(client, settings, caplog):
    settings.ALLOWED_HOSTS = ["convosensei.example.com"]
    with caplog.at_level(logging.WARNING, logger="django.security.DisallowedHost"):
        client.get("/login/", HTTP_HOST="scanner.invalid")
    (record,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert "scanner.invalid" in record.getMessage()
    assert (record.levelname, record.exc_info, record.exc_text) == ("WARNING", None, None)
