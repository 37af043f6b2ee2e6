"""What every provider wrapper shares: a Turn (one LLM call), stream instrumentation, safe patching.

Recording must never change what the caller sees: the original return object is handed back untouched
(streams are instrumented in place), exceptions are re-raised as the same object, and any failure inside
the recording itself is logged and swallowed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._context import current_conversation

if TYPE_CHECKING:
    from ..client import Client

logger = logging.getLogger("convosensei_sdk")

CONVERSATION_KWARG = "convosensei_conversation_id"
_ERROR_MESSAGE_LIMIT = 2000


def get(obj: Any, name: str, default: Any = None) -> Any:
    """Read a field from a dict (request params) or an attribute from a pydantic object (responses)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def text_of(content: Any) -> str:
    """Flatten message content (a str or a list of typed parts) to the text a reader would see."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        return ""
    texts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        kind = get(part, "type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(str(get(part, "text") or ""))
        elif kind == "refusal":
            texts.append(str(get(part, "refusal") or ""))
        elif kind == "tool_result":
            texts.append(text_of(get(part, "content")))
        elif kind in ("image", "image_url", "input_image"):
            texts.append("[image]")
        elif kind in ("document", "file", "input_file"):
            texts.append("[file]")
        # tool_use / thinking blocks are not conversation text; tool calls go into metadata instead.
    return "\n".join(t for t in texts if t)


@dataclass
class InputMessage:
    role: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    text: str = ""
    model: Optional[str] = None
    response_id: Optional[str] = None
    finish_reason: Optional[str] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    tool_calls: list[str] = field(default_factory=list)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class Turn:
    """One wrapped LLM call: the messages it sends and the reply it gets, recorded once."""

    def __init__(
        self,
        *,
        provider: str,
        api: str,
        inputs: Optional[list[InputMessage]],
        model: Optional[str],
        stream: bool,
        salt: str,
        conversation_id: Optional[str],
        sdk_client: Optional[Client],
    ) -> None:
        scope = current_conversation()
        if conversation_id is None and scope is not None:
            conversation_id = scope.conversation_id
        # Without an id the call is its own one-turn conversation, rather than being lost.
        self.conversation_id = str(conversation_id) if conversation_id is not None else uuid.uuid4().hex
        self.user_id = scope.user_id if scope is not None else None
        self.conversation_metadata = dict(scope.metadata) if scope is not None else None
        self.provider = provider
        self.api = api
        self.inputs = inputs
        self.requested_model = model
        self.stream = stream
        self.salt = salt
        self.sdk_client = sdk_client
        self.started = time.perf_counter()
        self.started_at = datetime.now(timezone.utc).isoformat()
        self.first_token: Optional[float] = None
        self.done = False

    def message_id(self, position: int, role: str, content: str) -> str:
        # Stable across calls: a history re-sent on every call hashes to the same ids, so the server
        # dedupes it even if a message is sent twice.
        key = "\x1f".join((self.conversation_id, self.salt, str(position), role, content))
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _new_inputs(self) -> list[dict[str, Any]]:
        """Only the messages after the last assistant message: earlier ones were recorded by earlier turns."""
        if not self.inputs:
            return []
        last_assistant = -1
        for index, message in enumerate(self.inputs):
            if message.role == "assistant":
                last_assistant = index
        out = []
        for position in range(last_assistant + 1, len(self.inputs)):
            message = self.inputs[position]
            entry: dict[str, Any] = {
                "id": self.message_id(position, message.role, message.content),
                "role": message.role,
                "content": message.content,
                "timestamp": self.started_at,
            }
            if message.metadata:
                entry["metadata"] = dict(message.metadata)
            out.append(entry)
        return out

    def _call_metadata(self, model: Optional[str]) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "api": self.api,
            "stream": self.stream,
            "model": model,
            "latency_ms": _ms(time.perf_counter() - self.started),
        }

    def _reply_message(self, text: str, metadata: dict[str, Any]) -> dict[str, Any]:
        # The reply comes after every input message, so its position is one past them.
        position = len(self.inputs) if self.inputs is not None else 0
        return {
            "id": self.message_id(position, "assistant", text),
            "role": "assistant",
            "content": text,
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "metadata": metadata,
        }

    def succeed(self, reply: Reply, **flags: Any) -> None:
        if self.done:
            return
        self.done = True
        metadata = self._call_metadata(reply.model or self.requested_model)
        if self.first_token is not None:
            metadata["time_to_first_token_ms"] = _ms(self.first_token - self.started)
        for name in ("input_tokens", "output_tokens", "total_tokens", "finish_reason", "response_id"):
            value = getattr(reply, name)
            if value is not None:
                metadata[name] = value
        if metadata.get("total_tokens") is None and reply.input_tokens is not None and reply.output_tokens:
            metadata["total_tokens"] = reply.input_tokens + reply.output_tokens
        if reply.tool_calls:
            metadata["tool_calls"] = list(reply.tool_calls)
        metadata.update(flags)
        messages = self._new_inputs()
        messages.append(self._reply_message(reply.text, metadata))
        self._track(messages)

    def fail(self, exc: BaseException, partial: Optional[Reply] = None) -> None:
        """Record the call's new messages with the error on the last of them (and any partial reply)."""
        if self.done:
            return
        self.done = True
        error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:_ERROR_MESSAGE_LIMIT]}
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            error["status_code"] = status
        metadata = self._call_metadata(self.requested_model)
        metadata["error"] = error
        messages = self._new_inputs()
        if partial is not None and partial.text:
            partial_metadata = {
                **metadata,
                "model": partial.model or self.requested_model,
                "incomplete": True,
            }
            messages.append(self._reply_message(partial.text, partial_metadata))
        elif messages:
            messages[-1]["metadata"] = {**messages[-1].get("metadata", {}), **metadata}
        if messages:
            self._track(messages)

    def _track(self, messages: list[dict[str, Any]]) -> None:
        client = self.sdk_client
        if client is None:
            from .. import get_client  # late: the package imports this module

            client = get_client()
        if client is None:
            return
        client.track(
            conversation_id=self.conversation_id,
            messages=messages,
            metadata=self.conversation_metadata or None,
            user_id=self.user_id,
        )


class StreamRecorder:
    """Accumulates a streamed reply and records the turn when the stream ends, fails or is closed."""

    def __init__(self, turn: Turn, accumulate: Callable[[Reply, Any], None]) -> None:
        self.turn = turn
        self.reply = Reply()
        self._accumulate = accumulate

    def observe(self, item: Any) -> None:
        try:
            if self.turn.first_token is None:
                self.turn.first_token = time.perf_counter()
            self._accumulate(self.reply, item)
        except Exception:
            logger.debug("convosensei.stream_observe_failed", exc_info=True)

    def finish(self, closed_early: bool = False) -> None:
        try:
            if closed_early:
                self.turn.succeed(self.reply, stream_closed_early=True)
            else:
                self.turn.succeed(self.reply)
        except Exception:
            logger.debug("convosensei.record_failed", exc_info=True)

    def fail(self, exc: BaseException) -> None:
        try:
            self.turn.fail(exc, self.reply)
        except Exception:
            logger.debug("convosensei.record_failed", exc_info=True)


def instrument_stream(stream: Any, recorder: StreamRecorder) -> Any:
    """Observe a provider SDK stream in place (same object back); unknown shapes are left untouched.

    Both openai and anthropic Streams iterate `self._iterator` and close through `self.close`, so
    swapping those two on the instance keeps isinstance(), every attribute and every helper working.
    """
    original = getattr(stream, "_iterator", None)
    if original is None:
        return stream
    if hasattr(original, "__anext__"):
        stream._iterator = _observe_async(original, recorder)
        original_aclose = stream.close

        async def close() -> Any:
            try:
                return await original_aclose()
            finally:
                recorder.finish(closed_early=True)

        stream.close = close
    else:
        stream._iterator = _observe_sync(original, recorder)
        original_close = stream.close

        def close_sync() -> Any:
            try:
                return original_close()
            finally:
                recorder.finish(closed_early=True)

        stream.close = close_sync
    # A stream abandoned mid-way (a `break` without close) is still recorded when it is collected.
    weakref.finalize(stream, recorder.finish, True)
    return stream


def _observe_sync(iterator: Any, recorder: StreamRecorder) -> Any:
    try:
        for item in iterator:
            recorder.observe(item)
            yield item
    except GeneratorExit:
        raise
    except BaseException as exc:
        recorder.fail(exc)
        raise
    recorder.finish()


async def _observe_async(iterator: Any, recorder: StreamRecorder) -> Any:
    try:
        async for item in iterator:
            recorder.observe(item)
            yield item
    except GeneratorExit:
        raise
    except BaseException as exc:
        recorder.fail(exc)
        raise
    recorder.finish()


@dataclass(frozen=True)
class ApiSpec:
    """How to read one provider endpoint: its request messages, its result and its stream items."""

    provider: str
    api: str
    inputs: Callable[[Mapping[str, Any]], Optional[list[InputMessage]]]
    salt: Callable[[Mapping[str, Any]], str]
    result: Callable[[Any], Optional[Reply]]
    stream_item: Callable[[Reply, Any], None]


def start_turn(spec: ApiSpec, kwargs: Mapping[str, Any], conversation_id: Any, sdk: Optional[Client]) -> Any:
    """A Turn for this call, or None if the request could not be read (the call then goes unrecorded)."""
    try:
        return Turn(
            provider=spec.provider,
            api=spec.api,
            inputs=spec.inputs(kwargs),
            model=kwargs.get("model") if isinstance(kwargs.get("model"), str) else None,
            stream=kwargs.get("stream") is True,
            salt=spec.salt(kwargs),
            conversation_id=conversation_id,
            sdk_client=sdk,
        )
    except Exception:
        logger.debug("convosensei.turn_start_failed", exc_info=True)
        return None


def record_result(spec: ApiSpec, turn: Optional[Turn], result: Any) -> Any:
    """Record a successful call; streams are instrumented in place. Always returns `result` itself."""
    if turn is None:
        return result
    try:
        if turn.stream and hasattr(result, "_iterator"):
            return instrument_stream(result, StreamRecorder(turn, spec.stream_item))
        reply = spec.result(result)
        if reply is not None:
            turn.succeed(reply)
    except Exception:
        logger.debug("convosensei.record_failed", exc_info=True)
    return result


def record_error(turn: Optional[Turn], exc: BaseException) -> None:
    if turn is None:
        return
    try:
        turn.fail(exc)
    except Exception:
        logger.debug("convosensei.record_failed", exc_info=True)


def patch_method(resource: Any, name: str, spec: ApiSpec, sdk: Optional[Client], is_async: bool) -> None:
    """Replace resource.<name> on the instance with a recording wrapper (idempotent)."""
    original = getattr(resource, name, None)
    if original is None or getattr(original, "__convosensei_wrapped__", False):
        return

    if is_async:

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            conversation_id = kwargs.pop(CONVERSATION_KWARG, None)
            turn = start_turn(spec, kwargs, conversation_id, sdk)
            try:
                result = await original(*args, **kwargs)
            except Exception as exc:
                record_error(turn, exc)
                raise
            return record_result(spec, turn, result)

    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            conversation_id = kwargs.pop(CONVERSATION_KWARG, None)
            turn = start_turn(spec, kwargs, conversation_id, sdk)
            try:
                result = original(*args, **kwargs)
            except Exception as exc:
                record_error(turn, exc)
                raise
            return record_result(spec, turn, result)

    wrapper.__convosensei_wrapped__ = True  # type: ignore[attr-defined]
    setattr(resource, name, wrapper)


def readable_messages(value: Any) -> Optional[Sequence[Any]]:
    """The request's message list if it can be read without consuming it (a generator cannot)."""
    if isinstance(value, (list, tuple)):
        return value
    return None
