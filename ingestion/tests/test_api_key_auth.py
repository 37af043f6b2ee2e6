import io
import json
import logging

import jwt
import pytest
from argon2 import PasswordHasher
from django.db import connection

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from convosensei.redis_client import redis_client
from ingestion.tests.payloads import transcript

TRACK = "/api/v1/conversations/track"
INVALID = {"message": "Invalid API key.", "code": "authentication_failed"}

pytestmark = pytest.mark.django_db


def _tampered_secret(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(lambda key: "cs_000000000000_" + key.split("_", 2)[2], id="unknown prefix"),
        pytest.param(_tampered_secret, id="wrong secret"),
        pytest.param(lambda key: key[: len(key) // 2], id="malformed key"),
        pytest.param(lambda key: "not-a-key-at-all", id="not a key"),
    ],
)
def test_every_bad_key_gets_the_same_401_body(post_json, raw_key, credential):
    response = post_json(TRACK, transcript(), credential(raw_key))
    assert response.status_code == 401
    assert response.json() == INVALID


def test_revoked_key_gets_the_same_401_body(post_json, api_key):
    row, key = api_key
    api_key_revoke(api_key=row)
    response = post_json(TRACK, transcript(), key)
    assert (response.status_code, response.json()) == (401, INVALID)


def test_revoked_key_fails_on_the_very_next_request_even_when_cached(post_json, api_key):
    row, key = api_key
    assert post_json(TRACK, transcript(), key).status_code == 202  # now cached as verified
    api_key_revoke(api_key=row)
    assert post_json(TRACK, transcript(), key).status_code == 401


def test_missing_key_gets_401(post_json):
    response = post_json(TRACK, transcript())
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_dashboard_jwt_ingests_nothing(post_json, settings):
    settings.SUPABASE_JWT_SECRET = "a-jwt-secret-of-at-least-thirty-two-chars"
    token = jwt.encode({"sub": "u", "aud": "authenticated", "exp": 9999999999}, settings.SUPABASE_JWT_SECRET)
    response = post_json(TRACK, transcript(), token)
    assert (response.status_code, response.json()) == (401, INVALID)


def test_admin_session_ingests_nothing(admin_client):
    response = admin_client.post(TRACK, data=transcript(), content_type="application/json")
    assert response.status_code == 401


def test_api_key_opens_no_dashboard_endpoint(client, raw_key):
    assert client.get("/api/v1/api-keys", HTTP_X_API_KEY=raw_key).status_code == 401


def _counting_argon2(monkeypatch) -> list:
    calls = []
    original = PasswordHasher.verify

    def counting_verify(self, hash, password):
        calls.append(1)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return calls


def test_argon2_runs_once_per_key_per_cache_period(post_json, raw_key, monkeypatch):
    calls = _counting_argon2(monkeypatch)
    for index in range(5):
        assert post_json(TRACK, transcript(f"c{index}"), raw_key).status_code == 202
    assert len(calls) == 1


def test_failed_attempts_past_the_limit_get_429_without_hashing(post_json, raw_key, settings, monkeypatch):
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 3
    calls = _counting_argon2(monkeypatch)
    statuses = [post_json(TRACK, transcript(), _tampered_secret(raw_key)).status_code for _ in range(3)]
    response = post_json(TRACK, transcript(), _tampered_secret(raw_key))
    assert (statuses, response.status_code, len(calls)) == ([401, 401, 401], 429, 3)
    assert response.json()["message"].startswith("Too many failed attempts with this API key this minute")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_429_of_failed_attempts_says_how_long_to_wait_once(post_json, raw_key, settings):
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 1
    post_json(TRACK, transcript(), _tampered_secret(raw_key))
    response = post_json(TRACK, transcript(), _tampered_secret(raw_key))
    message = f"Too many failed attempts with this API key this minute; try again in {response['Retry-After']} s."
    assert response.json()["message"] == message


def test_a_key_verified_before_the_failed_attempts_is_not_held_up(post_json, raw_key, settings):
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 2
    assert post_json(TRACK, transcript("before"), raw_key).status_code == 202  # verified, cached for a minute
    for _ in range(3):
        post_json(TRACK, transcript(), _tampered_secret(raw_key))
    assert post_json(TRACK, transcript("during"), raw_key).status_code == 202


def test_a_key_known_from_before_is_not_held_up_by_failed_attempts_on_its_prefix_once_its_cache_expired(
    post_json, raw_key, settings
):
    """Whoever knows a key's prefix (the dashboard shows it, the logs name it) could keep an idle key answering 429."""
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 2
    assert post_json(TRACK, transcript("yesterday"), raw_key).status_code == 202
    prefix = raw_key.split("_")[1]
    redis_client().delete(*redis_client().keys(f"cs:apikey:ok:{prefix}:*"))  # a minute later: the cache is gone
    assert [post_json(TRACK, transcript(), _tampered_secret(raw_key)).status_code for _ in range(3)] == [401, 401, 429]
    assert post_json(TRACK, transcript("today"), raw_key).status_code == 202
    assert post_json(TRACK, transcript(), _tampered_secret(raw_key)).status_code == 429  # the others still wait


def test_a_revoked_key_known_from_before_is_still_refused(post_json, api_key, settings):
    row, raw_key = api_key
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 2
    assert post_json(TRACK, transcript("before"), raw_key).status_code == 202
    api_key_revoke(api_key=row)
    # Ten minutes later the marker has expired, and the cached verification long before it: the database still says so.
    redis_client().delete(f"cs:apikey:revoked:{row.prefix}", *redis_client().keys(f"cs:apikey:ok:{row.prefix}:*"))
    assert post_json(TRACK, transcript("after"), raw_key).json() == INVALID


def test_an_unknown_prefix_is_held_up_alike_so_the_answer_tells_no_prefix_from_another(post_json, raw_key, settings):
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 2
    unknown = "cs_zzzzzzzzzzzz_" + raw_key.split("_", 2)[2]
    assert [post_json(TRACK, transcript(), unknown).status_code for _ in range(3)] == [401, 401, 429]


def test_failed_attempts_are_not_limited_when_the_limit_is_zero(post_json, raw_key, settings):
    settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE = 0
    assert {post_json(TRACK, transcript(), _tampered_secret(raw_key)).status_code for _ in range(12)} == {401}


def test_last_used_at_is_written_once_a_minute(post_json, api_key):
    row, key = api_key
    post_json(TRACK, transcript("a"), key)
    first = ApiKey.objects.get(id=row.id).last_used_at
    post_json(TRACK, transcript("b"), key)
    assert first is not None
    assert ApiKey.objects.get(id=row.id).last_used_at == first


def test_rate_limit_answers_429_with_retry_after(post_json, raw_key, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 2
    statuses = [post_json(TRACK, transcript(f"r{i}"), raw_key).status_code for i in range(3)]
    response = post_json(TRACK, transcript("r3"), raw_key)
    assert statuses == [202, 202, 429]
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61


def test_rate_limit_fails_open_when_redis_is_down(post_json, raw_key, settings):
    from convosensei.embedded import free_port

    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    statuses = [post_json(TRACK, transcript(f"o{i}"), raw_key).status_code for i in range(3)]
    assert statuses == [202, 202, 202]


@pytest.fixture
def redis_down(settings):
    from convosensei.embedded import free_port
    from convosensei.redis_client import reset_circuit

    settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    reset_circuit()
    yield
    reset_circuit()


def test_with_redis_down_argon2_runs_once_per_key_and_process_not_on_every_request(
    post_json, raw_key, monkeypatch, redis_down
):
    calls = _counting_argon2(monkeypatch)
    statuses = [post_json(TRACK, transcript(f"d{index}"), raw_key).status_code for index in range(5)]
    assert (statuses, len(calls)) == ([202] * 5, 1)


def test_with_redis_down_a_revoked_key_still_fails_on_the_very_next_request(post_json, api_key, redis_down):
    row, raw_key = api_key
    assert post_json(TRACK, transcript("before"), raw_key).status_code == 202
    api_key_revoke(api_key=row)
    assert post_json(TRACK, transcript("after"), raw_key).json() == INVALID


def test_with_redis_down_a_wrong_secret_is_refused_though_its_key_was_verified(post_json, raw_key, redis_down):
    assert post_json(TRACK, transcript("right"), raw_key).status_code == 202
    assert post_json(TRACK, transcript("wrong"), _tampered_secret(raw_key)).json() == INVALID


def test_the_key_secret_is_never_stored_logged_or_returned_after_creation(admin_client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        created = admin_client.post("/api/v1/api-keys", data={"name": "ci"}, content_type="application/json").json()
        key = created["key"]
        secret = key.split("_", 2)[2]
        admin_client.post(TRACK, data=transcript(), content_type="application/json", HTTP_X_API_KEY=key)
        listing = admin_client.get("/api/v1/api-keys").content.decode()
        revoked = admin_client.delete(f"/api/v1/api-keys/{created['id']}").content.decode()
    finally:
        logging.getLogger().removeHandler(handler)
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(api_keys)::text FROM api_keys")
        stored = " ".join(row[0] for row in cursor.fetchall())
    assert secret not in stored
    assert secret not in stream.getvalue()
    assert secret not in listing + revoked
    assert created["prefix"] in listing


def test_created_key_authenticates_and_its_hash_is_argon2id():
    row, key = api_key_create(name="fresh")
    assert row.key_hash.startswith("$argon2id$")
    assert key.startswith(f"cs_{row.prefix}_")


def test_api_keys_listing_shows_name_prefix_and_revocation(admin_client, api_key):
    row, _ = api_key
    listing = admin_client.get("/api/v1/api-keys").json()
    assert [(k["name"], k["prefix"], k["revoked"]) for k in listing] == [("test app", row.prefix, False)]


def test_revoking_an_unknown_key_gets_404(admin_client):
    response = admin_client.delete("/api/v1/api-keys/00000000-0000-4000-8000-000000000000")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_creating_a_key_without_a_name_gets_400_with_field_details(admin_client):
    response = admin_client.post("/api/v1/api-keys", data={}, content_type="application/json")
    assert response.status_code == 400
    assert json.loads(response.content)["details"] == {"name": ["This field is required."]}


def test_a_key_name_that_is_not_a_string_gets_400(admin_client):
    response = admin_client.post("/api/v1/api-keys", data={"name": 0}, content_type="application/json")
    assert (response.status_code, list(response.json()["details"])) == (400, ["name"])
