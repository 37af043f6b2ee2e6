"""Liveness and readiness probes."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
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


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer; 503 (naming which did not) otherwise."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if ready else 503)
