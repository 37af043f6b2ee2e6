"""The whole OpenAPI schema fuzzed in-process by schemathesis, against the WSGI app.

Positive and negative generation, 50 examples per operation: no 5xx, every response conforms to the
schema (status documented, body and content type as documented), and invalid input gets a 4xx.
Dashboard operations carry a real HS256 Supabase token; the two ingestion operations an API key.

Checks left out, and why:
- `positive_data_acceptance` everywhere: some rules span several fields and OpenAPI 3.0 cannot say
  them (`timeframe` or `from`/`to`, `from` < `to`, `health_min` ≤ `health_max`, a `cursor` must be a
  `next_cursor`), so schema-valid requests can rightly get a 400 (documented on each operation).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from accounts.services import api_key_create
from conversations.tests.auth import jwt_secret, supabase_token  # noqa: F401 (fixture)
from convosensei.wsgi import application

INGESTION_PATHS = {"/api/v1/conversations/track", "/api/v1/conversations/track/batch"}


@pytest.fixture
def keep_test_transaction():
    """The WSGI app closes the database connection after each request when it is inside a transaction,
    as the test's is; Django's own test client turns that off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(db) -> dict[bool, dict[str, str]]:
    """Headers by "is this an ingestion operation?": an API key there, a Supabase token elsewhere."""
    _, key = api_key_create(name="schemathesis")
    return {True: {"Authorization": f"Bearer {key}"}, False: {"Authorization": f"Bearer {supabase_token()}"}}


# Loaded at collection from the app itself (no database needed to render the schema). The lazy
# `schemathesis.pytest.from_fixture` loader is not used: it relies on a pytest internal (`_nodeid`)
# that pytest 9 removed.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=50)


@schema.parametrize()
@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case, credentials, jwt_secret, keep_test_transaction):  # noqa: F811
    case.call_and_validate(
        headers=credentials[case.path in INGESTION_PATHS],
        excluded_checks=[positive_data_acceptance],
    )
