"""API authentication. Dashboard endpoints: Supabase access tokens, or the logged-in admin's Django
session. Ingestion endpoints: API keys only (ApiKeyAuthentication, at the end of this module).

Tokens are verified with an explicit algorithm allow-list: HS256 against `SUPABASE_JWT_SECRET`, or
RS256/ES256 against the project's JWKS (`{SUPABASE_URL}/auth/v1/.well-known/jwks.json`). PyJWT's
`PyJWKClient` fetches and caches the key set; an unknown `kid` triggers at most one refetch, and
refetches are spaced out so that tokens with made-up `kid`s cannot hammer the JWKS endpoint.
"""

from __future__ import annotations

import logging
import threading
import time

import jwt
from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from accounts.services import (
    ApiKeyAttemptsExceededError,
    VerifiedKey,
    api_key_mark_used,
    api_key_verify,
    user_get_or_create_for_supabase,
)
from convosensei.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

HMAC_ALGORITHMS = frozenset({"HS256"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256"})
ALLOWED_ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
JWKS_MIN_REFRESH_INTERVAL_SECONDS = 10.0

# The same body for every bad token: which check failed is logged, never told to the caller.
INVALID_TOKEN = "Invalid or expired access token."  # noqa: S105 (a message, not a secret)


class _JwksKeys:
    """The signing keys of one JWKS URL, cached by PyJWKClient, refreshed once on an unknown kid."""

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(
            url,
            cache_keys=False,  # the whole key set is cached instead (cache_jwk_set)
            cache_jwk_set=True,
            lifespan=settings.SUPABASE_JWKS_CACHE_SECONDS,
            timeout=settings.SUPABASE_JWKS_TIMEOUT_SECONDS,
            # PyJWT's own cooldown starts at the first fetch too, which would deny a key rotated just
            # after it; the spacing below starts only at a forced refresh.
            cooldown_duration=0,
        )
        self.last_refresh = 0.0
        self.lock = threading.Lock()

    def _find(self, kid: str | None, *, refresh: bool) -> jwt.PyJWK | None:
        if refresh:
            self.last_refresh = time.monotonic()
        for key in self.client.get_signing_keys(refresh=refresh):
            if key.key_id == kid:
                return key
        return None

    def signing_key(self, kid: str | None) -> jwt.PyJWK | None:
        key = self._find(kid, refresh=False)
        if key is not None:
            return key
        with self.lock:
            if time.monotonic() - self.last_refresh < JWKS_MIN_REFRESH_INTERVAL_SECONDS:
                return None
            return self._find(kid, refresh=True)


_jwks_by_url: dict[str, _JwksKeys] = {}
_jwks_lock = threading.Lock()


def _jwks_keys() -> _JwksKeys:
    url = f"{settings.SUPABASE_URL}/auth/v1/.well-known/jwks.json"
    with _jwks_lock:
        if url not in _jwks_by_url:
            _jwks_by_url[url] = _JwksKeys(url)
        return _jwks_by_url[url]


def _fail(reason: str) -> exceptions.AuthenticationFailed:
    logger.info("auth.jwt_rejected", extra={"reason": reason})
    return exceptions.AuthenticationFailed(INVALID_TOKEN)


def _verification_key(header: dict):
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise _fail("algorithm_not_allowed")
    if algorithm in HMAC_ALGORITHMS:
        if not settings.SUPABASE_JWT_SECRET:
            raise _fail("hs256_without_secret")
        return settings.SUPABASE_JWT_SECRET
    if not settings.SUPABASE_URL:
        raise _fail("asymmetric_without_supabase_url")
    try:
        key = _jwks_keys().signing_key(header.get("kid"))
    except jwt.PyJWKClientConnectionError:
        logger.warning("auth.jwks_unreachable")
        raise ServiceUnavailable(
            "The sign-in key service is unreachable; try again shortly.", code="auth_unavailable"
        ) from None
    except jwt.PyJWKClientError:
        raise _fail("jwks_invalid") from None
    if key is None:
        raise _fail("unknown_kid")
    if key.algorithm_name != algorithm:
        raise _fail("key_algorithm_mismatch")
    return key.key


def supabase_token_verify(token: str) -> dict:
    """The claims of a valid Supabase access token; raises AuthenticationFailed (or 503 if JWKS is down)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _fail("malformed") from None
    key = _verification_key(header)
    issuer = f"{settings.SUPABASE_URL}/auth/v1" if settings.SUPABASE_URL else None
    required = ["exp", "sub", "aud"] + (["iss"] if issuer else [])
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[header["alg"]],
            audience=settings.SUPABASE_JWT_AUDIENCE,
            issuer=issuer,
            leeway=settings.SUPABASE_JWT_LEEWAY_SECONDS,
            options={"require": required},
        )
    except jwt.PyJWTError as exc:
        raise _fail(type(exc).__name__) from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _fail("missing_sub")
    return claims


def _admitted(claims: dict) -> None:
    """Let in only the Supabase users SUPABASE_ADMIN_USER_IDS lists: a valid token proves who someone is, and every
    user of the project has one. Raises PermissionDenied (403) for the others; the log names the id to add."""
    if claims["sub"].lower() not in settings.SUPABASE_ADMIN_USER_IDS:
        logger.warning("auth.jwt_user_not_admitted", extra={"supabase_user_id": claims["sub"]})
        raise exceptions.PermissionDenied(
            "This account is not allowed into ConvoSensei: its administrator lets Supabase users in by id."
        )


class SupabaseJWTAuthentication(BaseAuthentication):
    """`Authorization: Bearer <Supabase access token>`. API keys (`cs_...`) are refused here."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise _fail("malformed_header")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise _fail("malformed_header") from None
        claims = supabase_token_verify(token)
        _admitted(claims)
        return user_get_or_create_for_supabase(claims=claims), claims

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


class DashboardSessionAuthentication(SessionAuthentication):
    """The logged-in admin's session, with DRF's CSRF check on unsafe methods."""


class ApiKeyPrincipal:
    """The caller of an ingestion endpoint: an API key, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, key: VerifiedKey) -> None:
        self.key = key
        self.pk = None

    def __str__(self) -> str:
        return f"api key {self.key.prefix}"


# One body for every bad key, so a caller learns nothing about which part was wrong.
INVALID_API_KEY = "Invalid API key."


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer cs_...` or `X-API-Key: cs_...`, for ingestion endpoints only."""

    def authenticate(self, request):
        raw_key = request.headers.get("X-API-Key")
        if raw_key is None:
            parts = get_authorization_header(request).split()
            if not parts:
                return None
            if len(parts) != 2 or parts[0].lower() != b"bearer":
                raise exceptions.AuthenticationFailed(INVALID_API_KEY)
            raw_key = parts[1].decode("latin-1")
        try:
            key = api_key_verify(raw_key=raw_key.strip())
        except ApiKeyAttemptsExceededError as exc:
            logger.warning("auth.api_key_attempts_exceeded")
            throttled = exceptions.Throttled(
                detail=f"Too many failed attempts with this API key this minute; try again in {exc.retry_after} s."
            )
            # Set after: given to the constructor, the wait is added to the message a second time ("Expected
            # available in 58 seconds."); Retry-After is written from it.
            throttled.wait = exc.retry_after
            raise throttled from None
        if key is None:
            logger.info("auth.api_key_rejected")
            raise exceptions.AuthenticationFailed(INVALID_API_KEY)
        api_key_mark_used(key=key)
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="ingest"'
