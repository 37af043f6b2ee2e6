import gzip
import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from conversations.models import Conversation, Message
from ingestion.tests.payloads import transcript

TRACK = "/api/v1/conversations/track"
BATCH = "/api/v1/conversations/track/batch"

pytestmark = pytest.mark.django_db


def test_track_stores_the_conversation_and_its_messages(post_json, raw_key):
    response = post_json(TRACK, transcript(), raw_key)
    assert response.status_code == 202
    body = response.json()
    assert (body["external_id"], body["messages_added"], body["messages_present"]) == ("conv-1", 6, 0)
    conversation = Conversation.objects.get(external_id="conv-1")
    assert (conversation.message_count, conversation.environment, conversation.processing_state) == (
        6,
        "prod",
        "pending",
    )
    assert str(conversation.id) == body["conversation_id"]


def test_messages_keep_their_metadata(post_json, raw_key):
    post_json(TRACK, transcript(), raw_key)
    assert Message.objects.filter(role="assistant").first().metadata == {"model": "gpt-test", "latency_ms": 812}


def test_same_transcript_sent_five_times_leaves_one_conversation_and_no_duplicate(post_json, raw_key):
    responses = [post_json(TRACK, transcript(), raw_key).json() for _ in range(5)]
    assert [r["messages_added"] for r in responses] == [6, 0, 0, 0, 0]
    assert [r["messages_present"] for r in responses] == [0, 6, 6, 6, 6]
    assert Conversation.objects.count() == 1
    assert Message.objects.count() == 6
    assert Conversation.objects.get().message_count == 6


def test_sending_only_the_new_turns_appends_them(post_json, raw_key):
    full = transcript(turns=3)
    post_json(TRACK, {**full, "messages": full["messages"][:4]}, raw_key)
    response = post_json(TRACK, {**full, "messages": full["messages"][4:]}, raw_key)
    assert response.json()["messages_added"] == 2
    assert list(Message.objects.order_by("timestamp").values_list("content", flat=True)) == [
        m["content"] for m in full["messages"]
    ]


def test_client_message_ids_dedupe_even_when_content_changes(post_json, raw_key):
    first = {"role": "user", "content": "hello", "timestamp": "2026-11-20T09:00:00Z", "id": "m-1"}
    post_json(TRACK, {"external_id": "c", "messages": [first]}, raw_key)
    response = post_json(TRACK, {"external_id": "c", "messages": [{**first, "content": "hello!"}]}, raw_key)
    assert (response.json()["messages_added"], Message.objects.count()) == (0, 1)


def test_equal_timestamps_in_other_notation_are_the_same_message(post_json, raw_key):
    message = {"role": "user", "content": "hi", "timestamp": "2026-11-20T09:00:00Z"}
    post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    later = {**message, "timestamp": "2026-11-20T10:00:00+01:00"}
    assert post_json(TRACK, {"external_id": "c", "messages": [later]}, raw_key).json()["messages_added"] == 0


def test_gzip_body_is_accepted(client, raw_key):
    body = gzip.compress(json.dumps(transcript()).encode())
    response = client.post(
        TRACK, data=body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert response.status_code == 202


@pytest.mark.parametrize("encoding", ["deflate", "br", "zstd"])
def test_a_content_encoding_other_than_gzip_gets_415_naming_it(client, raw_key, encoding):
    # Read as plain JSON, a deflate body was "not UTF-8 text", and a br header on plain JSON was let through.
    response = client.post(
        TRACK, data=json.dumps(transcript()), content_type="application/json", HTTP_CONTENT_ENCODING=encoding,
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    assert response.json()["message"] == (
        f"The Content-Encoding {encoding} is not supported: send the body as it is, or gzip-compressed."
    )
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize("encoding", ["GZIP", "x-gzip"])
def test_gzip_is_read_under_its_other_spellings(client, raw_key, encoding):
    response = client.post(
        TRACK, data=gzip.compress(json.dumps(transcript()).encode()), content_type="application/json",
        HTTP_CONTENT_ENCODING=encoding, HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert response.status_code == 202


def test_an_identity_content_encoding_is_read_as_plain_json(client, raw_key):
    response = client.post(
        TRACK, data=json.dumps(transcript()), content_type="application/json", HTTP_CONTENT_ENCODING="identity",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert response.status_code == 202


def _chunked(client, raw_key, body: bytes, **extra):
    """A POST as gunicorn hands on a chunked request: no Content-Length, the decoded body in a terminated input."""
    return client.generic(
        "POST", TRACK, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}", **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
        **extra,
    )  # fmt: skip


def test_a_chunked_body_without_content_length_is_read(client, raw_key):
    # Node's http.request sends chunked unless told the length; Django alone read such a body as empty.
    response = _chunked(client, raw_key, json.dumps(transcript()).encode())
    assert (response.status_code, response.json()["messages_added"]) == (202, 6)


def test_a_gzipped_chunked_body_is_read(client, raw_key):
    response = _chunked(client, raw_key, gzip.compress(json.dumps(transcript()).encode()), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202


def test_a_chunked_body_over_the_limit_gets_413(client, raw_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    big = transcript()
    big["messages"][0]["content"] = "x" * 4096
    response = _chunked(client, raw_key, json.dumps(big).encode())
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert Conversation.objects.count() == 0


def test_a_chunked_body_a_server_cannot_end_gets_411(client, raw_key):
    # Without wsgi.input_terminated (runserver, wsgiref) the end of a chunked body cannot be found.
    response = client.generic(
        "POST", TRACK, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert (response.status_code, response.json()["code"]) == (411, "length_required")
    assert response.json()["message"] == (
        "Send the body with a Content-Length header: this server cannot read it chunked."
    )


@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded"])
def test_a_json_body_is_read_whatever_its_content_type_says(client, raw_key, content_type):
    # navigator.sendBeacon sends a string as text/plain, and `curl -d` without -H as a form: both are JSON here.
    response = client.post(
        TRACK, data=json.dumps(transcript()), content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {raw_key}"
    )
    assert response.status_code == 202
    assert Message.objects.count() == len(transcript()["messages"])


def test_a_form_that_is_not_json_gets_400_naming_json(client, raw_key):
    response = client.post(
        TRACK, data="external_id=a&content=hi", content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["message"].startswith("Malformed JSON")


def test_x_api_key_header_is_accepted(post_json, raw_key):
    assert post_json(TRACK, transcript(), HTTP_X_API_KEY=raw_key).status_code == 202


def test_malformed_json_gets_400_and_stores_nothing(client, raw_key):
    response = client.post(TRACK, data="{nope", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
    assert Conversation.objects.count() == 0


def test_invalid_fields_get_400_with_field_details(post_json, raw_key):
    bad = transcript()
    bad["messages"][1]["role"] = "robot"
    bad["messages"][2]["timestamp"] = "yesterday"
    response = post_json(TRACK, bad, raw_key)
    assert response.status_code == 400
    details = response.json()["details"]
    assert set(details["messages"]["1"]) == {"role"}
    assert set(details["messages"]["2"]) == {"timestamp"}
    assert Conversation.objects.count() == 0


def test_content_over_the_limit_is_refused(post_json, raw_key, settings):
    settings.INGEST_MAX_CONTENT_CHARS = 5
    response = post_json(TRACK, transcript(), raw_key)
    assert response.json()["details"]["messages"]["0"]["content"] == ["Content is longer than 5 characters."]


def test_metadata_over_the_limit_is_refused(post_json, raw_key, settings):
    settings.INGEST_MAX_METADATA_BYTES = 20
    response = post_json(TRACK, {**transcript(), "metadata": {"blob": "x" * 50}}, raw_key)
    assert "metadata" in response.json()["details"]


def test_body_over_the_limit_gets_413_and_stores_nothing(post_json, raw_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    big = transcript()
    big["messages"][0]["content"] = "x" * 4000
    response = post_json(TRACK, big, raw_key)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["message"] == "The request body is larger than 2048 bytes (INGEST_MAX_BODY_BYTES)."
    assert Conversation.objects.count() == 0


def test_the_body_limit_is_given_in_mib_as_the_readme_gives_it(post_json, raw_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 5 * 1024**2
    big = transcript()
    big["messages"][0]["content"] = "x" * (6 * 1024**2)
    message = post_json(TRACK, big, raw_key).json()["message"]
    assert message == "The request body is larger than 5 MiB (5242880 bytes, INGEST_MAX_BODY_BYTES)."


def test_gzip_bomb_gets_413(client, raw_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 4096
    body = gzip.compress(json.dumps({"external_id": "c", "messages": [], "pad": " " * 100_000}).encode())
    response = client.post(
        TRACK, data=body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )  # fmt: skip
    assert (response.status_code, len(body) < 4096) == (413, True)


def test_batch_with_one_invalid_item_stores_the_valid_ones_and_reports_it(post_json, raw_key):
    invalid = {**transcript("bad"), "messages": [{"role": "user", "content": "x", "timestamp": "not a time"}]}
    response = post_json(BATCH, {"conversations": [transcript("a"), invalid, transcript("b")]}, raw_key)
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["status"] for r in body["results"]] == ["ok", "error", "ok"]
    assert body["results"][1]["external_id"] == "bad"
    assert set(body["results"][1]["error"]["details"]["messages"]["0"]) == {"timestamp"}
    assert sorted(Conversation.objects.values_list("external_id", flat=True)) == ["a", "b"]


def test_batch_with_no_valid_item_gets_400(post_json, raw_key):
    response = post_json(BATCH, {"conversations": [{"external_id": ""}]}, raw_key)
    assert response.status_code == 400
    assert response.json()["details"]["results"][0]["status"] == "error"


def test_batch_over_the_item_limit_gets_400(post_json, raw_key, settings):
    settings.INGEST_MAX_BATCH_CONVERSATIONS = 2
    response = post_json(BATCH, {"conversations": [transcript(str(i)) for i in range(3)]}, raw_key)
    assert response.status_code == 400
    assert "conversations" in response.json()["details"]


def test_batch_carrying_one_conversation_twice_merges_it(post_json, raw_key):
    full = transcript("same")
    first, second = {**full, "messages": full["messages"][:2]}, {**full, "messages": full["messages"][2:]}
    response = post_json(BATCH, {"conversations": [first, second]}, raw_key)
    assert response.status_code == 202
    assert Message.objects.count() == 6


def _one_message(external_id: str, content: str) -> dict:
    return {
        "external_id": external_id,
        "messages": [{"role": "user", "content": content, "timestamp": "2026-11-20T09:00:00Z"}],
    }


def test_batch_carrying_one_conversation_twice_reports_each_items_own_messages(post_json, raw_key):
    response = post_json(
        BATCH, {"conversations": [_one_message("dup-1", "first"), _one_message("dup-1", "second")]}, raw_key
    )
    counts = [(r["messages_added"], r["messages_present"]) for r in response.json()["results"]]
    assert counts == [(1, 0), (1, 0)]
    assert Conversation.objects.get(external_id="dup-1").message_count == 2


def test_a_message_two_items_of_a_batch_carry_is_added_by_the_first_and_present_for_the_second(post_json, raw_key):
    twice = _one_message("dup-1", "same")
    response = post_json(BATCH, {"conversations": [twice, _one_message("other", "x"), twice]}, raw_key)
    counts = [(r["messages_added"], r["messages_present"]) for r in response.json()["results"]]
    assert counts == [(1, 0), (1, 0), (0, 1)]
    assert Message.objects.filter(conversation__external_id="dup-1").count() == 1


def test_pii_is_redacted_before_it_is_stored(post_json, raw_key, settings):
    settings.REDACT_PII = True
    message = {"role": "user", "timestamp": "2026-11-20T09:00:00Z",
               "content": "I'm jane@example.com, card 4111 1111 1111 1111, phone +44 20 7946 0958"}  # fmt: skip
    post_json(TRACK, {"external_id": "pii", "messages": [message]}, raw_key)
    assert Message.objects.get().content == "I'm [EMAIL], card [CARD], phone [PHONE]"


def test_pii_is_kept_when_redaction_is_off(post_json, raw_key):
    message = {"role": "user", "timestamp": "2026-11-20T09:00:00Z", "content": "I'm jane@example.com"}
    post_json(TRACK, {"external_id": "pii", "messages": [message]}, raw_key)
    assert Message.objects.get().content == "I'm jane@example.com"


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_sends_of_one_conversation_leave_no_duplicate(live_server, api_key):
    _, key = api_key
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait(5)
        response = requests.post(
            live_server.url + TRACK,
            json=transcript("raced", turns=4),
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [202] * 8
    assert Conversation.objects.filter(external_id="raced").count() == 1
    assert Message.objects.count() == 8
    assert Conversation.objects.get().message_count == 8


def test_every_statement_of_an_ingest_is_bounded(post_json, raw_key, django_assert_max_num_queries):
    post_json(TRACK, transcript(), raw_key)  # warm the key cache: the count below is the steady state
    with django_assert_max_num_queries(6):
        response = post_json(BATCH, {"conversations": [transcript(str(i)) for i in range(20)]}, raw_key)
    assert response.json()["accepted"] == 20


def test_broker_down_still_answers_202_quickly_and_leaves_the_conversation_pending(
    post_json, raw_key, django_capture_on_commit_callbacks
):
    from tests import plugin

    plugin.redis_server.stop()
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_json(TRACK, transcript("while-down"), raw_key)
        elapsed = time.monotonic() - started
    finally:
        plugin.redis_server.start()
    assert (response.status_code, len(callbacks)) == (202, 1)
    assert elapsed < 1.0
    assert Conversation.objects.get(external_id="while-down").processing_state == "pending"


def test_nul_characters_in_content_are_dropped_before_storing(post_json, raw_key):
    message = {"role": "user", "content": "hel\x00lo", "timestamp": "2026-11-20T09:00:00Z"}
    assert post_json(TRACK, {"external_id": "nul", "messages": [message]}, raw_key).status_code == 202
    assert Message.objects.get().content == "hello"


def test_nul_characters_in_metadata_get_400(post_json, raw_key):
    response = post_json(TRACK, {**transcript(), "metadata": {"note": "a\x00b"}}, raw_key)
    assert response.status_code == 400
    assert "metadata" in response.json()["details"]


@pytest.mark.django_db(transaction=True)
def test_ingesting_inside_a_callers_transaction_commits_nothing_before_it(raw_key):
    from django.db import transaction

    from ingestion.services import conversations_ingest
    from ingestion.tests.payloads import transcript as payload

    with pytest.raises(RuntimeError), transaction.atomic():
        conversations_ingest(conversations=[{**payload("rolled-back"), "user_id": "", "messages": []}], api_key_id=None)
        raise RuntimeError("the caller's transaction fails after the ingest")
    assert not Conversation.objects.filter(external_id="rolled-back").exists()


def _first_message_errors(response) -> dict:
    return response.json()["details"]["messages"]["0"]


def test_a_unix_time_timestamp_is_refused_with_a_clear_message(post_json, raw_key):
    message = {"role": "user", "content": "hi", "timestamp": 1763629200}
    response = post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    assert (response.status_code, _first_message_errors(response)) == (
        400,
        {"timestamp": ["Must be an ISO-8601 string such as 2026-11-26T09:00:00Z, not a number."]},
    )


@pytest.mark.parametrize("timestamp", ["1763629200", "2026-11-20", "2026-11-20T09:00:00Z\n", True])
def test_a_timestamp_that_is_not_an_iso_8601_date_and_time_is_refused(post_json, raw_key, timestamp):
    message = {"role": "user", "content": "hi", "timestamp": timestamp}
    response = post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    assert (response.status_code, set(_first_message_errors(response))) == (400, {"timestamp"})
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize(
    "timestamp",
    ["2026-11-20T09:00:00", "2026-11-20 09:00:00+00:00", "2026-11-20T10:00:00+0100", "2026-11-20t09:00z"],
)
def test_iso_8601_notations_clients_write_are_accepted_and_stored_in_utc(post_json, raw_key, timestamp):
    message = {"role": "user", "content": "hi", "timestamp": timestamp}
    assert post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key).status_code == 202
    assert Message.objects.get().timestamp == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_timestamp_past_year_9999_once_in_utc_is_refused(post_json, raw_key):
    message = {"role": "user", "content": "hi", "timestamp": "9999-12-31T23:59:59-01:00"}
    response = post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    assert (response.status_code, set(_first_message_errors(response))) == (400, {"timestamp"})


def _said_at(timestamp: str) -> dict:
    return {"external_id": "c", "messages": [{"role": "user", "content": "hi", "timestamp": timestamp}]}


def test_a_timestamp_far_in_the_future_is_refused_naming_the_server_clock(post_json, raw_key):
    response = post_json(TRACK, _said_at("2099-01-01T00:00:00Z"), raw_key)
    [error] = _first_message_errors(response)["timestamp"]
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert error.startswith("The timestamp is more than 300 seconds ahead of the server's clock (")
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize("timestamp", ["1000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00"])
def test_a_timestamp_before_2000_is_refused(post_json, raw_key, timestamp):
    response = post_json(TRACK, _said_at(timestamp), raw_key)
    assert (response.status_code, _first_message_errors(response)) == (
        400,
        {"timestamp": ["The timestamp is before 2000-01-01T00:00:00Z."]},
    )


def test_a_timestamp_a_minute_ahead_of_the_server_clock_is_accepted_as_clock_skew(post_json, raw_key):
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert post_json(TRACK, _said_at(ahead), raw_key).status_code == 202


def test_the_clock_skew_allowance_is_read_from_settings(post_json, raw_key, settings):
    settings.INGEST_MAX_CLOCK_SKEW_SECONDS = 10
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    response = post_json(TRACK, _said_at(ahead), raw_key)
    assert _first_message_errors(response)["timestamp"][0].startswith("The timestamp is more than 10 seconds ahead")


def test_a_batch_item_from_the_future_is_rejected_alone_and_the_stored_conversation_is_unchanged(post_json, raw_key):
    post_json(TRACK, transcript("kept"), raw_key)
    future = {**_said_at("2099-01-01T00:00:00Z"), "external_id": "kept"}
    response = post_json(BATCH, {"conversations": [future, transcript("other")]}, raw_key)
    assert [r["status"] for r in response.json()["results"]] == ["error", "ok"]
    kept = Conversation.objects.get(external_id="kept")
    assert (kept.message_count, kept.messages.count()) == (6, 6)
    assert kept.last_message_at == datetime(2026, 11, 20, 9, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize("field", ["external_id", "user_id", "environment"])
def test_a_nul_character_in_an_identifier_gets_400(post_json, raw_key, field):
    response = post_json(TRACK, {**transcript(), field: "a\x00b"}, raw_key)
    assert (response.status_code, set(response.json()["details"])) == (400, {field})


def test_content_over_the_limit_as_sent_is_refused_though_dropping_its_nuls_would_fit(post_json, raw_key, settings):
    settings.INGEST_MAX_CONTENT_CHARS = 5
    message = {"role": "user", "content": "abc\x00\x00\x00", "timestamp": "2026-11-20T09:00:00Z"}
    response = post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    assert _first_message_errors(response) == {"content": ["Content is longer than 5 characters."]}


# One message as raw JSON, for bodies JSON's own encoder cannot write (NaN, unpaired surrogates).
ONE_MESSAGE = '[{"role": "user", "content": "hi", "timestamp": "2026-11-20T09:00:00Z"}]'


def _post_raw(client, key: str, body: str, path: str = TRACK):
    return client.post(path, data=body.encode(), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_an_unpaired_surrogate_in_content_is_stored_as_a_replacement_character(client, raw_key):
    body = '{"external_id": "c", "messages": [{"role": "user", "content": "cut \\ud83d, whole \\ud83d\\ude00", '
    response = _post_raw(client, raw_key, body + '"timestamp": "2026-11-20T09:00:00Z"}]}')
    assert (response.status_code, Message.objects.get().content) == (202, "cut \ufffd, whole \U0001f600")


def test_an_unpaired_surrogate_in_metadata_gets_400(client, raw_key):
    body = '{"external_id": "c", "messages": ' + ONE_MESSAGE + ', "metadata": {"k": "\\ud800"}}'
    response = _post_raw(client, raw_key, body)
    assert (response.status_code, set(response.json()["details"])) == (400, {"metadata"})


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e999"])
def test_a_number_json_does_not_have_gets_400_naming_the_metadata_not_a_database_error(client, raw_key, number):
    body = '{"external_id": "c", "messages": ' + ONE_MESSAGE + ', "metadata": {"k": ' + number + "}}"
    response = _post_raw(client, raw_key, body)
    assert (response.status_code, set(response.json()["details"])) == (400, {"metadata"})


def test_batch_item_with_nan_in_its_metadata_is_rejected_alone(client, raw_key):
    body = f'{{"conversations": [{{"external_id": "a", "messages": {ONE_MESSAGE}}}, '
    body += f'{{"external_id": "b", "messages": {ONE_MESSAGE}, "metadata": {{"k": NaN}}}}]}}'
    response = _post_raw(client, raw_key, body, BATCH)
    assert (response.status_code, response.json()["accepted"], response.json()["rejected"]) == (202, 1, 1)


def test_json_nested_too_deeply_gets_400(client, raw_key):
    nested = "[" * 5000 + "]" * 5000
    response = _post_raw(client, raw_key, '{"external_id": "c", "messages": [], "metadata": {"k": ' + nested + "}}")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")


def test_batch_item_with_an_unpaired_surrogate_in_its_external_id_is_reported_by_index(client, raw_key):
    response = _post_raw(client, raw_key, '{"conversations": [{"external_id": "\\ud800", "messages": []}]}', BATCH)
    [result] = response.json()["details"]["results"]
    assert (response.status_code, result["index"], "external_id" in result) == (400, 0, False)


def test_a_conversation_without_messages_gets_400_naming_the_messages(post_json, raw_key):
    response = post_json(TRACK, {**transcript(), "messages": []}, raw_key)
    assert (response.status_code, response.json()["details"]) == (
        400,
        {"messages": ["A conversation needs at least one message."]},
    )
    assert Conversation.objects.count() == 0


def test_a_batch_item_without_messages_is_rejected_alone_and_the_stored_conversation_is_unchanged(post_json, raw_key):
    post_json(TRACK, transcript("kept"), raw_key)
    response = post_json(BATCH, {"conversations": [{"external_id": "kept", "messages": []}, transcript("b")]}, raw_key)
    assert [r["status"] for r in response.json()["results"]] == ["error", "ok"]
    assert response.json()["results"][0]["error"]["details"] == {
        "messages": ["A conversation needs at least one message."]
    }
    kept = Conversation.objects.get(external_id="kept")
    assert (kept.message_count, kept.messages.count()) == (6, 6)


def test_a_batch_item_that_is_not_an_object_is_told_so_in_json_terms(post_json, raw_key):
    response = post_json(BATCH, {"conversations": ["support-4711", transcript("b")]}, raw_key)
    assert response.json()["results"][0]["error"]["details"] == {
        "non_field_errors": ["Must be an object, not a string."]
    }


def test_a_body_that_is_an_array_is_told_to_be_an_object(post_json, raw_key):
    response = post_json(TRACK, [transcript()], raw_key)
    assert (response.status_code, response.json()["details"]) == (
        400,
        {"non_field_errors": ["Must be an object, not an array."]},
    )


def test_a_timestamp_on_a_day_its_month_does_not_have_gets_a_plain_message(post_json, raw_key):
    response = post_json(TRACK, _said_at("2026-02-30T09:00:00Z"), raw_key)
    assert _first_message_errors(response) == {
        "timestamp": ["Must be an ISO-8601 date and time that exists, such as 2026-11-26T09:00:00Z."]
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"role": "robot"}, {"role": ["Must be one of user, assistant, system or tool."]}),
        ({"content": 42}, {"content": ["Must be a string, not a number."]}),
        ({"id": ""}, {"id": ["Must not be empty."]}),
        ({"id": "x" * 201}, {"id": ["Must have at most 200 characters."]}),
        ({"metadata": ["model"]}, {"metadata": ["Must be an object, not an array."]}),
        ({"timestamp": None}, {"timestamp": ["Must be an ISO-8601 string such as 2026-11-26T09:00:00Z, not null."]}),
    ],
)
def test_a_bad_message_field_gets_a_message_in_json_terms(post_json, raw_key, change, expected):
    message = {"role": "user", "content": "hi", "timestamp": "2026-11-20T09:00:00Z", **change}
    response = post_json(TRACK, {"external_id": "c", "messages": [message]}, raw_key)
    assert _first_message_errors(response) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"external_id": None}, {"external_id": ["Must be a string, not null."]}),
        ({"external_id": "x" * 256}, {"external_id": ["Must have at most 255 characters."]}),
        ({"messages": {"role": "user"}}, {"messages": ["Must be an array, not an object."]}),
        ({"messages": ["hello"]}, {"messages": {"0": ["Must be an object, not a string."]}}),
        ({"user_id": 17}, {"user_id": ["Must be a string, not a number."]}),
    ],
)
def test_a_bad_conversation_field_gets_a_message_in_json_terms(post_json, raw_key, change, expected):
    response = post_json(TRACK, {**transcript(), **change}, raw_key)
    assert response.json()["details"] == expected


def test_null_for_an_optional_field_is_taken_as_left_out(post_json, raw_key):
    # `"user_id": null` (None in Python, an unset value in JS) cost the whole conversation a 400.
    message = {"role": "user", "content": "hi", "timestamp": "2026-11-20T09:00:00Z", "id": None, "metadata": None}
    conversation = {"external_id": "c", "environment": None, "user_id": None, "metadata": None, "messages": [message]}
    assert post_json(TRACK, conversation, raw_key).status_code == 202
    stored = Conversation.objects.get()
    assert (stored.environment, stored.end_user_id, stored.metadata, Message.objects.get().metadata) == ("", "", {}, {})


def test_null_in_a_resent_conversation_keeps_what_was_stored(post_json, raw_key):
    post_json(TRACK, {**transcript(), "user_id": "customer-17", "metadata": {"plan": "pro"}}, raw_key)
    resent = post_json(TRACK, {**transcript(), "environment": None, "user_id": None, "metadata": None}, raw_key)
    stored = Conversation.objects.get()
    assert resent.status_code == 202
    assert (stored.environment, stored.end_user_id, stored.metadata) == ("prod", "customer-17", {"plan": "pro"})


def test_a_missing_field_is_required_in_djangos_words(post_json, raw_key):
    response = post_json(TRACK, {"messages": transcript()["messages"]}, raw_key)
    assert response.json()["details"] == {"external_id": ["This field is required."]}
