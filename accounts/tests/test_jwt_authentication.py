"""The Supabase token matrix, each case against a real endpoint (GET /api/v1/me)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.models import User
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from convosensei.embedded import free_port
from tests.standin import Reply, StandinServer

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
SECRET = "super-secret-jwt-token-with-at-least-32-characters"
ADMIN = "6f1c2a4e-0000-4000-8000-000000000001"  # the one Supabase user let in (SUPABASE_ADMIN_USER_IDS)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _jwk(public_key, kid: str, algorithm: str) -> dict:
    to_jwk = RSAAlgorithm.to_jwk if algorithm == "RS256" else ECAlgorithm.to_jwk
    return {**json.loads(to_jwk(public_key)), "kid": kid, "alg": algorithm, "use": "sig"}


@pytest.fixture
def jwks_server(rsa_key, ec_key):
    keys = {"keys": [_jwk(rsa_key.public_key(), "rsa-1", "RS256"), _jwk(ec_key.public_key(), "ec-1", "ES256")]}
    with StandinServer(lambda request: Reply(200, keys)) as server:
        yield server


@pytest.fixture
def supabase(settings, jwks_server):
    settings.SUPABASE_URL = jwks_server.url
    settings.SUPABASE_JWT_SECRET = SECRET
    settings.SUPABASE_ADMIN_USER_IDS = frozenset({ADMIN})
    return jwks_server


def claims(issuer: str, **overrides) -> dict:
    now = int(time.time())
    base = {
        "sub": ADMIN,
        "aud": "authenticated",
        "role": "authenticated",
        "email": "admin@example.com",
        "iss": f"{issuer}/auth/v1",
        "iat": now,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def get_me(client, token: str):
    return client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_rejected(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_failed"
    assert body["message"] == "Invalid or expired access token."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_valid_hs256_token_is_accepted(client, supabase):
    response = get_me(client, jwt.encode(claims(supabase.url), SECRET, algorithm="HS256"))
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "token"


def test_valid_rs256_token_is_verified_against_the_jwks(client, supabase, rsa_key):
    token = jwt.encode(claims(supabase.url), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    response = get_me(client, token)
    assert response.status_code == 200
    assert [request.path for request in supabase.requests] == ["/auth/v1/.well-known/jwks.json"]


def test_valid_es256_token_is_verified_against_the_jwks(client, supabase, ec_key):
    token = jwt.encode(claims(supabase.url), ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    assert get_me(client, token).status_code == 200


def test_jwks_is_cached_between_requests(client, supabase, rsa_key):
    token = jwt.encode(claims(supabase.url), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    get_me(client, token)
    get_me(client, token)
    assert len(supabase.requests) == 1


def test_same_subject_maps_to_one_user(client, supabase):
    token = jwt.encode(claims(supabase.url), SECRET, algorithm="HS256")
    first = get_me(client, token).json()
    second = get_me(client, token).json()
    assert first["id"] == second["id"]


def test_expired_token_is_rejected(client, supabase):
    expired = claims(supabase.url, exp=int(time.time()) - 120)
    assert_rejected(get_me(client, jwt.encode(expired, SECRET, algorithm="HS256")))


def test_token_not_yet_valid_is_rejected(client, supabase):
    future = claims(supabase.url, nbf=int(time.time()) + 600)
    assert_rejected(get_me(client, jwt.encode(future, SECRET, algorithm="HS256")))


def test_token_signed_with_wrong_secret_is_rejected(client, supabase):
    token = jwt.encode(claims(supabase.url), "another-secret-that-is-also-32-characters-long", algorithm="HS256")
    assert_rejected(get_me(client, token))


def test_unsigned_alg_none_token_is_rejected(client, supabase):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims(supabase.url)).encode())
    assert_rejected(get_me(client, f"{header}.{payload}."))


def test_hs256_token_signed_with_the_rsa_public_key_is_rejected(client, supabase, rsa_key):
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = _b64(json.dumps(claims(supabase.url)).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert_rejected(get_me(client, f"{header}.{payload}.{signature}"))


def test_token_for_another_audience_is_rejected(client, supabase):
    token = jwt.encode(claims(supabase.url, aud="anon"), SECRET, algorithm="HS256")
    assert_rejected(get_me(client, token))


def test_token_from_another_issuer_is_rejected(client, supabase):
    token = jwt.encode(claims(supabase.url, iss="https://evil.example/auth/v1"), SECRET, algorithm="HS256")
    assert_rejected(get_me(client, token))


def test_anon_key_shaped_token_is_rejected(client, supabase):
    now = int(time.time())
    anon_key = {"iss": "supabase", "ref": "abcdefghijklmnop", "role": "anon", "iat": now, "exp": now + 10**8}
    assert_rejected(get_me(client, jwt.encode(anon_key, SECRET, algorithm="HS256")))


def test_token_without_subject_is_rejected(client, supabase):
    token = jwt.encode(claims(supabase.url, sub=None), SECRET, algorithm="HS256")
    assert_rejected(get_me(client, token))


def test_unknown_kid_refetches_the_jwks_once_then_is_rejected(client, supabase, rsa_key):
    token = jwt.encode(claims(supabase.url), rsa_key, algorithm="RS256", headers={"kid": "rotated-away"})
    assert_rejected(get_me(client, token))
    assert len(supabase.requests) == 2


def test_rs256_token_with_an_es256_kid_is_rejected(client, supabase, rsa_key):
    token = jwt.encode(claims(supabase.url), rsa_key, algorithm="RS256", headers={"kid": "ec-1"})
    assert_rejected(get_me(client, token))


def test_jwks_server_down_fails_closed_within_three_seconds(client, settings, rsa_key):
    settings.SUPABASE_URL = f"http://127.0.0.1:{free_port()}"
    token = jwt.encode(claims(settings.SUPABASE_URL), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    started = time.monotonic()
    response = get_me(client, token)
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"


def test_request_without_credentials_gets_401_in_the_envelope(client, supabase):
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication credentials were not provided.", "code": "not_authenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_api_key_as_bearer_opens_no_dashboard_endpoint(client, supabase):
    assert_rejected(get_me(client, "cs_abcdef12_" + "s" * 43))


def test_admin_session_opens_the_dashboard_api(client, admin_user):
    client.force_login(admin_user)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "session"


def test_admin_session_needs_csrf_token_for_unsafe_methods(admin_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    response = csrf_client.post(ME, data={}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_valid_token_of_a_user_not_listed_as_admin_is_refused_and_no_user_is_created(client, supabase, rsa_key):
    """Any user of the Supabase project holds a valid token: one who signed up to the chatbot's own app too."""
    stranger = claims(supabase.url, sub="0b9d7e2c-1111-4000-8000-000000000042", email="someone@example.com")
    response = get_me(client, jwt.encode(stranger, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}))
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "This account is not allowed into ConvoSensei: its administrator lets Supabase users in by id.",
    }
    assert not User.objects.filter(username__startswith="supabase:").exists()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {jwt.encode(stranger, SECRET, algorithm='HS256')}"}
    for method, path in [("post", "/api/v1/api-keys"), ("get", "/api/v1/conversations"), ("put", "/api/v1/settings")]:
        answer = getattr(client, method)(path, data={}, content_type="application/json", **bearer)
        assert answer.status_code == 403, (method, path, answer.json())


def test_without_admin_user_ids_every_token_is_refused(client, supabase, settings):
    settings.SUPABASE_ADMIN_USER_IDS = frozenset()
    assert get_me(client, jwt.encode(claims(supabase.url), SECRET, algorithm="HS256")).status_code == 403


def test_the_listed_id_matches_whatever_its_letter_case(client, supabase, settings):
    settings.SUPABASE_ADMIN_USER_IDS = frozenset({ADMIN.lower()})
    upper = claims(supabase.url, sub=ADMIN.upper())
    assert get_me(client, jwt.encode(upper, SECRET, algorithm="HS256")).status_code == 200
