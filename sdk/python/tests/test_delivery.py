"""The consumer thread: batching, compression, retries, bounded queue and bounded flush."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from conftest import API_KEY, message
from ingest_standin import IngestStandIn

from convosensei_sdk import Client, DeliveryError, QueueFullError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_many_tracks_are_sent_in_batches_of_at_most_batch_size(make_client, ingest):
    client = make_client(batch_size=10, flush_interval=0.5)
    for i in range(35):
        client.track(conversation_id=f"c{i}", messages=[message()])
    client.flush(timeout=5)
    sizes = [len(r.body["conversations"]) for r in ingest.accepted_requests()]
    assert sizes == [10, 10, 10, 5]


def test_a_batch_is_cut_before_it_would_exceed_max_batch_bytes(make_client, ingest):
    client = make_client(max_batch_bytes=10_000, flush_interval=0.5)
    for i in range(6):
        client.track(conversation_id=f"c{i}", messages=[message("x" * 3_000)])
    client.flush(timeout=5)
    assert [len(r.body["conversations"]) for r in ingest.accepted_requests()] == [3, 3]


def test_tracks_of_one_conversation_in_one_batch_are_merged_into_one_entry(make_client, ingest):
    client = make_client(flush_interval=0.5)
    for i in range(3):
        client.track(conversation_id="same", messages=[message(f"m{i}")])
    client.flush(timeout=5)
    entries = ingest.accepted_requests()[0].body["conversations"]
    assert [[m["content"] for m in e["messages"]] for e in entries] == [["m0", "m1", "m2"]]


def test_merging_stops_at_the_servers_limit_of_a_thousand_messages_per_entry(make_client, ingest):
    client = make_client(flush_interval=0.5)
    for _ in range(3):
        client.track(conversation_id="big", messages=[message() for _ in range(400)])
    client.flush(timeout=5)
    entries = ingest.accepted_requests()[0].body["conversations"]
    assert [len(e["messages"]) for e in entries] == [800, 400]


def test_a_track_with_more_messages_than_an_entry_takes_is_sent_in_parts(make_client, ingest):
    # A long conversation tracked whole was refused ("At most 1000 messages per conversation") and lost.
    client = make_client()
    client.track(conversation_id="long", messages=[message(f"turn {i}") for i in range(2500)])
    assert client.flush(timeout=5)
    entries = [entry for request in ingest.accepted_requests() for entry in request.body["conversations"]]
    assert [len(entry["messages"]) for entry in entries] == [1000, 1000, 500]
    assert len(ingest.distinct_message_ids()) == 2500
    assert (client.stats().sent, client.stats().failed) == (1, 0)


FUTURE = "2099-01-01T00:00:00Z"  # refused by the server (and the stand-in), not by track()


def test_a_track_whose_parts_are_all_refused_fails_once(make_client, ingest):
    errors = []
    client = make_client(on_error=lambda error, items: errors.append(items))
    messages = [message(f"turn {i}", timestamp=FUTURE) for i in range(1500)]
    client.track(conversation_id="long", messages=messages)
    assert client.flush(timeout=5)
    assert (client.stats().sent, client.stats().failed, len(errors)) == (0, 1, 1)


def test_a_track_with_one_part_refused_fails_once(make_client, ingest):
    errors = []
    client = make_client(on_error=lambda error, items: errors.append(items))
    messages = [message(f"turn {i}") for i in range(1000)] + [message("later", timestamp=FUTURE)]
    client.track(conversation_id="long", messages=messages)
    assert client.flush(timeout=5)
    assert (client.stats().sent, client.stats().failed, len(errors)) == (0, 1, 1)


def test_request_bodies_are_gzip_compressed(make_client, ingest):
    client = make_client()
    client.track(conversation_id="c1", messages=[message("compress me " * 100)])
    client.flush(timeout=5)
    request = ingest.accepted_requests()[0]
    assert request.headers["content-encoding"] == "gzip"


def test_gzip_can_be_turned_off(make_client, ingest):
    client = make_client(gzip=False)
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=5)
    assert "content-encoding" not in ingest.accepted_requests()[0].headers


def test_everything_is_delivered_exactly_once_after_the_server_was_down_for_five_seconds(make_client):
    port = _free_port()
    client = make_client(
        base_url=f"http://127.0.0.1:{port}", backoff_base=0.2, backoff_max=1.0, batch_size=20
    )
    for i in range(200):
        client.track(conversation_id=f"c{i % 7}", messages=[message(f"m{i}")])
    time.sleep(5.0)  # nothing listens on the port: every attempt is refused
    with IngestStandIn(api_key=API_KEY, port=port) as server:
        assert client.flush(timeout=15)
        assert (len(server.distinct_message_ids()), server.message_deliveries) == (200, 200)


def test_a_429_with_retry_after_delays_the_next_attempt_by_at_least_that_long(make_client, ingest):
    ingest.respond_next(429, headers={"Retry-After": "2"})
    client = make_client()
    client.track(conversation_id="c1", messages=[message()])
    assert client.flush(timeout=10)
    first, second = ingest.requests[0], ingest.requests[1]
    assert second.at - first.at >= 2.0


def test_a_503_is_retried_until_it_succeeds(make_client, ingest):
    ingest.respond_next(503, times=3)
    client = make_client()
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=10)
    assert (len(ingest.requests), client.stats().sent, client.stats().retries) == (4, 1, 3)


def test_a_400_is_not_retried_and_is_counted_as_failed(make_client, ingest):
    ingest.respond_next(400, body={"message": "bad", "code": "invalid", "details": {}})
    client = make_client()
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=5)
    time.sleep(0.3)  # room for a wrong retry to show up
    assert (len(ingest.requests), client.stats().failed) == (1, 1)


def test_a_refused_batch_is_reported_to_on_error_with_the_server_error_code(make_client, ingest):
    errors: list[Any] = []
    ingest.respond_next(
        401, body={"message": "invalid API key", "code": "authentication_failed", "details": {}}
    )
    client = make_client(on_error=lambda error, items: errors.append((error, len(items))))
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=5)
    assert [(type(e), e.status, e.code, n) for e, n in errors] == [
        (DeliveryError, 401, "authentication_failed", 1)
    ]


def test_a_conversation_rejected_inside_a_202_counts_as_failed_and_the_rest_as_sent(make_client, ingest):
    results = [
        {"index": 0, "status": "error", "error": {"message": "nope", "code": "validation_error"}},
        {"index": 1, "status": "ok"},
    ]
    ingest.respond_next(202, body={"results": results})
    client = make_client(flush_interval=0.5)
    client.track(conversation_id="c1", messages=[message()])
    client.track(conversation_id="c2", messages=[message()])
    client.flush(timeout=5)
    assert (client.stats().sent, client.stats().failed) == (1, 1)


def test_a_413_splits_the_batch_and_delivers_both_halves(make_client, ingest):
    ingest.respond_next(413)
    client = make_client(flush_interval=0.5)
    for i in range(4):
        client.track(conversation_id=f"c{i}", messages=[message()])
    client.flush(timeout=5)
    assert [len(r.body["conversations"]) for r in ingest.accepted_requests()] == [2, 2]


def _client_stuck_retrying(make_client, ingest, *, max_queue_size: int, errors: list[Exception]) -> Client:
    """A client whose consumer holds one conversation in a long backoff, so new tracks only fill its queue."""
    ingest.respond_next(503, times=1000)
    client = make_client(
        max_queue_size=max_queue_size, batch_size=1, backoff_base=30, on_error=lambda e, i: errors.append(e)
    )
    client.track(conversation_id="first", messages=[message()])
    assert ingest.wait_for_requests(1, timeout=5)
    return client


def test_a_full_queue_drops_new_conversations_and_counts_them(make_client, ingest):
    errors: list[Exception] = []
    client = _client_stuck_retrying(make_client, ingest, max_queue_size=5, errors=errors)
    accepted = [client.track(conversation_id=f"c{i}", messages=[message()]) for i in range(19)]
    assert (accepted.count(False), client.stats().dropped, len(errors)) == (14, 14, 14)


def test_queue_full_errors_are_reported_as_queue_full(make_client, ingest):
    errors: list[Exception] = []
    client = _client_stuck_retrying(make_client, ingest, max_queue_size=1, errors=errors)
    for i in range(3):
        client.track(conversation_id=f"c{i}", messages=[message()])
    assert {type(e) for e in errors} == {QueueFullError}


def test_flush_returns_false_within_its_timeout_while_the_server_is_down(make_client):
    client = make_client(base_url=f"http://127.0.0.1:{_free_port()}")
    client.track(conversation_id="c1", messages=[message()])
    started = time.monotonic()
    assert client.flush(timeout=1.0) is False
    assert time.monotonic() - started < 1.5


def test_shutdown_returns_within_its_timeout_while_the_server_is_down(make_client):
    client = make_client(base_url=f"http://127.0.0.1:{_free_port()}")
    client.track(conversation_id="c1", messages=[message()])
    started = time.monotonic()
    client.shutdown(timeout=1.0)
    assert time.monotonic() - started < 2.0


def test_pending_conversations_are_flushed_at_interpreter_exit(ingest):
    script = textwrap.dedent(f"""
        import convosensei_sdk
        convosensei_sdk.init(api_key={API_KEY!r}, base_url={ingest.url!r}, flush_interval=30)
        convosensei_sdk.track(conversation_id="c1", messages=[{{"role": "user", "content": "bye"}}])
    """)
    src = str(Path(__file__).parents[1] / "src")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=20, env={"PYTHONPATH": src})
    assert [m["content"] for m in ingest.messages.values()] == ["bye"]


FROM_THE_FUTURE = message("my card is 4111 1111 1111 1111", timestamp="2099-01-01T00:00:00Z")
AHEAD = "The timestamp is more than 300 seconds ahead of the server's clock."


def test_a_batch_the_server_refuses_whole_reports_each_conversations_field_errors(make_client, ingest):
    errors: list[Any] = []
    client = make_client(on_error=lambda error, items: errors.append(error))
    client.track(conversation_id="c1", messages=[FROM_THE_FUTURE])
    client.flush(timeout=5)
    [error] = errors
    assert (error.status, error.code, error.field_errors) == (
        400,
        "validation_error",
        {"messages.0.timestamp": [AHEAD]},
    )
    assert str(error) == f"The conversation has invalid fields. messages.0.timestamp: {AHEAD}"


def test_a_conversation_refused_inside_a_202_reports_its_field_errors(make_client, ingest):
    errors: list[Any] = []
    client = make_client(flush_interval=0.5, on_error=lambda error, items: errors.append((error, items)))
    client.track(conversation_id="bad", messages=[message(), FROM_THE_FUTURE])
    client.track(conversation_id="good", messages=[message()])
    client.flush(timeout=5)
    [(error, [item])] = errors
    # 400, what the server answers for the same conversation sent alone, not the batch's 202, which reads as
    # success.
    assert (error.status, error.code, item["external_id"], error.field_errors) == (
        400,
        "validation_error",
        "bad",
        {"messages.1.timestamp": [AHEAD]},
    )


def test_the_refusal_is_logged_with_its_field_errors_and_without_the_messages_or_the_key(
    make_client, ingest, caplog
):
    caplog.set_level("INFO", logger="convosensei_sdk")
    client = make_client()
    client.track(conversation_id="c1", messages=[FROM_THE_FUTURE])
    client.flush(timeout=5)
    [rejected] = [r for r in caplog.records if r.getMessage().startswith("convosensei.conversation_rejected")]
    assert rejected.field_errors == {"messages.0.timestamp": [AHEAD]}
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert ("4111" in logged, API_KEY in logged) == (False, False)


def test_a_request_the_server_refuses_as_a_whole_reports_its_field_errors(make_client, ingest):
    errors: list[Any] = []
    reason = {"conversations": ["At most 100 conversations per batch."]}
    ingest.respond_next(
        400,
        body={"message": "The request has invalid fields.", "code": "validation_error", "details": reason},
    )
    client = make_client(on_error=lambda error, items: errors.append(error))
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=5)
    assert [(str(e), e.field_errors) for e in errors] == [
        ("The request has invalid fields. conversations: At most 100 conversations per batch.", reason)
    ]


def test_a_text_cut_inside_an_emoji_is_sent_not_given_up(make_client, ingest):
    client = make_client(flush_interval=0.5)
    cut = "Here you go 👍"[:-1] + "\ud83d"  # a lone high surrogate, as slicing UTF-16 text can leave
    assert client.track(conversation_id="cut", messages=[message(cut), message("Ünïcödé stays as it is")])
    assert client.flush(timeout=5)
    [request] = ingest.accepted_requests()
    sent = [m["content"] for m in request.body["conversations"][0]["messages"]]
    assert sent == [cut, "Ünïcödé stays as it is"]
    assert client.stats().failed == 0


def test_a_base_url_with_a_path_of_its_own_gets_a_404_naming_the_url_tried(make_client, ingest):
    errors: list[Any] = []
    client = make_client(base_url=ingest.url + "/api", on_error=lambda error, items: errors.append(error))
    client.track(conversation_id="c1", messages=[message()])
    client.flush(timeout=5)
    [error] = errors
    tried = f"POST {ingest.url}/api/api/v1/conversations/track/batch"
    assert (error.status, tried in str(error)) == (404, True)
    assert "base_url is the server's root" in str(error) and API_KEY not in str(error)


# A TLS handshake that fails for a reason the next attempt cannot change is a wrong base_url or a certificate
# the client does not trust: reported at once, like a 4xx, instead of retried for minutes.


def _tls_refusals(client: Client, errors: list[Any]) -> tuple[int, int, list[tuple[Any, str]]]:
    client.track(conversation_id="c1", messages=[message()])
    assert client.flush(timeout=5)
    return client.stats().retries, client.stats().failed, [(e.status, str(e)) for e in errors]


def test_https_to_a_plain_http_server_is_reported_at_once_not_retried(make_client, ingest):
    errors: list[Any] = []
    origin = f"https://127.0.0.1:{ingest.port}"
    client = make_client(base_url=origin, on_error=lambda error, items: errors.append(error))
    retries, failed, reported = _tls_refusals(client, errors)
    wrong = f"TLS handshake with {origin} failed: the server does not speak TLS on this port (is base_url http://?)"
    assert (retries, failed, reported) == (0, 1, [(None, wrong)])
    assert API_KEY not in reported[0][1]


def test_an_untrusted_server_certificate_is_reported_at_once_not_retried(make_client, untrusted_tls):
    errors: list[Any] = []
    with IngestStandIn(api_key=API_KEY, tls=untrusted_tls) as server:
        client = make_client(base_url=server.url, on_error=lambda error, items: errors.append(error))
        retries, failed, reported = _tls_refusals(client, errors)
    untrusted = f"TLS handshake with {server.url} failed: certificate not trusted (self-signed certificate)"
    assert (retries, failed, reported) == (0, 1, [(None, untrusted)])
    assert API_KEY not in reported[0][1]


def test_an_https_server_that_is_down_is_still_retried(make_client):
    errors: list[Any] = []
    client = make_client(
        base_url=f"https://127.0.0.1:{_free_port()}",
        max_retries=2,
        on_error=lambda error, items: errors.append(error),
    )
    retries, failed, [(status, text)] = _tls_refusals(client, errors)
    assert (retries, failed, status, text.startswith("gave up after 2 retries")) == (2, 1, None, True)


def test_a_connection_closed_during_the_tls_handshake_is_still_retried(make_client):
    # What a server restarting, or a proxy dropping a connection, looks like: not a configuration error.
    errors: list[Any] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(5)

        def close_three() -> None:
            for _ in range(3):
                with contextlib.suppress(OSError):
                    listener.accept()[0].close()

        closer = threading.Thread(target=close_three, daemon=True)
        closer.start()
        client = make_client(
            base_url=f"https://127.0.0.1:{listener.getsockname()[1]}",
            max_retries=2,
            on_error=lambda error, items: errors.append(error),
        )
        retries, failed, [(_, text)] = _tls_refusals(client, errors)
        closer.join(5)
    assert (retries, failed, text.startswith("gave up after 2 retries")) == (2, 1, True)


def test_a_refusal_logged_under_a_plain_logging_setup_says_why_in_its_text(make_client, ingest, caplog):
    """`logging.basicConfig` prints the text alone: status, code and reason must be in it, never the key."""
    caplog.set_level("INFO", logger="convosensei_sdk")
    ingest.respond_next(401, body={"message": "Invalid API key.", "code": "authentication_failed"})
    client = make_client()
    client.track(conversation_id="c1", messages=[{"role": "user", "content": "hi"}])
    client.flush(timeout=5)
    texts = [record.getMessage() for record in caplog.records]
    [text] = [text for text in texts if text.startswith("convosensei.batch_rejected")]
    assert "status=401" in text and "code='authentication_failed'" in text and "Invalid API key." in text
    assert API_KEY not in text
