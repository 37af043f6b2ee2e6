"""The periodic tasks' scheduler: django-celery-beat's, run by one `celery beat` at a time.

A second beat (a second replica, a beat left running beside a new deployment) would send every periodic task
twice: two sweeps each minute, two weekly pattern runs, two nightly deletions. Each beat takes a lock in Redis
before it schedules anything and renews it at every tick (at most 5 s apart); another beat waits until the lock is
free (released when its holder stops, or LOCK_SECONDS after a holder that died), as a standby that takes over.

Beat reads and writes its schedule in the database as it starts. With the database away then (a host rebooting
with its services in any order, a deployment during a database restart) django-celery-beat raised and the process
exited; without a supervisor to restart it, no periodic task ran again. It now waits for the database, keeping the
lock, and says so in the once-a-minute `database.unavailable` line.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, connection
from django_celery_beat.schedulers import DatabaseScheduler

from convosensei.database import database_outage_logged, database_unavailable
from convosensei.redis_client import redis_client

logger = logging.getLogger(__name__)

LOCK_KEY = "cs:beat:lock"
LOCK_SECONDS = 30
WAIT_SECONDS = 5

# Renew or release the lock only while this beat holds it (compare and act in one step).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class SingleBeatScheduler(DatabaseScheduler):
    """DatabaseScheduler that schedules only while it holds the beat lock (CELERY_BEAT_SCHEDULER)."""

    def __init__(self, *args, **kwargs) -> None:
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        self._acquire()
        while True:
            try:
                super().setup_schedule()
                return
            except DatabaseError as exc:
                if not database_unavailable(exc):  # a query's own failure (tables not migrated, say) stays fatal
                    raise
                database_outage_logged(exc, source="beat.start")
                connection.close()  # the next attempt connects anew
                self._initial_read = True  # django-celery-beat's flag: read the whole schedule again, not only changes
            time.sleep(WAIT_SECONDS)
            if not self._renew():
                self._acquire()

    def tick(self, *args, **kwargs):
        if not self._renew():
            logger.error("beat.lock_lost", extra={"holder": self._holder})
            self._acquire()
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        try:
            self._redis().eval(_RELEASE, 1, LOCK_KEY, self._holder)
        except Exception as exc:  # it expires by itself
            logger.warning("beat.lock_not_released", extra={"error_class": type(exc).__name__})
        super().close()

    def _redis(self):
        return redis_client(settings.CELERY_BROKER_URL)

    def _acquire(self) -> None:
        """Wait until this beat holds the lock (a beat with Redis down could send nothing anyway)."""
        said = False
        while True:
            try:
                if self._redis().set(LOCK_KEY, self._holder, nx=True, ex=LOCK_SECONDS):
                    logger.info("beat.lock_acquired", extra={"holder": self._holder})
                    return
                other = self._redis().get(LOCK_KEY)
                reason = {"held_by": other.decode() if other else "", "expires_within_s": LOCK_SECONDS}
            except Exception as exc:
                reason = {"error_class": type(exc).__name__}
            if not said:  # once, not every few seconds for as long as the other beat runs
                logger.warning("beat.waiting_for_lock", extra={"holder": self._holder, **reason})
                said = True
            time.sleep(WAIT_SECONDS)

    def _renew(self) -> bool:
        """Whether this beat still holds the lock; True when Redis cannot say (it cannot send tasks either)."""
        try:
            return bool(self._redis().eval(_RENEW, 1, LOCK_KEY, self._holder, LOCK_SECONDS))
        except Exception:
            return True
