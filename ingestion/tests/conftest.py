import pytest
from django.core.cache import cache

from accounts.services import api_key_create
from convosensei.redis_client import reset_circuit


@pytest.fixture(autouse=True)
def clean_cache():
    reset_circuit()
    cache.clear()
    yield
    reset_circuit()
    cache.clear()


@pytest.fixture
def api_key(db):
    """(ApiKey row, full plaintext key)."""
    return api_key_create(name="test app")


@pytest.fixture
def raw_key(api_key) -> str:
    return api_key[1]


@pytest.fixture
def post_json(client):
    def post(path: str, body, key: str | None = None, **headers):
        if key is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        return client.post(path, data=body, content_type="application/json", **headers)

    return post
