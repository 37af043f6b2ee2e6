"""The ingestion payloads, validated with pydantic.

Ingestion is the one hot path of the API: DRF serializers cost ~1.9 ms of CPU per 8-message
conversation here, a ceiling of ~500 conversations/s per core, while pydantic's compiled validator
takes a few percent of that. The schemas double as the OpenAPI documentation (drf-spectacular reads
pydantic models). The limits are read from settings at validation time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


def _check_metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value
    encoded = json.dumps(value, separators=(",", ":"), default=str)
    if len(encoded) > settings.INGEST_MAX_METADATA_BYTES:
        raise ValueError(f"Metadata is larger than {settings.INGEST_MAX_METADATA_BYTES} bytes once encoded as JSON.")
    if "\\u0000" in encoded:
        raise ValueError("Metadata must not contain NUL characters (PostgreSQL cannot store them).")
    return value


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system", "tool"]
    content: str
    timestamp: datetime = Field(description="ISO-8601; without an offset it is taken as UTC.")
    id: str | None = Field(None, min_length=1, max_length=200, description="Your message id (the dedupe key).")
    metadata: dict[str, Any] = Field(default_factory=dict, description="model, latency_ms, tokens, error…")

    @field_validator("content")
    @classmethod
    def _content_length(cls, value: str) -> str:
        # PostgreSQL text cannot hold NUL characters, and they carry no meaning in a chat message.
        value = value.replace("\x00", "")
        if len(value) > settings.INGEST_MAX_CONTENT_CHARS:
            raise ValueError(f"Content is longer than {settings.INGEST_MAX_CONTENT_CHARS} characters.")
        return value

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    _metadata_size = field_validator("metadata")(_check_metadata_size)


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_id: str = Field(min_length=1, max_length=255, description="Your conversation id: the upsert key.")
    messages: list[MessageIn]
    metadata: dict[str, Any] = Field(default_factory=dict)
    environment: str = Field("", max_length=64)
    user_id: str = Field("", max_length=255, description="Your end user's id.")

    @field_validator("messages")
    @classmethod
    def _message_count(cls, value: list[MessageIn]) -> list[MessageIn]:
        if len(value) > settings.INGEST_MAX_MESSAGES_PER_CONVERSATION:
            raise ValueError(f"At most {settings.INGEST_MAX_MESSAGES_PER_CONVERSATION} messages per conversation.")
        return value

    _metadata_size = field_validator("metadata")(_check_metadata_size)


class BatchIn(BaseModel):
    conversations: list[ConversationIn] = Field(
        description="Up to INGEST_MAX_BATCH_CONVERSATIONS (default 100); each item is validated on its own."
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


def field_errors(error: ValidationError) -> dict:
    """pydantic's errors as the envelope's `details`: nested by field path, a list of messages at each leaf.

    `{"messages": {"1": {"role": ["Input should be 'user', 'assistant', 'system' or 'tool'"]}}}`
    """
    details: dict = {}
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        node = details
        path = [str(part) for part in item["loc"]] or ["non_field_errors"]
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):  # errors of the container itself move under non_field_errors
                child = {"non_field_errors": child} if child else {}
                node[part] = child
            node = child
        message = item["msg"].removeprefix("Value error, ")
        leaf = node.get(path[-1])
        if isinstance(leaf, dict):
            leaf.setdefault("non_field_errors", []).append(message)
        else:
            node.setdefault(path[-1], []).append(message)
    return details
