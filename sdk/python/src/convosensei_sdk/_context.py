"""The conversation a block of code belongs to, carried in a ContextVar so it follows asyncio tasks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class ConversationScope:
    conversation_id: str
    user_id: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


_current: ContextVar[Optional[ConversationScope]] = ContextVar("convosensei_conversation", default=None)


@contextmanager
def conversation(
    conversation_id: str, *, user_id: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None
) -> Iterator[ConversationScope]:
    """Record wrapped LLM calls made inside the block as turns of this conversation.

    Nested blocks override the outer one; asyncio tasks created inside inherit it.
    """
    token = _current.set(ConversationScope(str(conversation_id), user_id, dict(metadata or {})))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def current_conversation() -> Optional[ConversationScope]:
    """The innermost active conversation() scope, or None."""
    return _current.get()
