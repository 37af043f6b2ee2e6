"""wrap() on the real anthropic package, talking to the stand-in LLM server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic.types import Message
from conftest import recorded_messages

import convosensei_sdk


@pytest.fixture
def client(llm, sdk) -> anthropic.Anthropic:
    return convosensei_sdk.wrap(
        anthropic.Anthropic(api_key="sk-ant-test", base_url=llm.anthropic_base_url, max_retries=0),
        sdk_client=sdk,
    )


def _three_turns(client: anthropic.Anthropic) -> None:
    history: list[dict[str, Any]] = []
    with convosensei_sdk.conversation("claude-1", user_id="u-1"):
        for turn, text in enumerate(["hello", "tell me more", "thanks"]):
            history.append({"role": "user", "content": text})
            if turn == 1:
                events = client.messages.create(
                    model="claude-test", max_tokens=64, messages=history, stream=True
                )
                reply = "".join(e.delta.text for e in events if e.type == "content_block_delta")
            else:
                result = client.messages.create(model="claude-test", max_tokens=64, messages=history)
                reply = result.content[0].text
            history.append({"role": "assistant", "content": reply})


def test_a_wrapped_call_returns_the_providers_own_result_object(client):
    result = client.messages.create(
        model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert isinstance(result, Message)


def test_a_three_turn_conversation_with_one_streamed_turn_records_six_messages(client, sdk, ingest):
    _three_turns(client)
    recorded = recorded_messages(sdk, ingest)
    assert [(m["external_id"], m["role"]) for m in recorded] == [
        ("claude-1", r) for r in ["user", "assistant"] * 3
    ]


def test_every_recorded_reply_carries_model_latency_and_token_counts(client, sdk, ingest):
    _three_turns(client)
    replies = [m["metadata"] for m in recorded_messages(sdk, ingest) if m["role"] == "assistant"]
    assert [
        (r["model"], r["latency_ms"] > 0, r["input_tokens"] > 0, r["output_tokens"] > 0) for r in replies
    ] == [("claude-test", True, True, True)] * 3


def test_the_conversation_scope_user_id_is_sent_with_the_conversation(client, sdk, ingest):
    _three_turns(client)
    sdk.flush(timeout=5)
    assert {c.get("user_id") for r in ingest.accepted_requests() for c in r.body["conversations"]} == {"u-1"}


def test_the_system_prompt_is_recorded_once_across_turns(client, sdk, ingest):
    history = [{"role": "user", "content": "one"}]
    first = client.messages.create(
        model="claude-test", max_tokens=8, system="be kind", messages=history, convosensei_conversation_id="s"
    )
    history += [{"role": "assistant", "content": first.content[0].text}, {"role": "user", "content": "two"}]
    client.messages.create(
        model="claude-test", max_tokens=8, system="be kind", messages=history, convosensei_conversation_id="s"
    )
    assert [m["content"] for m in recorded_messages(sdk, ingest) if m["role"] == "system"] == ["be kind"]


def test_the_messages_stream_helper_is_recorded_when_the_block_ends(client, sdk, ingest):
    with client.messages.stream(
        model="claude-test",
        max_tokens=8,
        messages=[{"role": "user", "content": "hi"}],
        convosensei_conversation_id="m",
    ) as stream:
        text = "".join(stream.text_stream)
    reply = next(m for m in recorded_messages(sdk, ingest) if m["role"] == "assistant")
    assert (reply["content"], reply["metadata"]["stream"]) == (text, True)


def test_a_failure_while_instrumenting_a_stream_is_logged_and_the_stream_reads(client, monkeypatch, caplog):
    # The SDK's rule: recording never breaks the caller's own call, a stream included.
    from convosensei_sdk.wrappers import _common

    def broken(stream, recorder):
        raise RuntimeError("instrumentation broke")

    monkeypatch.setattr(_common, "instrument_stream", broken)
    with caplog.at_level("DEBUG", logger="convosensei_sdk"):
        events = client.messages.create(
            model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert isinstance(events, anthropic.Stream)
    assert text
    assert any(r.message == "convosensei.record_failed" and r.exc_info for r in caplog.records)


def test_an_api_error_is_re_raised_unchanged(client, llm):
    plain = anthropic.Anthropic(api_key="sk-ant-test", base_url=llm.anthropic_base_url, max_retries=0)
    llm.fail_next(400, "prompt is on fire")
    with pytest.raises(anthropic.BadRequestError) as expected:
        plain.messages.create(model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    llm.fail_next(400, "prompt is on fire")
    with pytest.raises(anthropic.BadRequestError) as wrapped:
        client.messages.create(
            model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert (type(wrapped.value), str(wrapped.value), wrapped.value.body) == (
        type(expected.value),
        str(expected.value),
        expected.value.body,
    )


def test_an_api_error_is_recorded_on_the_user_message(client, sdk, ingest, llm):
    llm.fail_next(400, "prompt is on fire")
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    (recorded,) = recorded_messages(sdk, ingest)
    assert (
        recorded["role"],
        recorded["metadata"]["error"]["type"],
        recorded["metadata"]["error"]["status_code"],
    ) == (
        "user",
        "BadRequestError",
        400,
    )


def test_a_user_turn_of_only_tool_results_is_recorded_as_a_tool_message(client, sdk, ingest):
    history = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ]
    client.messages.create(
        model="claude-test", max_tokens=8, messages=history, convosensei_conversation_id="t"
    )
    recorded = recorded_messages(sdk, ingest)
    assert (recorded[0]["role"], recorded[0]["content"]) == ("tool", "sunny")


def test_the_async_messages_stream_helper_is_recorded(llm, sdk, ingest):
    client = convosensei_sdk.wrap(
        anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=llm.anthropic_base_url, max_retries=0),
        sdk_client=sdk,
    )

    async def main() -> None:
        with convosensei_sdk.conversation("async-1"):
            async with client.messages.stream(
                model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                async for _ in stream.text_stream:
                    pass
        await client.close()

    asyncio.run(main())
    assert sorted((m["external_id"], m["role"]) for m in recorded_messages(sdk, ingest)) == [
        ("async-1", "assistant"),
        ("async-1", "user"),
    ]
