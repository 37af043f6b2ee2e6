"""wrap(client): record every call of an openai or anthropic client as a turn of a conversation.

The client is instrumented in place and returned, so `wrap(client) is client`, isinstance() checks, every
attribute and every return object stay exactly what the provider SDK gives.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from . import _anthropic, _openai
from ._common import CONVERSATION_KWARG, patch_method, record_error, record_result, start_turn

if TYPE_CHECKING:
    from ..client import Client

logger = logging.getLogger("convosensei_sdk")

T = TypeVar("T")

__all__ = ["CONVERSATION_KWARG", "wrap"]


def _is_async(resource: Any) -> bool:
    # The providers' create() methods hide `async def` behind a plain decorator, so the resource class
    # (AsyncCompletions, AsyncMessages, ...) is the reliable signal.
    return type(resource).__name__.startswith("Async")


def wrap(client: T, *, sdk_client: Optional[Client] = None) -> T:
    """Instrument an openai.OpenAI/AsyncOpenAI or anthropic.Anthropic/AsyncAnthropic client in place.

    Calls record through `sdk_client`, or the default client (looked up at call time, so wrap() may run
    before init()). Returns the same client. Raises TypeError for an object that is neither provider's
    client, a programming error.
    """
    if getattr(client, "__convosensei_wrapped__", False):
        return client
    chat = getattr(getattr(client, "chat", None), "completions", None)
    messages = getattr(client, "messages", None)
    if chat is not None and hasattr(chat, "create"):
        patch_method(chat, "create", _openai.CHAT_COMPLETIONS, sdk_client, _is_async(chat))
        responses = getattr(client, "responses", None)
        if responses is not None and hasattr(responses, "create"):
            patch_method(responses, "create", _openai.RESPONSES, sdk_client, _is_async(responses))
    elif messages is not None and hasattr(messages, "create"):
        patch_method(messages, "create", _anthropic.MESSAGES, sdk_client, _is_async(messages))
        _patch_anthropic_stream(messages, sdk_client)
    else:
        raise TypeError(f"wrap() supports openai and anthropic clients, got {type(client).__name__}")
    _patch_copies(client, sdk_client)
    with contextlib.suppress(Exception):  # a client with __slots__ just gets patched again next time
        client.__convosensei_wrapped__ = True  # type: ignore[attr-defined]
    return client


def _patch_copies(client: Any, sdk_client: Optional[Client]) -> None:
    # with_options()/copy() build a new client from scratch; wrapping their result keeps
    # `wrap(client).with_options(timeout=5)` recorded too.
    for name in ("copy", "with_options"):
        original = getattr(client, name, None)
        if original is None:
            continue

        def make(original: Any) -> Any:
            @functools.wraps(original)
            def copying(*args: Any, **kwargs: Any) -> Any:
                return wrap(original(*args, **kwargs), sdk_client=sdk_client)

            return copying

        try:
            setattr(client, name, make(original))
        except Exception:
            logger.debug("convosensei.patch_copy_failed", exc_info=True)


def _patch_anthropic_stream(messages: Any, sdk_client: Optional[Client]) -> None:
    """messages.stream() returns a context manager that sends the request on __enter__; the request
    callable is swapped on the manager instance so the raw event stream is observed like create(stream=True).
    """
    original = getattr(messages, "stream", None)
    if original is None or getattr(original, "__convosensei_wrapped__", False):
        return
    is_async = _is_async(messages)

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Any:
        conversation_id = kwargs.pop(CONVERSATION_KWARG, None)
        manager = original(*args, **kwargs)
        try:
            _instrument_manager(manager, dict(kwargs, stream=True), conversation_id, sdk_client, is_async)
        except Exception:
            logger.debug("convosensei.stream_manager_patch_failed", exc_info=True)
        return manager

    stream.__convosensei_wrapped__ = True  # type: ignore[attr-defined]
    messages.stream = stream


def _instrument_manager(
    manager: Any,
    kwargs: Mapping[str, Any],
    conversation_id: Any,
    sdk_client: Optional[Client],
    is_async: bool,
) -> None:
    attr = f"_{type(manager).__name__}__api_request"
    request = getattr(manager, attr, None)
    if request is None:
        return  # a provider SDK version with another shape: left unrecorded rather than broken
    spec = _anthropic.MESSAGES

    if is_async:

        async def instrumented_async() -> Any:
            turn = start_turn(spec, kwargs, conversation_id, sdk_client)
            try:
                raw = await request
            except Exception as exc:
                record_error(turn, exc)
                raise
            return record_result(spec, turn, raw)

        setattr(manager, attr, instrumented_async())
    else:

        def instrumented() -> Any:
            turn = start_turn(spec, kwargs, conversation_id, sdk_client)
            try:
                raw = request()
            except Exception as exc:
                record_error(turn, exc)
                raise
            return record_result(spec, turn, raw)

        setattr(manager, attr, instrumented)
