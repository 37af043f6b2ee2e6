"""Which database errors say the database is out of reach (503, one log line a minute) and which are a query's own
failure (logged with its traceback): real errors from a real PostgreSQL, not built by hand."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper

from convosensei.database import database_unavailable
from convosensei.embedded import free_port

pytestmark = pytest.mark.django_db


def test_a_statement_timeout_is_a_querys_own_failure_not_the_database_out_of_reach():
    with pytest.raises(OperationalError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")
    assert not database_unavailable(caught.value)


def test_a_server_that_refuses_the_connection_is_out_of_reach():
    server = {"HOST": "127.0.0.1", "PORT": free_port(), "OPTIONS": {"connect_timeout": 2}}
    wrapper = DatabaseWrapper({**connection.settings_dict, **server}, alias="refused_check")
    with pytest.raises(OperationalError) as caught:
        wrapper.ensure_connection()
    assert database_unavailable(caught.value)


def _raised_by_the_server(errcode: str) -> OperationalError:
    """The error PostgreSQL sends for `errcode` (a condition name), raised by the server itself."""
    with pytest.raises(OperationalError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'raised for the test' USING ERRCODE = '{errcode}'; END $$")
    return caught.value


@pytest.mark.parametrize("errcode", ["disk_full", "out_of_memory", "too_many_connections", "admin_shutdown"])
def test_a_server_out_of_a_resource_or_shutting_down_is_unavailable(errcode):
    assert database_unavailable(_raised_by_the_server(errcode))


def test_a_query_over_a_limit_set_for_queries_is_its_own_failure():
    with pytest.raises(OperationalError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64kB'")
        cursor.execute("SET LOCAL temp_file_limit = '64kB'")
        cursor.execute("SELECT count(*) FROM (SELECT md5(i::text) FROM generate_series(1, 200000) i ORDER BY 1) s")
    assert caught.value.__cause__.sqlstate == "53400"  # configuration_limit_exceeded
    assert not database_unavailable(caught.value)
