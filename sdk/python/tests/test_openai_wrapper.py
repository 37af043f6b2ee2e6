"""wrap() on the real openai package, talking to the stand-in LLM server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from conftest import recorded_messages
from openai.types.chat import ChatCompletion

import convosensei_sdk


@pytest.fixture
def client(llm, sdk) -> openai.OpenAI:
    return convosensei_sdk.wrap(
        openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url, max_retries=0), sdk_client=sdk
    )


def _three_turns(client: openai.OpenAI) -> None:
    history: list[dict[str, Any]] = []
    with convosensei_sdk.conversation("chat-1"):
        for turn, text in enumerate(["hello", "tell me more", "thanks"]):
            history.append({"role": "user", "content": text})
            if turn == 1:
                stream = client.chat.completions.create(
                    model="gpt-test", messages=history, stream=True, stream_options={"include_usage": True}
                )
                reply = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            else:
                reply = (
                    client.chat.completions.create(model="gpt-test", messages=history)
                    .choices[0]
                    .message.content
                )
            history.append({"role": "assistant", "content": reply})


def test_wrap_returns_the_same_client_object(llm, sdk):
    original = openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url)
    assert convosensei_sdk.wrap(original, sdk_client=sdk) is original


def test_a_wrapped_call_returns_the_providers_own_result_object(client):
    result = client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert isinstance(result, ChatCompletion)


def test_a_client_copied_with_with_options_is_recorded_too(client, sdk, ingest):
    copy = client.with_options(timeout=5)
    copy.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], convosensei_conversation_id="copy"
    )
    assert {m["external_id"] for m in recorded_messages(sdk, ingest)} == {"copy"}


def test_a_three_turn_conversation_with_one_streamed_turn_records_six_messages(client, sdk, ingest):
    _three_turns(client)
    recorded = recorded_messages(sdk, ingest)
    assert [(m["external_id"], m["role"]) for m in recorded] == [
        ("chat-1", r) for r in ["user", "assistant"] * 3
    ]


def test_every_recorded_reply_carries_model_latency_and_token_counts(client, sdk, ingest):
    _three_turns(client)
    replies = [m["metadata"] for m in recorded_messages(sdk, ingest) if m["role"] == "assistant"]
    assert [
        (r["model"], r["latency_ms"] > 0, r["input_tokens"] > 0, r["output_tokens"] > 0) for r in replies
    ] == [("gpt-test", True, True, True)] * 3


def test_the_streamed_turn_is_marked_as_streamed_with_its_full_text(client, sdk, ingest):
    _three_turns(client)
    streamed = [m for m in recorded_messages(sdk, ingest) if m.get("metadata", {}).get("stream")]
    assert [m["content"] for m in streamed] == ["Echo 2: tell me more"]


def test_replaying_the_same_call_adds_only_the_new_reply(client, sdk, ingest):
    history = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-test", messages=history, convosensei_conversation_id="c")
    client.chat.completions.create(model="gpt-test", messages=history, convosensei_conversation_id="c")
    sdk.flush(timeout=5)
    assert sorted(m["role"] for m in ingest.messages.values()) == ["assistant", "assistant", "user"]


def test_the_conversation_id_keyword_is_removed_before_the_real_call(client, sdk, ingest, llm):
    client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], convosensei_conversation_id="kw-1"
    )
    sdk.flush(timeout=5)
    assert "convosensei_conversation_id" not in llm.requests[0]["body"]
    assert {m["external_id"] for m in ingest.messages.values()} == {"kw-1"}


def test_an_api_error_is_re_raised_unchanged(client, llm):
    plain = openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url, max_retries=0)
    llm.fail_next(400, "model is on fire")
    with pytest.raises(openai.BadRequestError) as expected:
        plain.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    llm.fail_next(400, "model is on fire")
    with pytest.raises(openai.BadRequestError) as wrapped:
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert (type(wrapped.value), str(wrapped.value), wrapped.value.body) == (
        type(expected.value),
        str(expected.value),
        expected.value.body,
    )


def test_an_api_error_is_recorded_on_the_user_message(client, sdk, ingest, llm):
    llm.fail_next(400, "model is on fire")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
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


def test_the_responses_api_is_recorded_with_its_instructions_as_a_system_message(client, sdk, ingest):
    client.responses.create(
        model="gpt-r", input="hi", instructions="be brief", convosensei_conversation_id="r"
    )
    recorded = recorded_messages(sdk, ingest)
    assert sorted((m["role"], m["content"]) for m in recorded) == [
        ("assistant", "Echo 1: hi"),
        ("system", "be brief"),
        ("user", "hi"),
    ]


def test_a_streamed_responses_call_is_recorded_with_usage_once_consumed(client, sdk, ingest):
    stream = client.responses.create(
        model="gpt-r", input="stream me", stream=True, convosensei_conversation_id="r"
    )
    for _ in stream:
        pass
    reply = next(m for m in recorded_messages(sdk, ingest) if m["role"] == "assistant")
    assert (reply["content"], reply["metadata"]["output_tokens"]) == ("Echo 1: stream me", 4)


def test_a_stream_closed_before_the_end_is_recorded_as_closed_early(client, sdk, ingest):
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "a long answer please"}], stream=True
    )
    next(iter(stream))
    stream.close()
    reply = next(m for m in recorded_messages(sdk, ingest) if m["role"] == "assistant")
    assert reply["metadata"]["stream_closed_early"] is True


def test_an_unconsumed_stream_records_nothing_until_it_is_consumed(client, sdk, ingest):
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
    )
    sdk.flush(timeout=5)
    before = len(ingest.messages)
    list(stream)
    sdk.flush(timeout=5)
    assert (before, len(ingest.messages)) == (0, 2)


def test_async_client_calls_in_concurrent_tasks_keep_their_own_conversations(llm, sdk, ingest):
    client = convosensei_sdk.wrap(
        openai.AsyncOpenAI(api_key="sk-test", base_url=llm.openai_base_url, max_retries=0), sdk_client=sdk
    )

    async def chat(conversation_id: str) -> None:
        with convosensei_sdk.conversation(conversation_id):
            await asyncio.sleep(0)
            stream = await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": conversation_id}], stream=True
            )
            async for _ in stream:
                pass

    async def main() -> None:
        await asyncio.gather(chat("a"), chat("b"), chat("c"))
        await client.close()

    asyncio.run(main())
    recorded = recorded_messages(sdk, ingest)
    assert sorted(
        (m["external_id"], m["role"]) for m in recorded if m["content"].endswith(m["external_id"])
    ) == [(c, r) for c in "abc" for r in ("assistant", "user")]
