"""Readers for anthropic's messages endpoint (requests, results, stream events)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ._common import ApiSpec, InputMessage, Reply, get, readable_messages, text_of


def _tool_use_names(content: Any) -> list[str]:
    if isinstance(content, str) or not isinstance(content, Sequence):
        return []
    return [
        str(get(block, "name")) for block in content if get(block, "type") in ("tool_use", "server_tool_use")
    ]


def _is_tool_results(content: Any) -> bool:
    if isinstance(content, str) or not isinstance(content, Sequence) or not content:
        return False
    return all(get(block, "type") == "tool_result" for block in content)


def messages_inputs(kwargs: Mapping[str, Any]) -> Optional[list[InputMessage]]:
    messages = readable_messages(kwargs.get("messages"))
    if messages is None:
        return None
    out: list[InputMessage] = []
    system = kwargs.get("system")
    if system:
        # Anthropic passes the system prompt beside the messages; it is position 0 of the conversation.
        out.append(InputMessage("system", text_of(system)))
    for message in messages:
        role = get(message, "role")
        content = get(message, "content")
        if role == "assistant":
            names = _tool_use_names(content)
            out.append(InputMessage("assistant", text_of(content), {"tool_calls": names} if names else {}))
        elif role == "user":
            # A user turn made only of tool results is the tool speaking, not the person.
            out.append(InputMessage("tool" if _is_tool_results(content) else "user", text_of(content)))
    return out


def _usage(reply: Reply, usage: Any) -> None:
    if usage is None:
        return
    input_tokens = getattr(usage, "input_tokens", None)
    if input_tokens is not None:
        # Cached prompt tokens are billed input too; without them a cached prompt looks free.
        input_tokens += (getattr(usage, "cache_read_input_tokens", None) or 0) + (
            getattr(usage, "cache_creation_input_tokens", None) or 0
        )
        reply.input_tokens = input_tokens
    output_tokens = getattr(usage, "output_tokens", None)
    if output_tokens is not None:
        reply.output_tokens = output_tokens


def messages_result(result: Any) -> Optional[Reply]:
    content = getattr(result, "content", None)
    if content is None or not hasattr(result, "stop_reason"):
        return None  # not a Message (e.g. a raw response): leave it unrecorded
    reply = Reply(
        text=text_of(content),
        model=getattr(result, "model", None),
        response_id=getattr(result, "id", None),
        finish_reason=getattr(result, "stop_reason", None),
        tool_calls=_tool_use_names(content),
    )
    _usage(reply, getattr(result, "usage", None))
    return reply


def messages_event(reply: Reply, event: Any) -> None:
    kind = getattr(event, "type", None)
    if kind == "message_start":
        message = event.message
        reply.model = getattr(message, "model", None) or reply.model
        reply.response_id = getattr(message, "id", None) or reply.response_id
        _usage(reply, getattr(message, "usage", None))
    elif kind == "content_block_start":
        block = event.content_block
        if getattr(block, "type", None) in ("tool_use", "server_tool_use"):
            reply.tool_calls.append(str(getattr(block, "name", "")))
    elif kind == "content_block_delta":
        delta = event.delta
        if getattr(delta, "type", None) == "text_delta":
            reply.text += delta.text
    elif kind == "message_delta":
        reply.finish_reason = getattr(event.delta, "stop_reason", None) or reply.finish_reason
        # message_delta usage is cumulative, so it replaces rather than adds.
        _usage(reply, getattr(event, "usage", None))


MESSAGES = ApiSpec(
    provider="anthropic",
    api="messages",
    inputs=messages_inputs,
    salt=lambda kwargs: "",
    result=messages_result,
    stream_item=messages_event,
)
