"""track(), init() and configuration: what the caller's thread sees."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from conftest import API_KEY, message

import convosensei_sdk
from convosensei_sdk import Client, InvalidTrackError


def test_tracked_messages_reach_the_server(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message("hi"), message("hello!", role="assistant")])
    assert client.flush(timeout=5)
    assert sorted(m["content"] for m in ingest.messages.values()) == ["hello!", "hi"]


def test_messages_without_an_id_get_a_distinct_id_at_track_time(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message("same"), message("same")])
    client.flush(timeout=5)
    assert len(ingest.distinct_message_ids()) == 2


def test_a_transcript_tracked_again_with_its_timestamps_adds_each_message_once(make_client, ingest):
    client = make_client()
    history = [
        message("Where is my order?", timestamp="2026-11-26T09:00:00Z"),
        message("It shipped yesterday.", role="assistant", timestamp="2026-11-26T09:00:04Z"),
    ]
    client.track(conversation_id="c1", messages=history)
    later = message("Thanks", timestamp="2026-11-26T09:01:00Z")
    client.track(conversation_id="c1", messages=[*history, later])
    client.flush(timeout=5)
    assert len(ingest.distinct_message_ids()) == 3


def test_repeats_of_a_message_at_the_same_timestamp_stay_distinct(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message("ok", timestamp="2026-11-26T09:00:00Z")] * 2)
    client.flush(timeout=5)
    assert len(ingest.distinct_message_ids()) == 2


def test_client_supplied_message_ids_are_sent_unchanged(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message("hi", id="m-1")])
    client.flush(timeout=5)
    assert ingest.distinct_message_ids() == {"m-1"}


def test_environment_and_user_id_are_sent_with_the_conversation(make_client, ingest):
    client = make_client(environment="staging")
    client.track(conversation_id="c1", messages=[message()], user_id="u-7", metadata={"plan": "pro"})
    client.flush(timeout=5)
    sent = ingest.accepted_requests()[0].body["conversations"][0]
    assert (sent["environment"], sent["user_id"], sent["metadata"]) == ("staging", "u-7", {"plan": "pro"})


def test_naive_datetime_timestamps_are_sent_as_utc(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message(timestamp=datetime(2024, 5, 1, 12, 0, 0))])
    client.flush(timeout=5)
    assert next(iter(ingest.messages.values()))["timestamp"] == "2024-05-01T12:00:00+00:00"


def test_changing_a_message_after_track_does_not_change_what_is_sent(make_client, ingest):
    client = make_client(flush_interval=0.3)
    original = message("before", metadata={"k": "before"})
    client.track(conversation_id="c1", messages=[original])
    original["content"] = "after"
    original["metadata"]["k"] = "after"
    client.flush(timeout=5)
    sent = next(iter(ingest.messages.values()))
    assert (sent["content"], sent["metadata"]) == ("before", {"k": "before"})


@pytest.mark.parametrize(
    "bad",
    [
        {"conversation_id": "", "messages": [message()]},
        {"conversation_id": "c1", "messages": []},
        {"conversation_id": "c1", "messages": "hello"},
        {"conversation_id": "c1", "messages": [{"role": "robot", "content": "x"}]},
        {"conversation_id": "c1", "messages": [{"role": "user", "content": None}]},
        {"conversation_id": "c1", "messages": [message(timestamp=12345)]},
        {"conversation_id": "c1", "messages": [message()], "metadata": ["not", "a", "mapping"]},
    ],
)
def test_bad_track_input_is_counted_as_invalid_instead_of_raising(make_client, bad):
    client = make_client()
    assert client.track(**bad) is False
    assert client.stats().invalid == 1


def test_bad_track_input_is_reported_to_on_error(make_client):
    errors: list[Any] = []
    client = make_client(on_error=lambda error, items: errors.append(error))
    client.track(conversation_id="c1", messages=[{"role": "robot", "content": "x"}])
    assert [type(e) for e in errors] == [InvalidTrackError]
    # In the server's words, not a Python list.
    assert str(errors[0]) == "message role must be user, assistant, system or tool, got 'robot'"


def test_an_on_error_callback_that_raises_does_not_reach_the_caller(make_client):
    def explode(error: Exception, items: list[Any]) -> None:
        raise RuntimeError("callback bug")

    client = make_client(on_error=explode)
    assert client.track(conversation_id="c1", messages=[{"role": "robot", "content": "x"}]) is False


def test_sync_mode_sends_before_track_returns(make_client, ingest):
    client = make_client(sync_mode=True)
    assert client.track(conversation_id="c1", messages=[message()]) is True
    assert len(ingest.messages) == 1


def test_sync_mode_reports_a_refused_send_as_false(make_client, ingest):
    client = make_client(sync_mode=True)
    ingest.respond_next(400)
    assert client.track(conversation_id="c1", messages=[message()]) is False


def test_sync_mode_gives_up_within_shutdown_timeout_while_the_server_is_down(make_client, ingest):
    client = make_client(sync_mode=True, shutdown_timeout=1.0, backoff_base=0.2)
    ingest.respond_next(503, times=1000)
    started = time.monotonic()
    assert client.track(conversation_id="c1", messages=[message()]) is False
    assert time.monotonic() - started < 1.5


def test_sync_mode_says_it_gave_up_within_shutdown_timeout_not_that_it_shut_down(make_client, ingest):
    errors = []
    client = make_client(
        sync_mode=True, shutdown_timeout=1.0, backoff_base=0.2, on_error=lambda error, _: errors.append(error)
    )
    ingest.respond_next(503, times=1000)
    client.track(conversation_id="c1", messages=[message()])
    [error] = errors
    assert str(error).startswith("sync mode: gave up within shutdown_timeout (1 s): ")


def test_sync_mode_shuts_down_without_reporting_anything_undelivered(make_client, ingest, caplog):
    client = make_client(sync_mode=True)
    assert client.track(conversation_id="c1", messages=[message()]) is True
    with caplog.at_level("WARNING", logger="convosensei_sdk"):
        assert client.shutdown(timeout=1) is True
    assert not [r for r in caplog.records if r.getMessage().startswith("convosensei.shutdown_undelivered")]


def test_a_disabled_client_sends_nothing(make_client, ingest):
    client = make_client(disabled=True)
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=1)
    assert ingest.requests == []


def test_track_after_shutdown_is_counted_as_dropped(make_client):
    client = make_client()
    client.shutdown(timeout=1)
    client.track(conversation_id="c1", messages=[message()])
    assert client.stats().dropped == 1


def test_init_without_an_api_key_raises(monkeypatch):
    monkeypatch.delenv("CONVOSENSEI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="api_key"):
        Client(base_url="http://127.0.0.1:9")


def test_init_with_a_key_that_is_not_a_convosensei_key_raises():
    with pytest.raises(ValueError, match="cs_"):
        Client(api_key="sk-openai-key", base_url="http://127.0.0.1:9")


def test_init_with_a_non_http_base_url_raises():
    with pytest.raises(ValueError, match="base_url"):
        Client(api_key=API_KEY, base_url="ftp://example")


def test_settings_are_read_from_environment_variables(monkeypatch):
    monkeypatch.setenv("CONVOSENSEI_API_KEY", API_KEY)
    monkeypatch.setenv("CONVOSENSEI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CONVOSENSEI_ENVIRONMENT", "prod")
    monkeypatch.setenv("CONVOSENSEI_SYNC_MODE", "true")
    client = Client()
    assert (client.base_url, client.environment, client.sync_mode) == ("http://127.0.0.1:9", "prod", True)


def test_an_unclear_boolean_environment_variable_raises(monkeypatch):
    monkeypatch.setenv("CONVOSENSEI_SYNC_MODE", "yes please")
    with pytest.raises(ValueError, match="CONVOSENSEI_SYNC_MODE"):
        Client(api_key=API_KEY, base_url="http://127.0.0.1:9")


def test_module_level_track_sends_through_the_client_made_by_init(ingest):
    convosensei_sdk.init(api_key=API_KEY, base_url=ingest.url, flush_interval=0.05)
    try:
        convosensei_sdk.track(conversation_id="c1", messages=[message()])
        convosensei_sdk.flush(timeout=5)
        assert len(ingest.messages) == 1
    finally:
        convosensei_sdk.shutdown(timeout=2)


def test_module_level_track_without_init_or_environment_is_a_no_op(monkeypatch):
    monkeypatch.delenv("CONVOSENSEI_API_KEY", raising=False)
    monkeypatch.setattr(convosensei_sdk, "_default", None)
    assert convosensei_sdk.track(conversation_id="c1", messages=[message()]) is False
