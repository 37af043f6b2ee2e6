"""One Redis client per process, short timeouts, and a circuit breaker for when Redis is down.

Redis is the cache, the rate limiter's counter store and the Celery broker. None of them may hold
up a request for long: after one failed operation, callers skip Redis for BACKOFF_SECONDS and take
their fallback (verify against the database, fail open, leave scoring to the sweep).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import redis
from django.conf import settings

from convosensei.broker import no_retry

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}
_down_until: dict[str, float] = {}


def redis_client(url: str | None = None) -> redis.Redis:
    """A client for `url` (default REDIS_URL); a new pool after fork, since sockets can't be shared."""
    url = url or settings.REDIS_URL
    key = (os.getpid(), url)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                retry=no_retry(),  # fail fast when Redis is down (see convosensei/broker.py)
            )
            _clients[key] = client
        return client


def redis_available(url: str | None = None) -> bool:
    """False for BACKOFF_SECONDS after an operation on this Redis failed."""
    return time.monotonic() >= _down_until.get(url or settings.REDIS_URL, 0.0)


def redis_failed(exc: Exception, *, operation: str, url: str | None = None) -> None:
    """Record a failed operation: callers skip this Redis for a while and use their fallback."""
    _down_until[url or settings.REDIS_URL] = time.monotonic() + BACKOFF_SECONDS
    logger.warning("redis.unavailable", extra={"operation": operation, "error_class": type(exc).__name__})


def reset_circuit() -> None:
    """Forget past failures (tests that restart Redis)."""
    _down_until.clear()
