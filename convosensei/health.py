"""Liveness and readiness probes."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from convosensei.redis_client import redis_client

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving; checks nothing else."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:  # any failure means not ready, whatever the driver raises
        logger.warning("readyz.database_unreachable", extra={"error_class": type(exc).__name__})
        return False


def _broker_ok() -> bool:
    try:
        return bool(redis_client(settings.CELERY_BROKER_URL).ping())
    except redis.RedisError as exc:
        logger.warning("readyz.broker_unreachable", extra={"error_class": type(exc).__name__})
        return False


def static_files_missing() -> str | None:
    """Why the pages cannot be served, or None. With DJANGO_DEBUG off every page names its stylesheet and scripts by
    the hashed names `collectstatic` writes in its manifest: without the manifest (never collected, or a new release
    not collected yet) every page is a 500."""
    manifest = getattr(staticfiles_storage, "manifest_name", None)  # only the manifest storage (DEBUG off) has one
    if manifest is None or staticfiles_storage.exists(manifest):
        return None
    return f"No static files in {settings.STATIC_ROOT}: run `python manage.py collectstatic --no-input`."


def _static_files_ok() -> bool:
    problem = static_files_missing()
    if problem:
        logger.error("readyz.static_files_missing", extra={"problem": problem})
    return problem is None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer and the static files are collected; 503 (naming which is not)
    otherwise."""
    checks = {"database": _database_ok(), "broker": _broker_ok(), "static_files": _static_files_ok()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if ready else 503)
