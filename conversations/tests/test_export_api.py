"""GET conversations/export: the filtered list streamed as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json

from django.http import StreamingHttpResponse

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
