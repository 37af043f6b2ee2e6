"""ConvoSensei SDK: send AI chatbot conversations to a self-hosted ConvoSensei server.

    import convosensei_sdk
    convosensei_sdk.init(api_key="cs_...", base_url="https://convosensei.example.com")
    convosensei_sdk.track(conversation_id="c1", messages=[{"role": "user", "content": "hi"}])

The module-level functions use one default Client; create Client objects directly for more than one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ._context import ConversationScope, conversation, current_conversation
from ._version import VERSION
from .client import (
    Client,
    ConvoSenseiError,
    DeliveryError,
    InvalidTrackError,
    QueueFullError,
    Stats,
    _log,
)
from .wrappers import wrap

__version__ = VERSION
__all__ = [
    "Client",
    "ConversationScope",
    "ConvoSenseiError",
    "DeliveryError",
    "InvalidTrackError",
    "QueueFullError",
    "Stats",
    "conversation",
    "current_conversation",
    "flush",
    "get_client",
    "init",
    "shutdown",
    "stats",
    "track",
    "wrap",
]


_default: Optional[Client] = None
_default_lock = threading.Lock()
_warned_uninitialised = False


def init(
    api_key: Optional[str] = None,
    base_url: Optional[str] = None,
    environment: Optional[str] = None,
    **options: Any,
) -> Client:
    """Create (or replace) the default client; arguments fall back to CONVOSENSEI_* variables.

    Returns the client. Raises ValueError/TypeError on programming errors (no or malformed api key,
    bad base_url, unknown option), the only place the SDK raises.
    """
    global _default
    client = Client(api_key=api_key, base_url=base_url, environment=environment, **options)
    with _default_lock:
        previous, _default = _default, client
    if previous is not None:
        previous.shutdown()
    return client


def get_client() -> Optional[Client]:
    """The default client; created from CONVOSENSEI_* variables on first use, None if that is impossible."""
    global _default, _warned_uninitialised
    if _default is not None:
        return _default
    with _default_lock:
        if _default is None:
            try:
                _default = Client()
            except (ValueError, TypeError) as exc:
                if not _warned_uninitialised:
                    _warned_uninitialised = True
                    _log(logging.WARNING, "convosensei.not_initialised", error=str(exc))
                return None
        return _default


def track(
    *,
    conversation_id: str,
    messages: Sequence[Mapping[str, Any]],
    metadata: Optional[Mapping[str, Any]] = None,
    user_id: Optional[str] = None,
    environment: Optional[str] = None,
) -> bool:
    """Enqueue messages of one conversation on the default client; see Client.track. Never raises."""
    client = get_client()
    if client is None:
        return False
    return client.track(
        conversation_id=conversation_id,
        messages=messages,
        metadata=metadata,
        user_id=user_id,
        environment=environment,
    )


def flush(timeout: Optional[float] = None) -> bool:
    """Wait (bounded) until the default client has sent everything; False on timeout."""
    client = _default
    return True if client is None else client.flush(timeout)


def shutdown(timeout: Optional[float] = None) -> bool:
    """Flush (bounded) and stop the default client; it also runs at interpreter exit."""
    client = _default
    return True if client is None else client.shutdown(timeout)


def stats() -> Optional[Stats]:
    """The default client's counters, or None before it exists."""
    client = _default
    return None if client is None else client.stats()
