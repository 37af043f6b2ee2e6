"""Which database errors say the database is out of reach (503, one log line a minute) and which are a query's own
failure (logged with its traceback): real errors from a real PostgreSQL, not built by hand."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper

from convosensei.database import database_unreachable
from convosensei.embedded import free_port

pytestmark = pytest.mark.django_db


def test_a_statement_timeout_is_a_querys_own_failure_not_the_database_out_of_reach():
    with pytest.raises(OperationalError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")
    assert not database_unreachable(caught.value)


def test_a_server_that_refuses_the_connection_is_out_of_reach():
    server = {"HOST": "127.0.0.1", "PORT": free_port(), "OPTIONS": {"connect_timeout": 2}}
    wrapper = DatabaseWrapper({**connection.settings_dict, **server}, alias="refused_check")
    with pytest.raises(OperationalError) as caught:
        wrapper.ensure_connection()
    assert database_unreachable(caught.value)
