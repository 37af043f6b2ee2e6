"""Per-API-key rate limit: a fixed one-minute window counted atomically in Redis (INCR + EXPIRE).

If Redis is down the limiter fails open (the request goes through) and says so in the log: losing
data because the limiter's store is down would be worse than letting a burst through.
"""

from __future__ import annotations

import time

from django.conf import settings

from convosensei.redis_client import redis_available, redis_client, redis_failed

WINDOW_SECONDS = 60


def rate_limit_check(*, key_id: str) -> int | None:
    """None if the key may make this request; else the seconds to wait (for Retry-After)."""
    limit = settings.INGEST_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    counter = f"cs:ratelimit:{key_id}:{window}"
    if not redis_available():
        return None
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, WINDOW_SECONDS + 5)
        count, _ = pipe.execute()
    except Exception as exc:
        redis_failed(exc, operation="ratelimit.failing_open")
        return None
    if count <= limit:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
