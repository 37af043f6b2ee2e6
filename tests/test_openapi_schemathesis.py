"""The whole OpenAPI schema fuzzed in-process by schemathesis, against the WSGI app.

Every operation, 50 examples in positive generation and 50 in negative generation: no 5xx, every
response conforms to the schema (status documented, body and content type as documented), and invalid
input gets a 4xx. Dashboard operations carry a real HS256 Supabase token; the two ingestion operations
an API key created in the test (`Authorization: Bearer cs_...`), so their bodies are validated for real.

Checks left out, and why:
- `positive_data_acceptance` everywhere: some rules span several fields and OpenAPI 3.0 cannot say
  them (`timeframe` or `from`/`to`, `from` < `to`, `health_min` ≤ `health_max`, a `cursor` must be a
  `next_cursor`, a timestamp's day must exist in its month and it must lie between 2000 and a little past
  the server's clock), so schema-valid requests can rightly get a 400 (documented on each operation).
- `negative_data_rejection` on the batch, replaced by `batch_rejects_invalid_data`: the batch validates
  each conversation on its own and answers 202 when some are valid, the invalid ones rejected in its
  results (documented). The conversation's schema gets the strict check on POST /track.
  Everywhere, a 413 counts as a refusal (added to the check's expected statuses): a generated invalid
  body can exceed the 5 MiB limit.
"""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from accounts.services import api_key_create
from conversations.tests.auth import jwt_secret, supabase_token  # noqa: F401 (fixture)

with warnings.catch_warnings():
    # The schema is read from the app at collection (below), before the session's collectstatic fixture has made
    # the static root: WhiteNoise would warn that it does not exist. It does by the first request.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    from convosensei.wsgi import application

BATCH_PATH = "/api/v1/conversations/track/batch"
INGESTION_PATHS = {"/api/v1/conversations/track", BATCH_PATH}
EXAMPLES = 50


def batch_rejects_invalid_data(ctx, response, case) -> None:
    """negative_data_rejection, where a 202 that rejects at least one conversation has refused the data."""
    if response.status_code == 202 and response.json()["rejected"] > 0:
        return None
    return negative_data_rejection(ctx, response, case)


# By path: (checks taken out, checks put in) for schema-violating requests.
NEGATIVE_CHECKS_SWAPPED = {BATCH_PATH: ([negative_data_rejection], [batch_rejects_invalid_data])}


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


def _schema(mode: GenerationMode):
    # Loaded at collection from the app itself (no database needed to render the schema). The lazy
    # `schemathesis.pytest.from_fixture` loader is not used: it relies on a pytest internal (`_nodeid`)
    # that pytest 9 removed. One schema per mode, so that each mode gets its own EXAMPLES.
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    schema.config.generation.update(modes=[mode], max_examples=EXAMPLES)
    return schema


positive = _schema(GenerationMode.POSITIVE)
negative = _schema(GenerationMode.NEGATIVE)
# A 413 (a body over the size limit, documented) refuses invalid data too: schemathesis leaves it out of
# negative_data_rejection's refusals, and a generated invalid batch sometimes exceeds 5 MiB.
_rejection = negative.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@positive.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_valid_requests_get_conforming_responses(case, credentials, jwt_secret, keep_test_transaction):  # noqa: F811
    case.call_and_validate(
        headers=credentials[case.path in INGESTION_PATHS],
        excluded_checks=[positive_data_acceptance],
    )


@negative.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_invalid_requests_are_refused_with_conforming_responses(case, credentials, jwt_secret, keep_test_transaction):  # noqa: F811
    taken_out, put_in = NEGATIVE_CHECKS_SWAPPED.get(case.path, ([], []))
    case.call_and_validate(
        headers=credentials[case.path in INGESTION_PATHS],
        excluded_checks=[positive_data_acceptance, *taken_out],
        additional_checks=put_in,
    )
