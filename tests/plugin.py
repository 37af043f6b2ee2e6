"""Test-session set-up that must happen before Django's settings are imported.

Loaded with `-p tests.plugin` (pytest.ini). Tests run against real services: the embedded
PostgreSQL (with pgvector) unless DATABASE_URL is set, and a redis-server of their own on a free
127.0.0.1 port unless TEST_REDIS_URL is set, so that a test run never touches anyone else's data.
"""

import atexit
import os
import tempfile
from pathlib import Path

from convosensei.embedded import EmbeddedRedis

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
os.environ["DJANGO_SECURE_COOKIES"] = "false"
os.environ.setdefault("LOG_LEVEL", "INFO")

# The suite's own redis-server; tests that stop and restart Redis use this handle (None when external).
redis_server: EmbeddedRedis | None = None
if os.environ.get("TEST_REDIS_URL"):
    os.environ["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
else:
    redis_server = EmbeddedRedis(data_dir=Path(tempfile.mkdtemp(prefix="convosensei-test-redis-"))).start()
    atexit.register(redis_server.stop)
    os.environ["REDIS_URL"] = redis_server.url
