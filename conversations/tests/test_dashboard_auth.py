"""Every dashboard endpoint: a Supabase token or the admin session opens it; nothing else does."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

SOME_ID = uuid.uuid4()
STATUS = {"status": "ack"}
VIEW = {"name": "v", "scope": "conversations", "config": {}}
SETTINGS = {"alert_on_new_failures": True, "alert_min_severity": "high", "health_alert_threshold": 40}

ENDPOINTS = [
    ("get", "/api/v1/conversations", None),
    ("get", "/api/v1/conversations/export", None),
    ("get", f"/api/v1/conversations/{SOME_ID}", None),
    ("get", f"/api/v1/conversations/{SOME_ID}/messages", None),
    ("get", f"/api/v1/conversations/{SOME_ID}/health", None),
    ("get", f"/api/v1/conversations/{SOME_ID}/failures", None),
    ("get", f"/api/v1/conversations/{SOME_ID}/similar", None),
    ("get", "/api/v1/analytics/summary", None),
    ("get", "/api/v1/analytics/patterns", None),
    ("get", "/api/v1/analytics/failures/trends", None),
    ("get", "/api/v1/failures", None),
    ("get", f"/api/v1/failures/{SOME_ID}", None),
    ("patch", f"/api/v1/failures/{SOME_ID}", STATUS),
    ("post", "/api/v1/failures/bulk-status", {"ids": [str(SOME_ID)], **STATUS}),
    ("get", "/api/v1/saved-views", None),
    ("post", "/api/v1/saved-views", VIEW),
    ("get", f"/api/v1/saved-views/{SOME_ID}", None),
    ("put", f"/api/v1/saved-views/{SOME_ID}", VIEW),
    ("delete", f"/api/v1/saved-views/{SOME_ID}", None),
    ("get", "/api/v1/settings", None),
    ("put", "/api/v1/settings", SETTINGS),
    ("get", "/api/v1/api-keys", None),
]


def call(client: Client, method: str, path: str, body):
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_endpoint_without_credentials_is_401(anonymous, method, path, body):
    response = call(anonymous, method, path, body)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_endpoint_with_a_forged_token_is_401(forged, method, path, body):
    response = call(forged, method, path, body)
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_endpoint_refuses_an_ingestion_api_key(api_key_client, method, path, body):
    assert call(api_key_client, method, path, body).status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_endpoint_refuses_an_api_key_in_the_x_api_key_header(db, jwt_secret, method, path, body):
    from accounts.services import api_key_create

    client = Client(headers={"X-API-Key": api_key_create(name="ingest")[1]})
    assert call(client, method, path, body).status_code == 401


def test_the_admin_session_opens_a_read(admin_client):
    assert admin_client.get("/api/v1/conversations").status_code == 200


def test_the_admin_session_needs_the_csrf_token_for_a_write(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/api/v1/saved-views", VIEW, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_a_token_opens_a_write(api):
    assert api.post("/api/v1/saved-views", VIEW, content_type="application/json").status_code == 201
