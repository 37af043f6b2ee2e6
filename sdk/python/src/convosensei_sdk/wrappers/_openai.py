"""Readers for openai's chat.completions and responses endpoints (requests, results, stream items)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from ._common import ApiSpec, InputMessage, Reply, get, readable_messages, text_of

_ROLE = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


def _tool_call_names(tool_calls: Any) -> list[str]:
    names = []
    for call in tool_calls or []:
        name = get(get(call, "function"), "name") or get(call, "name")
        if name:
            names.append(str(name))
    return names


# ------------------------------------------------------------------------------------ chat.completions


def chat_inputs(kwargs: Mapping[str, Any]) -> Optional[list[InputMessage]]:
    messages = readable_messages(kwargs.get("messages"))
    if messages is None:
        return None
    out = []
    for message in messages:
        role = _ROLE.get(str(get(message, "role")))
        if role is None:
            continue
        metadata: dict[str, Any] = {}
        names = _tool_call_names(get(message, "tool_calls"))
        if names:
            metadata["tool_calls"] = names
        call_id = get(message, "tool_call_id")
        if call_id:
            metadata["tool_call_id"] = str(call_id)
        out.append(InputMessage(role, text_of(get(message, "content")), metadata))
    return out


def chat_result(result: Any) -> Optional[Reply]:
    choices = getattr(result, "choices", None)
    if choices is None:
        return None  # not a ChatCompletion (e.g. a raw response): leave it unrecorded
    reply = Reply(model=getattr(result, "model", None), response_id=getattr(result, "id", None))
    if choices:
        message = choices[0].message
        reply.text = text_of(message.content) or (getattr(message, "refusal", None) or "")
        reply.tool_calls = _tool_call_names(getattr(message, "tool_calls", None))
        reply.finish_reason = choices[0].finish_reason
    _chat_usage(reply, getattr(result, "usage", None))
    return reply


def _chat_usage(reply: Reply, usage: Any) -> None:
    if usage is not None:
        reply.input_tokens = getattr(usage, "prompt_tokens", None)
        reply.output_tokens = getattr(usage, "completion_tokens", None)
        reply.total_tokens = getattr(usage, "total_tokens", None)


def chat_chunk(reply: Reply, chunk: Any) -> None:
    reply.model = getattr(chunk, "model", None) or reply.model
    reply.response_id = getattr(chunk, "id", None) or reply.response_id
    for choice in getattr(chunk, "choices", None) or []:
        if getattr(choice, "index", 0) != 0:
            continue  # n>1: the first choice is the one a chat UI shows
        delta = choice.delta
        if delta is not None:
            if delta.content:
                reply.text += delta.content
            reply.tool_calls.extend(_tool_call_names(getattr(delta, "tool_calls", None)))
        if choice.finish_reason:
            reply.finish_reason = choice.finish_reason
    # Usage only arrives when the caller asked for stream_options={"include_usage": True}; the wrapper
    # does not add it, since that would change the chunks the caller receives.
    _chat_usage(reply, getattr(chunk, "usage", None))


CHAT_COMPLETIONS = ApiSpec(
    provider="openai",
    api="chat.completions",
    inputs=chat_inputs,
    salt=lambda kwargs: "",
    result=chat_result,
    stream_item=chat_chunk,
)


# ------------------------------------------------------------------------------------ responses


def responses_inputs(kwargs: Mapping[str, Any]) -> Optional[list[InputMessage]]:
    out: list[InputMessage] = []
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append(InputMessage("system", instructions))
    value = kwargs.get("input")
    if isinstance(value, str):
        out.append(InputMessage("user", value))
        return out
    items = readable_messages(value)
    if items is None:
        return out or None
    for item in items:
        kind = get(item, "type")
        role = get(item, "role")
        if kind == "function_call_output":
            output = get(item, "output")
            out.append(
                InputMessage("tool", text_of(output), {"tool_call_id": str(get(item, "call_id") or "")})
            )
        elif kind == "function_call":
            out.append(InputMessage("assistant", "", {"tool_calls": [str(get(item, "name") or "")]}))
        elif role in _ROLE and kind in (None, "message"):
            out.append(InputMessage(_ROLE[role], text_of(get(item, "content"))))
    return out


def responses_salt(kwargs: Mapping[str, Any]) -> str:
    # With server-side state the input holds only the new items and positions restart at 0 each call,
    # so the previous response id keeps "the same text at position 0" of different turns apart.
    previous = kwargs.get("previous_response_id")
    return str(previous) if isinstance(previous, str) else ""


def responses_result(result: Any) -> Optional[Reply]:
    if getattr(result, "output", None) is None:
        return None
    reply = Reply(model=getattr(result, "model", None), response_id=getattr(result, "id", None))
    _responses_fill(reply, result, with_text=True)
    return reply


def _responses_fill(reply: Reply, response: Any, with_text: bool) -> None:
    if with_text:
        try:
            reply.text = response.output_text
        except Exception:
            reply.text = ""
    reply.model = getattr(response, "model", None) or reply.model
    reply.response_id = getattr(response, "id", None) or reply.response_id
    reply.finish_reason = getattr(response, "status", None) or reply.finish_reason
    names = [
        str(get(item, "name"))
        for item in getattr(response, "output", None) or []
        if get(item, "type") == "function_call"
    ]
    if names:
        reply.tool_calls = names
    usage = getattr(response, "usage", None)
    if usage is not None:
        reply.input_tokens = getattr(usage, "input_tokens", None)
        reply.output_tokens = getattr(usage, "output_tokens", None)
        reply.total_tokens = getattr(usage, "total_tokens", None)


def responses_event(reply: Reply, event: Any) -> None:
    kind = getattr(event, "type", None)
    if kind == "response.output_text.delta":
        reply.text += getattr(event, "delta", "") or ""
    elif kind in ("response.created", "response.in_progress"):
        _responses_fill(reply, event.response, with_text=False)
    elif kind in ("response.completed", "response.incomplete", "response.failed"):
        _responses_fill(reply, event.response, with_text=not reply.text)


RESPONSES = ApiSpec(
    provider="openai",
    api="responses",
    inputs=responses_inputs,
    salt=responses_salt,
    result=responses_result,
    stream_item=responses_event,
)
