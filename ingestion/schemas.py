"""The ingestion payloads, validated with pydantic.

Ingestion is the one hot path of the API: DRF serializers cost ~1.9 ms of CPU per 8-message
conversation here, a ceiling of ~500 conversations/s per core, while pydantic's compiled validator
takes a few percent of that. The schemas double as the OpenAPI documentation (drf-spectacular reads
pydantic models), and validation follows them: no lax coercion of a type the schema does not name. The
limits are read from settings at validation time, and when the schema is rendered.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic.json_schema import WithJsonSchema

# pydantic's lax mode would take a unix time (0, 1.5, "1700000000") or a bare date ("2026-11-26") as a
# datetime: a number is ambiguous (seconds or milliseconds?) and a date is not the time of a message, and
# neither is what the schema documents. This pattern is the contract, in the schema and in validation: a
# date-time in ISO-8601's extended notation (RFC 3339, with the separators Python's str() and %z write),
# the offset optional (taken as UTC).
TIMESTAMP_PATTERN = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")

# PostgreSQL text cannot hold NUL characters. In identifiers they are refused (dropping them could merge
# two ids); message content, where they carry no meaning, has them dropped instead.
NO_NUL_PATTERN = r"^[^\x00]*$"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _timestamp_string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"Must be an ISO-8601 string such as 2026-11-26T09:00:00Z, not {_json_type(value)}.")
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError("Must be an ISO-8601 date and time such as 2026-11-26T09:00:00Z (no offset means UTC).")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise ValueError("The timestamp is out of range once converted to UTC.") from None


# A message timestamp before this is a client's bug (a clock reset to 1970, a typo'd year), not a chat message.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    """A timestamp between EARLIEST_TIMESTAMP and a little past the server's clock (INGEST_MAX_CLOCK_SKEW_SECONDS).

    Stored, a timestamp from the future would sort its conversation first in every list and keep it from ever
    being idle long enough to end; one from the distant past would be just as wrong.
    """
    if value < EARLIEST_TIMESTAMP:
        raise ValueError("The timestamp is before 2000-01-01T00:00:00Z.")
    skew = settings.INGEST_MAX_CLOCK_SKEW_SECONDS
    now = datetime.now(UTC)
    if value > now + timedelta(seconds=skew):
        raise ValueError(
            f"The timestamp is more than {skew} seconds ahead of the server's clock "
            f"({now:%Y-%m-%dT%H:%M:%SZ}); check the sender's clock and time zone."
        )
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters (PostgreSQL cannot store them).")
    return value


def _schema_limit(keyword: str, setting: str):
    """A limit read from settings when the schema is rendered, as validation reads it when it runs."""
    return lambda schema: schema.update({keyword: getattr(settings, setting)})


Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp_string),
    AfterValidator(_utc),
    AfterValidator(_plausible),
    WithJsonSchema({"type": "string", "pattern": TIMESTAMP_PATTERN, "example": "2026-11-26T09:00:00Z"}),
]
Text = Annotated[str, AfterValidator(_no_nul), Field(json_schema_extra={"pattern": NO_NUL_PATTERN})]


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata as PostgreSQL's jsonb will take it: within the size limit (UTF-8 bytes of its JSON),
    no NUL, no unpaired surrogate (a "\\ud800" escape), no NaN or Infinity (1e999 reads as Infinity).
    Null is taken as left out: {}."""
    if not value:
        return {}
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str).encode()
    except UnicodeEncodeError:
        raise ValueError("Metadata must be valid Unicode: an unpaired surrogate escape cannot be stored.") from None
    except ValueError:
        raise ValueError("Metadata must not contain NaN or Infinity, which are not JSON numbers.") from None
    except RecursionError:
        raise ValueError("Metadata is nested too deeply.") from None
    if len(encoded) > settings.INGEST_MAX_METADATA_BYTES:
        raise ValueError(f"Metadata is larger than {settings.INGEST_MAX_METADATA_BYTES} bytes once encoded as JSON.")
    if b"\\u0000" in encoded:
        raise ValueError("Metadata must not contain NUL characters (PostgreSQL cannot store them).")
    return value


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(
        description=(
            "At most INGEST_MAX_CONTENT_CHARS characters (default 32,000); NUL characters are dropped, "
            "unpaired surrogates become U+FFFD."
        ),
        json_schema_extra=_schema_limit("maxLength", "INGEST_MAX_CONTENT_CHARS"),
    )
    timestamp: Timestamp = Field(
        description=(
            "An ISO-8601 date and time string, e.g. 2026-11-26T09:00:00Z or 2026-11-26T10:00:00.250+01:00; "
            "without an offset it is taken as UTC. A number (unix time) or a date alone is refused, as is a time "
            "before 2000-01-01 or more than INGEST_MAX_CLOCK_SKEW_SECONDS (default 300) ahead of the server's clock."
        )
    )
    id: Text | None = Field(None, min_length=1, max_length=200, description="Your message id (the dedupe key).")
    metadata: dict[str, Any] | None = Field(
        default_factory=dict,
        description=(
            "model, latency_ms, tokens, error…; at most INGEST_MAX_METADATA_BYTES as JSON (16 KiB), no NUL. "
            "Null is taken as left out."
        ),
    )

    @field_validator("content")
    @classmethod
    def _content_length(cls, value: str) -> str:
        # Counted as sent, as the schema's maxLength counts it, before the NULs are dropped.
        if len(value) > settings.INGEST_MAX_CONTENT_CHARS:
            raise ValueError(f"Content is longer than {settings.INGEST_MAX_CONTENT_CHARS} characters.")
        value = value.replace("\x00", "")
        try:
            value.encode()
        except UnicodeEncodeError:
            # An unpaired surrogate ("\\ud83d" from a client that cut an emoji in half) cannot be stored
            # as UTF-8; like a NUL it means nothing in a message, so it becomes U+FFFD as a decoder would.
            value = _SURROGATE.sub("\ufffd", value)
        return value

    _metadata_check = field_validator("metadata")(_check_metadata)


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_id: Text = Field(min_length=1, max_length=255, description="Your conversation id: the upsert key.")
    messages: list[MessageIn] = Field(
        description="At least one, at most INGEST_MAX_MESSAGES_PER_CONVERSATION (default 1000).",
        # minItems is checked by _message_count, not min_length: pydantic's own message would name a Python "List".
        json_schema_extra=lambda schema: schema.update(
            minItems=1, maxItems=settings.INGEST_MAX_MESSAGES_PER_CONVERSATION
        ),
    )
    # Null in an optional field (None in Python, an unset value in JavaScript) is taken as left out: refusing it
    # would cost the whole conversation for a value the sender means as "none".
    metadata: dict[str, Any] | None = Field(
        default_factory=dict,
        description="At most INGEST_MAX_METADATA_BYTES as JSON (16 KiB), no NUL. Null is taken as left out.",
    )
    environment: Text | None = Field("", max_length=64, description="Null is taken as left out.")
    user_id: Text | None = Field("", max_length=255, description="Your end user's id. Null is taken as left out.")

    @field_validator("messages")
    @classmethod
    def _message_count(cls, value: list[MessageIn]) -> list[MessageIn]:
        # A conversation without messages would be stored with no start and scored a perfect 100 on nothing.
        if not value:
            raise ValueError("A conversation needs at least one message.")
        if len(value) > settings.INGEST_MAX_MESSAGES_PER_CONVERSATION:
            raise ValueError(f"At most {settings.INGEST_MAX_MESSAGES_PER_CONVERSATION} messages per conversation.")
        return value

    _metadata_check = field_validator("metadata")(_check_metadata)

    @field_validator("environment", "user_id")
    @classmethod
    def _null_as_empty(cls, value: str | None) -> str:
        return value or ""


class BatchIn(BaseModel):
    conversations: list[ConversationIn] = Field(
        min_length=1,
        description="Up to INGEST_MAX_BATCH_CONVERSATIONS (default 100); each item is validated on its own.",
        json_schema_extra=_schema_limit("maxItems", "INGEST_MAX_BATCH_CONVERSATIONS"),
    )


class TrackResult(BaseModel):
    conversation_id: UUID
    external_id: str
    messages_added: int
    messages_present: int = Field(description="Messages of the request that were stored already.")


class ItemError(BaseModel):
    message: str
    code: str
    details: dict[str, Any] | None = None


class BatchItemResult(BaseModel):
    index: int
    status: Literal["ok", "error"]
    external_id: str | None = None
    conversation_id: UUID | None = None
    messages_added: int | None = None
    messages_present: int | None = None
    error: ItemError | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


def _plain_message(error: dict) -> str:
    """One pydantic error in the API's words: JSON's types, not Python's ("a valid dictionary or instance of
    ConversationIn") or pydantic's ("after validation"); the value sent is not repeated."""
    kind, context = error["type"], error.get("ctx") or {}
    sent = _json_type(error.get("input"))
    if kind == "value_error":  # our own validators' messages, written for the API
        return str(context.get("error") or error["msg"].removeprefix("Value error, "))
    if kind == "missing":
        return "This field is required."
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"Must be an object, not {sent}."
    if kind == "list_type":
        return f"Must be an array, not {sent}."
    if kind == "string_type":
        return f"Must be a string, not {sent}."
    unit = "items" if context.get("field_type") == "List" else "characters"
    if kind in ("string_too_short", "too_short"):
        minimum = context["min_length"]
        return "Must not be empty." if minimum == 1 else f"Must have at least {minimum} {unit}."
    if kind in ("string_too_long", "too_long"):
        return f"Must have at most {context['max_length']} {unit}."
    if kind == "literal_error":
        expected = context["expected"].replace("'", "")  # 'user', 'assistant' or 'tool': quoted Python strings
        return f"Must be one of {expected}."
    if kind.startswith(("datetime_", "date_", "time_")):  # a date-time the pattern lets through, such as 2026-02-30
        return "Must be an ISO-8601 date and time that exists, such as 2026-11-26T09:00:00Z."
    return "Is not valid."


def field_errors(error: ValidationError) -> dict:
    """pydantic's errors as the envelope's `details`: nested by field path, a list of messages at each leaf.

    `{"messages": {"1": {"role": ["Must be one of user, assistant, system or tool."]}}}`
    """
    details: dict = {}
    for item in error.errors(include_url=False):
        node = details
        path = [str(part) for part in item["loc"]] or ["non_field_errors"]
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):  # errors of the container itself move under non_field_errors
                child = {"non_field_errors": child} if child else {}
                node[part] = child
            node = child
        message = _plain_message(item)
        leaf = node.get(path[-1])
        if isinstance(leaf, dict):
            leaf.setdefault("non_field_errors", []).append(message)
        else:
            node.setdefault(path[-1], []).append(message)
    return details
