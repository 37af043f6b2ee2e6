"""One error envelope for every API error: `{"message": ..., "code": ..., "details": ...}`.

`details` appears only where it helps the caller (the field errors of a 400, say). Database errors
become a clean message; their text, which may quote SQL or data, is logged, never returned.
"""

from __future__ import annotations

import logging
import sys

from django.core.exceptions import DisallowedHost, PermissionDenied
from django.db import DatabaseError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from convosensei.database import RETRY_AFTER_SECONDS, database_outage_logged, database_unavailable
from convosensei.exceptions import Conflict, ServiceUnavailable

logger = logging.getLogger(__name__)

# DRF's default codes for its own exceptions, renamed where ours read better.
_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The error envelope, for the OpenAPI schema."""

    message = serializers.CharField()
    code = serializers.CharField()
    details = serializers.JSONField(required=False, help_text="Field errors of a 400, and the like.")


DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."


def database_outage_met(exc: BaseException, *, request_id: str) -> bool:
    """Whether a request's exception says the database is unavailable (convosensei.database), logged then once a minute
    per process; the API and the pages answer it 503. Another database error is a query's own failure, a bug: it goes
    on as any exception, a 500 with its traceback in the log."""
    if isinstance(exc, DatabaseError) and database_unavailable(exc):
        database_outage_logged(exc, request_id=request_id)
        return True
    return False


def database_unavailable_response() -> JsonResponse:
    """503 in the envelope, with the wait Retry-After asks for (the SDKs retry a 503, waiting at least that)."""
    return error_response(
        503, DATABASE_UNAVAILABLE, "database_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def envelope(message: str, code: str, details=None) -> dict:
    body = {"message": message, "code": code}
    if details is not None:
        body["details"] = details
    return body


def error_response(status_code: int, message: str, code: str, details=None, headers=None) -> JsonResponse:
    """An envelope as a plain Django response, for errors raised outside DRF views."""
    response = JsonResponse(envelope(message, code, details), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _message_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "The request has invalid fields."
    detail = exc.detail
    if isinstance(detail, list) and detail:
        detail = detail[0]
    if isinstance(detail, dict):
        return str(exc.default_detail)
    return str(detail)


def _code_of(exc: exceptions.APIException) -> str:
    for exc_type, code in _CODES.items():
        if isinstance(exc, exc_type):
            return code
    # A code given when raising (`ServiceUnavailable(..., code="database_unavailable")`) wins.
    return getattr(exc.detail, "code", None) or exc.default_code or "error"


def api_exception_handler(exc, context):
    """DRF's exception handler: every exception becomes the envelope, or None for a real 500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        logger.warning("api.integrity_error", extra={"error_class": type(exc).__name__})
        set_rollback()
        exc = Conflict()
    elif database_outage_met(exc, request_id=getattr(context.get("request"), "request_id", "")):
        set_rollback()
        exc = ServiceUnavailable(DATABASE_UNAVAILABLE, code="database_unavailable")
        exc.wait = RETRY_AFTER_SECONDS

    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    details = exc.detail if isinstance(exc, exceptions.ValidationError) else None
    if isinstance(details, list):
        details = {"non_field_errors": details}
    set_rollback()
    return Response(envelope(_message_of(exc), _code_of(exc), details), status=exc.status_code, headers=headers)


@csrf_exempt  # an unknown path answers 404 in the envelope whatever the method, not the HTML CSRF page
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any path under /api/ that no route matches; one that does without its trailing slash is named."""
    bare = request.path_info.rstrip("/")
    if bare != request.path_info:
        try:
            endpoint = resolve(bare).func is not api_not_found
        except Resolver404:
            endpoint = False
        if endpoint:
            return error_response(
                404,
                f"No API endpoint at this path: the endpoint is {request.path.rstrip('/')}, without the slash.",
                "not_found",
            )
    return error_response(404, "No API endpoint at this path.", "not_found")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The dashboard's 404 page (the API answers the envelope, api_not_found): in the dashboard's layout, with its
    navigation, and with the reason a view gave ("No such conversation."), which Django's own page leaves out."""
    if is_api_path(request.path):
        return error_response(404, "Not found.", "not_found")
    reason = None
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404) and exception.args:
        reason = exception.args[0] if isinstance(exception.args[0], str) else None
    return render(request, "404.html", {"reason": reason}, status=404)


def bad_request_error(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 400 raised before any view (an unknown Host header, a malformed request): the envelope under /api/, where
    Django's HTML page left an SDK with nothing to report but "HTTP 400"; Django's own page elsewhere."""
    if not is_api_path(request.path):
        return bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        return error_response(
            400,
            "This server does not answer to the host named in the request (DJANGO_ALLOWED_HOSTS).",
            "disallowed_host",
        )
    return error_response(400, "Bad request.", "bad_request")


def server_error(request: HttpRequest) -> HttpResponse:
    """The dashboard's 500 page (the API answers the envelope, middleware.ApiExceptionMiddleware): the product's
    look, a way back, and the request id the log line carries. Rendered without the request's context processors,
    as Django's own page is: whatever failed the view (the database) must not fail this page too.

    When what failed is the database being out of reach (`sys.exc_info()`: Django calls this while handling the
    exception), the page says so instead, with a 503 and Retry-After: it is no bug of the page, and it passes."""
    request_id = getattr(request, "request_id", "")
    exc = sys.exc_info()[1]
    if database_outage_met(exc, request_id=request_id):
        page = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    page = loader.get_template("500.html").render({"request_id": request_id})
    return HttpResponse(page, status=500)
