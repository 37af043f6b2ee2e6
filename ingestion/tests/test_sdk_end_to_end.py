"""The Python SDK, wrapping the real openai and anthropic clients, against the live Django server."""

import importlib.util
from pathlib import Path

import anthropic
import convosensei_sdk
import openai
import pytest

from conversations.models import Conversation, Message

LLM_STANDIN = Path(__file__).resolve().parents[2] / "sdk" / "python" / "tests" / "llm_standin.py"


def _llm_standin_class():
    spec = importlib.util.spec_from_file_location("llm_standin", LLM_STANDIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LLMStandIn


@pytest.mark.django_db(transaction=True)
def test_three_wrapped_llm_turns_arrive_as_six_messages_exactly_once(live_server, api_key):
    _, key = api_key
    sdk = convosensei_sdk.Client(api_key=key, base_url=live_server.url, environment="e2e")
    with _llm_standin_class()() as llm:
        gpt = convosensei_sdk.wrap(openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url), sdk_client=sdk)
        claude = convosensei_sdk.wrap(
            anthropic.Anthropic(api_key="sk-test", base_url=llm.anthropic_base_url), sdk_client=sdk
        )
        history = [{"role": "user", "content": "Where is my order 4711?"}]
        with convosensei_sdk.conversation("e2e-support-1", user_id="customer-17"):
            first = gpt.chat.completions.create(model="gpt-4o-mini", messages=history)
            history += [
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "Can you send it faster?"},
            ]
            stream = gpt.chat.completions.create(
                model="gpt-4o-mini", messages=history, stream=True, stream_options={"include_usage": True}
            )
            streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
            history += [{"role": "assistant", "content": streamed}, {"role": "user", "content": "Thanks, bye"}]
            claude.messages.create(model="claude-test", max_tokens=100, messages=history)
        assert sdk.flush(timeout=20)
    sdk.shutdown(timeout=5)

    conversation = Conversation.objects.get(external_id="e2e-support-1")
    messages = list(Message.objects.filter(conversation=conversation).order_by("timestamp", "position"))
    assert Conversation.objects.count() == 1
    assert [m.role for m in messages] == ["user", "assistant"] * 3
    assert len({m.dedupe_key for m in messages}) == 6
    assert (conversation.environment, conversation.end_user_id) == ("e2e", "customer-17")
    replies = [m.metadata for m in messages if m.role == "assistant"]
    assert [r["model"] for r in replies] == ["gpt-4o-mini", "gpt-4o-mini", "claude-test"]
    assert [r["stream"] for r in replies] == [False, True, False]
    assert all(r["latency_ms"] >= 0 and r["output_tokens"] > 0 for r in replies)
    assert sdk.stats().sent >= 3


@pytest.mark.django_db(transaction=True)
def test_the_sdk_hands_on_error_the_servers_field_errors_for_a_refused_conversation(live_server, api_key):
    _, key = api_key
    errors = []
    sdk = convosensei_sdk.Client(
        api_key=key, base_url=live_server.url, on_error=lambda error, items: errors.append(error)
    )
    sdk.track(
        conversation_id="e2e-future", messages=[{"role": "user", "content": "hi", "timestamp": "2099-01-01T00:00:00Z"}]
    )
    assert sdk.flush(timeout=20)
    sdk.shutdown(timeout=5)

    [error] = errors
    [reason] = error.field_errors["messages.0.timestamp"]
    assert (error.status, error.code, list(error.field_errors)) == (400, "validation_error", ["messages.0.timestamp"])
    assert reason.startswith("The timestamp is more than 300 seconds ahead of the server's clock")
    assert str(error).startswith("The conversation has invalid fields. messages.0.timestamp: The timestamp is")
