"""Strict readers for CONVOSENSEI_* environment variables.

A malformed value is a configuration mistake, so it raises at init() rather than being read as a default:
`CONVOSENSEI_SYNC_MODE=yes please` is an error, not False.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, TypeVar

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

_Number = TypeVar("_Number", int, float)


def env_str(name: str) -> Optional[str]:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else None


def env_bool(name: str) -> Optional[bool]:
    """The variable as a boolean, None when unset; raises ValueError on anything but a clear yes/no."""
    value = os.environ.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be one of true/false/1/0/yes/no/on/off, got {value!r}")


def env_int(name: str) -> Optional[int]:
    """The variable as an integer, None when unset; raises ValueError when it is not one."""
    return _env_number(name, int, "an integer")


def env_float(name: str) -> Optional[float]:
    """The variable as a float, None when unset; raises ValueError when it is not one."""
    return _env_number(name, float, "a number")


def _env_number(name: str, convert: Callable[[str], _Number], what: str) -> Optional[_Number]:
    value = env_str(name)
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError:
        raise ValueError(f"{name} must be {what}, got {value!r}") from None
