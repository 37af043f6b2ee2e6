"""Writes for accounts: API keys and dashboard users from Supabase tokens.

API keys: `cs_<prefix>_<secret>`, only an argon2id hash of the secret is stored. Verifying argon2 on
every request would cost ~50 ms of CPU each, so a successful verification is cached in Redis for a
short time under an HMAC of the full key (never the key itself). Revoking a key writes a marker that
is read in the same round trip as the cached verification, so a revoked key fails on the very next
request. When Redis is unavailable, each process keeps its own verifications for as long, consulted only after
the key's database row says it is not revoked: a Redis outage costs a query per request, not an argon2
verification (whose CPU and memory would turn it into an outage of ingestion).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ApiKey, UserProfile
from convosensei.redis_client import redis_available, redis_client, redis_failed

logger = logging.getLogger(__name__)
User = get_user_model()


KEY_PATTERN = re.compile(r"^cs_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
VERIFIED_TTL_SECONDS = 60
KNOWN_TTL_SECONDS = 30 * 86_400
LAST_USED_RESOLUTION = timedelta(minutes=1)

# argon2id with argon2-cffi's defaults (RFC 9106 "low memory" profile).
_hasher = PasswordHasher()

# While Redis is unavailable: key id -> (the key's HMAC, _digest; monotonic time it expires), at most
# VERIFIED_HERE_MAX keys (then emptied: a key verifies again once).
_verified_here: dict[str, tuple[str, float]] = {}
VERIFIED_HERE_MAX = 1000


@dataclass(frozen=True)
class VerifiedKey:
    id: str
    prefix: str


def _digest(raw_key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), raw_key.encode(), hashlib.sha256).hexdigest()


def _cache_key(prefix: str, digest: str) -> str:
    return f"cs:apikey:ok:{prefix}:{digest}"


def _known_key(prefix: str) -> str:
    """Where the HMAC of the key last verified with `prefix` is kept for KNOWN_TTL_SECONDS: a request that presents
    it is not held up by failed attempts on its prefix (someone who knows a prefix, which the dashboard shows and
    the logs name, could otherwise keep an idle key answering 429 for good). It still goes through verification."""
    return f"cs:apikey:known:{prefix}"


def _revoked_marker(prefix: str) -> str:
    return f"cs:apikey:revoked:{prefix}"


def api_key_create(*, name: str, created_by=None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full plaintext key, which is never available again."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name.strip() or "Unnamed key", prefix=prefix, key_hash=_hasher.hash(secret), created_by=created_by
    )
    logger.info("api_key.created", extra={"api_key_id": str(api_key.id), "prefix": prefix})
    return api_key, f"cs_{prefix}_{secret}"


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key (idempotent); it fails from the next request on, in every process."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    marker = _revoked_marker(api_key.prefix)
    # Set the marker now and again after commit, so no cached verification outlives the revocation.
    _set_revoked_marker(marker)
    transaction.on_commit(lambda: _set_revoked_marker(marker))
    logger.info("api_key.revoked", extra={"api_key_id": str(api_key.id), "prefix": api_key.prefix})
    return api_key


def _set_revoked_marker(marker: str) -> None:
    try:
        redis_client().set(marker, 1, ex=VERIFIED_TTL_SECONDS * 10)
    except Exception as exc:  # Redis down: cached verifications expire within VERIFIED_TTL_SECONDS anyway
        redis_failed(exc, operation="api_key.revoke_marker")


class ApiKeyAttemptsExceededError(Exception):
    """Too many failed attempts with one key prefix this minute: `retry_after` seconds until the next is heard."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _failed_attempts_key(prefix: str) -> str:
    return f"cs:apikey:failed:{prefix}"


def _attempt_failed(prefix: str) -> None:
    """Count a failed attempt with `prefix` in the current minute (a window that starts with its first failure)."""
    if not settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE or not redis_available():
        return
    key = _failed_attempts_key(prefix)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        pipe.execute()
    except Exception as exc:
        redis_failed(exc, operation="api_key.count_failure")


def _wait_after_failures(failures: bytes | None, prefix: str) -> int | None:
    """Seconds to wait when `prefix` has used up its failed attempts this minute, else None."""
    limit = settings.API_KEY_FAILED_ATTEMPTS_PER_MINUTE
    if not limit or failures is None or int(failures) < limit:
        return None
    try:
        return max(int(redis_client().ttl(_failed_attempts_key(prefix))), 1)
    except Exception as exc:
        redis_failed(exc, operation="api_key.failure_window")
        return None


def api_key_verify(*, raw_key: str) -> VerifiedKey | None:
    """The key's identity if `raw_key` is a valid, unrevoked key; None for any kind of bad key.

    Raises ApiKeyAttemptsExceededError once API_KEY_FAILED_ATTEMPTS_PER_MINUTE attempts with the key's prefix
    failed this minute, before any hashing: each failed attempt with a real prefix costs an argon2 verification
    (about 0.1 s of CPU and 64 MiB, README), which whoever knows a prefix could otherwise make the server pay
    without limit. Attempts with an unknown or revoked prefix count too, so the answer tells no prefix from
    another. A key verified within the last minute is answered from the cache and never waits; one verified in
    the last KNOWN_TTL_SECONDS does not wait either, and is verified again (_known_key). Without Redis,
    nothing is counted.
    """
    match = KEY_PATTERN.match(raw_key)
    if not match:
        return None
    prefix, secret = match.groups()
    digest = _digest(raw_key)
    cache_key = _cache_key(prefix, digest)
    marker = _revoked_marker(prefix)
    cached = None
    if redis_available():
        try:
            cached = redis_client().mget([cache_key, marker, _failed_attempts_key(prefix), _known_key(prefix)])
        except Exception as exc:
            redis_failed(exc, operation="api_key.cache_get")
    if cached is not None:
        verified_id, revoked, failures, known = cached
        if revoked is not None:
            return None
        if verified_id is not None:
            return VerifiedKey(id=verified_id.decode(), prefix=prefix)
        wait = _wait_after_failures(failures, prefix)
        if wait is not None and not (known is not None and hmac.compare_digest(known.decode(), digest)):
            raise ApiKeyAttemptsExceededError(wait)

    row = ApiKey.objects.filter(prefix=prefix).values("id", "key_hash", "revoked_at").first()
    if row is None or row["revoked_at"] is not None:
        _attempt_failed(prefix)
        return None
    verified = VerifiedKey(id=str(row["id"]), prefix=prefix)
    if cached is None:  # Redis unavailable: this process's own verification, the row having said "not revoked"
        held = _verified_here.get(verified.id)
        if held is not None and held[1] > time.monotonic() and hmac.compare_digest(held[0], digest):
            return verified
    try:
        _hasher.verify(row["key_hash"], secret)
    except (VerificationError, InvalidHashError):
        _attempt_failed(prefix)
        return None
    # One line per argon2 verification: how often the slow path runs is visible (bench/ingest.py counts it).
    logger.info("api_key.verified_with_argon2", extra={"prefix": prefix})
    if cached is None:
        if len(_verified_here) >= VERIFIED_HERE_MAX:
            _verified_here.clear()
        _verified_here[verified.id] = (digest, time.monotonic() + VERIFIED_TTL_SECONDS)
        return verified
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(cache_key, verified.id, ex=VERIFIED_TTL_SECONDS)
        pipe.set(_known_key(prefix), digest, ex=KNOWN_TTL_SECONDS)
        pipe.execute()
    except Exception as exc:
        redis_failed(exc, operation="api_key.cache_set")
    return verified


# key id -> monotonic time this process last asked Redis; spares a Redis round trip on most requests.
_last_use_checked: dict[str, float] = {}


def api_key_mark_used(*, key: VerifiedKey) -> None:
    """Record use at most once a minute per key: a Redis SET NX (asked at most once a minute per process)
    gates the database write."""
    checked = time.monotonic()
    if checked - _last_use_checked.get(key.id, -1e9) < LAST_USED_RESOLUTION.total_seconds():
        return
    _last_use_checked[key.id] = checked
    now = timezone.now()
    first_this_minute = None  # unknown while Redis is down: the conditional update below is the gate
    if redis_available():
        try:
            first_this_minute = bool(
                redis_client().set(f"cs:apikey:used:{key.id}", 1, nx=True, ex=int(LAST_USED_RESOLUTION.total_seconds()))
            )
        except Exception as exc:
            redis_failed(exc, operation="api_key.mark_used")
    if first_this_minute is False:
        return
    ApiKey.objects.filter(id=key.id).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(last_used_at=now)


def user_get_or_create_for_supabase(*, claims: dict):
    """The Django user behind a verified Supabase token's `sub`, created (with a profile) on first sight."""
    subject = claims["sub"]
    profile = UserProfile.objects.select_related("user").filter(supabase_user_id=subject).first()
    if profile is not None:
        return profile.user
    try:
        with transaction.atomic():
            user = User.objects.create(username=f"supabase:{subject}"[:150], email=str(claims.get("email") or "")[:254])
            user.set_unusable_password()
            user.save(update_fields=["password"])
            UserProfile.objects.create(user=user, supabase_user_id=subject)
            return user
    except IntegrityError:
        # Two first requests of the same user raced; the other one created it.
        return UserProfile.objects.select_related("user").get(supabase_user_id=subject).user
