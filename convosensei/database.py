"""What the processes do while PostgreSQL is away (a restart, an upgrade, a failover, a full disk) and once it is back.

- `database_unavailable()` tells an error that says the server could not be reached, dropped the connection, or has
  run out of a resource (a full disk, its memory, its connections), from a query that failed on its own: the first
  answers 503 with Retry-After, the second is a bug to look at (a 500 with its traceback in the log, under /api/ the
  envelope's `internal_error`; the SDKs retry both).
- `database_outage_logged()` logs such an error once a minute per process (`database.unavailable`, without a
  traceback), with how many it did not log since (`not_logged`): an outage under load is one line a minute, not a
  traceback per request.
- `close_connections_the_server_dropped()` runs at the start of each request: a connection kept from before a restart
  (DATABASE_CONN_MAX_AGE) is dropped before it is used, so that the first requests after the database is back succeed
  instead of failing on it. It reads whether the server closed the socket, which costs a system call, not the round
  trip of Django's CONN_HEALTH_CHECKS.
"""

from __future__ import annotations

import logging
import select
import threading
import time

import psycopg
from django.db import InterfaceError, OperationalError, connection, connections

logger = logging.getLogger(__name__)

# What a client is asked to wait before trying again (the SDKs take it as the least wait before their next attempt).
RETRY_AFTER_SECONDS = 5
OUTAGE_LOG_INTERVAL_SECONDS = 60.0


# SQLSTATEs of a server going away, connection exceptions (class 08) and shutting down or starting up (57P0x), and of
# one out of a resource (class 53: a full disk, out of memory, too many connections). A query over a limit set for
# queries (53400, temp_file_limit say) and other operator interventions of class 57, a statement timeout (57014) say,
# are a query's own failure.
_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53000", "53100", "53200", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached, dropped the connection or cannot take any more work (not
    a query's own error: a missing table, a statement timeout, a constraint).

    The driver's error (the exception or, as Django wraps it, its cause) tells: none of the server's SQLSTATEs (the
    client could not connect, or lost the socket), or one of a server going away or out of a resource."""
    if not isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        return False
    driver = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(driver, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_UNAVAILABLE)


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` left this thread without a working connection: the server could not be reached, or dropped the
    connection (unlike a statement that failed on a connection still good, a timeout say)."""
    if not database_unavailable(exc):
        return False
    raw = connection.connection
    return raw is None or raw.closed or raw.broken


def _first_line(exc: BaseException) -> str:
    # A connection error's text names the server and what went wrong (refused, shut down), never SQL or data.
    return (str(exc).strip().splitlines() or [""])[0][:300]


class _OutageLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._unlogged = 0

    def __call__(self, exc: BaseException, **extra) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._next_at:
                self._unlogged += 1
                return
            unlogged, self._unlogged, self._next_at = self._unlogged, 0, now + OUTAGE_LOG_INTERVAL_SECONDS
        logger.error(
            "database.unavailable",
            extra={"error_class": type(exc).__name__, "error": _first_line(exc), "not_logged": unlogged, **extra},
        )


database_outage_logged = _OutageLog()


def _server_hung_up(raw) -> bool:
    """Whether the server closed an idle connection (or sent it anything: on an idle connection that is its
    FATAL goodbye). Never blocks."""
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:  # no socket any more
        return True


def close_connections_the_server_dropped(**_kwargs) -> None:
    """request_started: close this thread's idle connections that the server hung up on; they reconnect when used."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and _server_hung_up(conn.connection):
            conn.close()
