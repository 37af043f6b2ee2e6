"""A database host that stops answering without closing its connections (a failover to another address, a machine
that crashed): libpq's TCP options from DATABASE_TCP_TIMEOUT are on the socket of a connection Django opens over TCP,
so such a connection is given up within that many seconds instead of TCP's ~15 minutes."""

from __future__ import annotations

import os
import socket

import pytest
from django.conf import settings
from django.db.backends.postgresql.base import DatabaseWrapper

from tests.throwaway_postgres import ThrowawayPostgres, require_binaries


@pytest.fixture(scope="module")
def tcp_database():
    require_binaries()
    database = ThrowawayPostgres().start()
    try:
        yield database
    finally:
        database.remove()


def test_a_database_connection_over_tcp_carries_the_keepalives_and_the_user_timeout(tcp_database, django_db_blocker):
    server = {"HOST": "127.0.0.1", "PORT": tcp_database.port, "NAME": "postgres", "USER": "postgres", "PASSWORD": ""}
    wrapper = DatabaseWrapper({**settings.DATABASES["default"], **server}, alias="tcp_timeout_check")
    try:
        with django_db_blocker.unblock():  # a server of this test's own, not the suite's test database
            wrapper.ensure_connection()
        with socket.socket(fileno=os.dup(wrapper.connection.fileno())) as sock:
            options = (
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            )
    finally:
        wrapper.close()
    seconds = settings.DATABASE_TCP_TIMEOUT
    # Without them libpq leaves the system's: the first keepalive after 2 hours idle, no limit on unacknowledged data.
    assert options == (True, seconds // 2, seconds // 6, 3, seconds * 1000)
    # The first probe, then the retries, all within the timeout: an idle connection to a vanished host ends in time.
    assert seconds // 2 + 3 * (seconds // 6) <= seconds
