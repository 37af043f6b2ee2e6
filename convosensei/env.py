"""Strict readers for configuration from environment variables.

Every setting comes from the environment (a `.env` file is loaded first when present). A value
that cannot be read is an error at start-up, never a silent default: `DJANGO_DEBUG=yes please`
stops the process instead of meaning False.
"""

from __future__ import annotations

import os
import zoneinfo
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or `default` when unset or empty."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """A boolean: 1/true/yes/on or 0/false/no/off (any case); anything else is an error."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer within [minimum, maximum]; anything else is an error."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be <= {maximum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    """A number (at least `minimum`); anything else is an error."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks between commas are ignored."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str | None = None, *, schemes: tuple[str, ...]) -> str | None:
    """A URL with one of `schemes` and a host (or a socket path); anything else is an error."""
    value = _raw(name)
    if value is None:
        return default
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is no number)
    except ValueError:
        parts = None
    # A '#', '/' or '?' left in a password ends the host early: the rest becomes a port, a path or a fragment, and
    # the '@' after it lands there. The message never quotes the value: it may hold a password.
    if parts is None or parts.fragment or "@" in parts.path or "@" in parts.query:
        raise ImproperlyConfigured(
            f"{name} is not a valid URL: percent-encode the characters of the user name and password that a URL "
            "reserves (# / ? @ : % and spaces), for example with: python3 -c 'import sys, urllib.parse; "
            "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' 'the-password'"
        )
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of {schemes}, got scheme {parts.scheme!r}")
    if not parts.netloc and not parts.path:
        raise ImproperlyConfigured(f"{name} must name a host")
    return value.rstrip("/") if parts.scheme in ("http", "https") else value


def env_hosts(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of `host` or `host:port` (lowercased); a path, scheme or bad port is an error."""
    hosts = []
    for entry in env_list(name, default):
        try:
            parts = urlsplit(f"//{entry}")
            valid = parts.hostname and parts.netloc == entry and parts.port != 0 and not parts.username
        except ValueError:
            valid = False
        if not valid:
            raise ImproperlyConfigured(f"{name} must list host names, each optionally with :port, got {entry!r}")
        hosts.append(entry.lower())
    return hosts


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`); an unknown name is an error.

    The zones come from the system's tz database or, where it has none, the `tzdata` package (installed with
    django-celery-beat), as Python's `zoneinfo` looks them up.
    """
    value = _raw(name)
    if value is None:
        return default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # unknown, a path, a directory
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone name such as Europe/Berlin or America/New_York, got {value!r}"
        ) from None
    return value
