"""Credentials for the dashboard API's tests: a real HS256 Supabase token, and an ingestion API key."""

from __future__ import annotations

import time

import jwt
import pytest
from django.test import Client

from accounts.services import api_key_create

JWT_SECRET = "dashboard-api-test-secret-of-at-least-32-characters"


ADMIN_USER_ID = "6f1c2a4e-0000-4000-8000-00000000000a"


def supabase_token(*, secret: str = JWT_SECRET, subject: str = ADMIN_USER_ID) -> str:
    now = int(time.time())
    claims = {"sub": subject, "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def jwt_secret(settings) -> str:
    settings.SUPABASE_JWT_SECRET = JWT_SECRET
    settings.SUPABASE_URL = None
    settings.SUPABASE_ADMIN_USER_IDS = frozenset({ADMIN_USER_ID})
    return JWT_SECRET


@pytest.fixture
def api(db, jwt_secret) -> Client:
    """A client that sends a valid Supabase access token with every request."""
    return Client(headers={"Authorization": f"Bearer {supabase_token()}"})


@pytest.fixture
def anonymous(db, jwt_secret) -> Client:
    return Client()


@pytest.fixture
def forged(db, jwt_secret) -> Client:
    """A token signed with the wrong secret."""
    return Client(headers={"Authorization": f"Bearer {supabase_token(secret='x' * 40)}"})


@pytest.fixture
def api_key_client(db, jwt_secret) -> Client:
    """A client that presents a valid ingestion API key, as a Bearer token."""
    _, key = api_key_create(name="ingest only")
    return Client(headers={"Authorization": f"Bearer {key}"})
