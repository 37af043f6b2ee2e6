"""The request log, the health probes, the last-resort error envelope for /api/, the dashboard's time zone, the login
form for a page section htmx refreshes after the session ended, and no caching of what the app itself answers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from convosensei import health
from convosensei.errors import database_outage_met, database_unavailable_response, error_response, is_api_path

logger = logging.getLogger("convosensei.request")
error_logger = logging.getLogger("convosensei.errors")

# A caller's request id is kept only if it is short and plain, so it can't smuggle anything into logs.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    """One structured line per request and an X-Request-ID header on every response.

    The line carries method, path (never the query string, which may hold secrets), status,
    duration and request id; never bodies, headers, tokens or keys.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        logger.info(
            "http.request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request.request_id,
            },
        )
        return response


class HealthProbeMiddleware:
    """/healthz and /readyz answer whatever the Host header says, before ALLOWED_HOSTS is checked.

    Load balancers, orchestrators and docker-compose's healthcheck ask by the server's address (`Host: 10.0.3.7:8000`,
    `127.0.0.1:8000`), which DJANGO_ALLOWED_HOSTS (the public name) does not list: they got a 400 and an error log
    line per probe, and the server was taken for down. The probes read nothing of the request.
    """

    probes = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.probes.get(request.path_info)
        return probe(request) if probe else self.get_response(request)


class NeverCacheMiddleware:
    """Every answer of the app's own views is kept in no cache (`Cache-Control: no-store, private, …`) unless the view
    says otherwise: pages and API responses hold the users' conversations (and, once, a new API key), which neither a
    shared proxy nor the browser may keep; a browser's cache would show a transcript again on Back after the admin
    logged out. Static files are answered before this middleware (WhiteNoise, above it) and stay cacheable."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            add_never_cache_headers(response)
        return response


class ApiExceptionMiddleware:
    """An exception that escaped a view under /api/ still answers in the envelope, without internals."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        request_id = getattr(request, "request_id", "")
        if database_outage_met(exception, request_id=request_id):
            return database_unavailable_response()
        error_logger.error("api.unhandled_error", extra={"request_id": request_id}, exc_info=exception)
        return error_response(500, "Internal server error.", "internal_error", {"request_id": request_id})


class DashboardTimeZoneMiddleware:
    """Pages show times in `DASHBOARD_TIME_ZONE`: templates (`|date`), forms and the admin read Django's current
    time zone, and the overview draws its days in it. The JSON API keeps UTC, so a client's parsing never depends
    on how the dashboard is set up."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path):
            return self.get_response(request)
        timezone.activate(settings.DASHBOARD_TIME_ZONE)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class HtmxLoginRedirectMiddleware:
    """A section htmx refreshes in place (the overview, every minute) asked for once the session has ended: the
    browser follows the redirect to the login form inside the request, and htmx would swap the section for the part of
    the login page that has its id, none, leaving a blank page that never refreshes again. htmx is told to load the
    login form as a page instead (HX-Redirect), which brings the reader back to the section after logging in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and response.status_code == 302
            and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)
        ):
            redirect = HttpResponse(status=200)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
