import pytest
from django.core.cache import cache

from conversations.tests.auth import anonymous, api, api_key_client, forged, jwt_secret  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()
