"""Validation of incoming conversations (DRF serializers), with the documented limits."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import serializers

ROLES = ("user", "assistant", "system", "tool")


def _json_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def _validate_metadata(value: dict) -> dict:
    if _json_size(value) > settings.INGEST_MAX_METADATA_BYTES:
        raise serializers.ValidationError(
            f"Metadata is larger than {settings.INGEST_MAX_METADATA_BYTES} bytes once encoded as JSON."
        )
    return value


class MessageInSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)
    timestamp = serializers.DateTimeField()
    id = serializers.CharField(required=False, max_length=200, help_text="The client's message id (dedupe key).")
    metadata = serializers.DictField(required=False, default=dict, help_text="Model, latency_ms, tokens, error…")

    def validate_content(self, value: str) -> str:
        if len(value) > settings.INGEST_MAX_CONTENT_CHARS:
            raise serializers.ValidationError(f"Content is longer than {settings.INGEST_MAX_CONTENT_CHARS} characters.")
        return value

    def validate_metadata(self, value: dict) -> dict:
        return _validate_metadata(value)


class ConversationInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=255, help_text="Your id of the conversation; the upsert key.")
    messages = MessageInSerializer(many=True, allow_empty=True)
    metadata = serializers.DictField(required=False, default=dict)
    environment = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    user_id = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")

    def validate_messages(self, value: list) -> list:
        if len(value) > settings.INGEST_MAX_MESSAGES_PER_CONVERSATION:
            raise serializers.ValidationError(
                f"At most {settings.INGEST_MAX_MESSAGES_PER_CONVERSATION} messages per conversation."
            )
        return value

    def validate_metadata(self, value: dict) -> dict:
        return _validate_metadata(value)


class BatchInSerializer(serializers.Serializer):
    """The batch's shape only; each item is validated on its own so one bad item rejects nothing else."""

    conversations = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    def validate_conversations(self, value: list) -> list:
        if len(value) > settings.INGEST_MAX_BATCH_CONVERSATIONS:
            raise serializers.ValidationError(
                f"At most {settings.INGEST_MAX_BATCH_CONVERSATIONS} conversations per batch."
            )
        return value


class TrackResultSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    external_id = serializers.CharField()
    messages_added = serializers.IntegerField()
    messages_present = serializers.IntegerField(help_text="Messages of the request that were stored already.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()
    details = serializers.JSONField(required=False)


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["ok", "error"])
    external_id = serializers.CharField(required=False)
    conversation_id = serializers.UUIDField(required=False)
    messages_added = serializers.IntegerField(required=False)
    messages_present = serializers.IntegerField(required=False)
    error = ErrorEnvelopeSerializer(required=False)


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BatchItemResultSerializer(many=True)
