"""GET conversations/export: the filtered list streamed as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from django.http import StreamingHttpResponse

from conversations.api import EXPORT_FIELDS
from conversations.tests.factories import ConversationFactory, hours_ago

URL = "/api/v1/conversations/export"


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_csv_export_has_a_header_and_one_row_per_conversation(api):
    ConversationFactory.create_batch(3)
    rows = list(csv.reader(io.StringIO(body_of(api.get(URL, {"format": "csv"})))))
    assert (rows[0][:2], len(rows)) == (["id", "external_id"], 4)


def test_export_is_streamed(api):
    ConversationFactory()
    assert isinstance(api.get(URL), StreamingHttpResponse)


def test_csv_is_the_default_format(api):
    assert api.get(URL)["Content-Type"].startswith("text/csv")


def test_jsonl_export_has_one_object_per_line(api):
    conversation = ConversationFactory(external_id="ext-j")
    lines = body_of(api.get(URL, {"format": "jsonl"})).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(conversation.id)]


def test_export_applies_the_list_filters(api):
    ConversationFactory(health_score=10, external_id="bad")
    ConversationFactory(health_score=90, external_id="good")
    lines = body_of(api.get(URL, {"format": "jsonl", "health_max": 50})).splitlines()
    assert [json.loads(line)["external_id"] for line in lines] == ["bad"]


def test_export_follows_the_ordering(api):
    ConversationFactory(last_message_at=hours_ago(1), external_id="new")
    ConversationFactory(last_message_at=hours_ago(9), external_id="old")
    lines = body_of(api.get(URL, {"format": "jsonl", "ordering": "last_message_at"})).splitlines()
    assert [json.loads(line)["external_id"] for line in lines] == ["old", "new"]


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_as_text(api):
    ConversationFactory(external_id="=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO(body_of(api.get(URL)))))
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_unknown_format_is_refused_with_field_details(api):
    response = api.get(URL, {"format": "xlsx"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["format"])


def test_invalid_filter_of_an_export_is_refused(api):
    response = api.get(URL, {"health_min": "low"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["health_min"])


def test_csv_cells_are_written_as_the_api_writes_values(api):
    at = datetime(2026, 11, 2, 8, 30, 15, 123450, tzinfo=UTC)
    conversation = ConversationFactory(
        external_id="ext-1", end_user_id="", started_at=at, last_message_at=at.replace(microsecond=0),
        health_score=57.25, has_failures=True, failure_count=2,
    )  # fmt: skip
    header, row = csv.reader(io.StringIO(body_of(api.get(URL))))
    cells = dict(zip(header, row, strict=True))
    assert cells == {
        "id": str(conversation.id),
        "external_id": "ext-1",
        "environment": "production",
        "end_user_id": "",
        "started_at": "2026-11-02T08:30:15.123450Z",  # as the list API writes times
        "last_message_at": "2026-11-02T08:30:15Z",
        "message_count": "2",
        "health_score": "57.25",
        "has_failures": "true",
        "failure_count": "2",
        "processing_state": "scored",
    }


def test_every_formula_prefix_is_defused_and_other_text_left_alone(api):
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        ConversationFactory(external_id=f"{prefix}1+1")
    ConversationFactory(external_id='a=1,b;"c"')
    values = {row[1] for row in list(csv.reader(io.StringIO(body_of(api.get(URL)))))[1:]}
    assert values == {"'=1+1", "'+1+1", "'-1+1", "'@1+1", "'\t1+1", "'\r1+1", 'a=1,b;"c"'}


def test_jsonl_values_keep_their_json_types(api):
    at = datetime(2026, 11, 2, 8, 30, 15, 123456, tzinfo=UTC)
    ConversationFactory(external_id='quote " and \\ back', started_at=at, health_score=None, has_failures=False)
    [line] = body_of(api.get(URL, {"format": "jsonl"})).splitlines()
    record = json.loads(line)
    assert (record["external_id"], record["started_at"], record["health_score"], record["has_failures"]) == (
        'quote " and \\ back',
        "2026-11-02T08:30:15.123456Z",
        None,
        False,
    )
    assert list(record) == list(EXPORT_FIELDS)


def test_unscored_conversations_come_last_in_either_direction(api):
    ConversationFactory(external_id="unscored", health_score=None)
    ConversationFactory(external_id="low", health_score=10)
    ConversationFactory(external_id="high", health_score=90)
    for ordering, expected in (
        ("health_score", ["low", "high", "unscored"]),
        ("-health_score", ["high", "low", "unscored"]),
    ):
        lines = body_of(api.get(URL, {"format": "jsonl", "ordering": ordering})).splitlines()
        assert [json.loads(line)["external_id"] for line in lines] == expected


def test_a_large_export_streams_in_several_chunks_with_every_row(api):
    ConversationFactory.create_batch(2100)
    chunks = list(api.get(URL, {"format": "jsonl"}).streaming_content)
    assert len(chunks) >= 2
    assert len(b"".join(chunks).splitlines()) == 2100


def test_exported_times_are_written_as_the_list_api_writes_them(api):
    for microsecond in (0, 120000, 123456):
        ConversationFactory(started_at=datetime(2026, 11, 2, 8, 30, 15, microsecond, tzinfo=UTC))
    listed = {row["id"]: row["started_at"] for row in api.get("/api/v1/conversations").json()["results"]}
    exported = {
        row["id"]: row["started_at"] for row in map(json.loads, body_of(api.get(URL, {"format": "jsonl"})).splitlines())
    }
    assert exported == listed
