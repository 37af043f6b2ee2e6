"""What the dashboard API's views share in the OpenAPI schema: the error responses, the UUID path
parameter (with parse_id, which gives a malformed id the documented 404) and a schema hook."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions

from convosensei.errors import ErrorEnvelopeSerializer

_ERROR_DESCRIPTIONS = {
    400: "Invalid query parameters or body; `details` names each field and what is wrong with it.",
    401: "Missing or invalid credentials (a Supabase access token or the admin session; API keys are refused).",
    403: "The admin session without a valid CSRF token on an unsafe method.",
    404: "No such resource.",
    409: "Conflicts with the current state (e.g. a saved view of that scope and name exists).",
    503: "A dependency is unavailable (the database; for similar conversations, embeddings).",
}


def error_responses(*statuses: int) -> dict:
    """The error envelope for each of `statuses`, for `extend_schema(responses=...)`."""
    return {
        status: OpenApiResponse(ErrorEnvelopeSerializer, description=_ERROR_DESCRIPTIONS[status]) for status in statuses
    }


READ_ERRORS = error_responses(400, 401)
DETAIL_READ_ERRORS = error_responses(400, 401, 404)
WRITE_ERRORS = error_responses(400, 401, 403)


def id_parameter(name: str, what: str) -> OpenApiParameter:
    """A UUID path parameter. The URL takes any segment so that a malformed id gets the same 404
    envelope as an unknown one (see parse_id), rather than falling through to the catch-all route."""
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=f"The {what}'s id.")


def parse_id(value: str, what: str) -> uuid.UUID:
    """`value` as a UUID; raises NotFound (404) when it is not one: no such resource can exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise exceptions.NotFound(f"No {what} with this id.") from None


def empty_query_value_means_unset(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: a nullable query parameter (an optional filter such as
    `has_failures`) reads an empty value as not given, as DRF does: `?has_failures=` is what an HTML form
    sends for "any". `allowEmptyValue` says so; drf-spectacular does not write it itself."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query" and parameter.get("schema", {}).get("nullable"):
                    parameter["allowEmptyValue"] = True
    return result
