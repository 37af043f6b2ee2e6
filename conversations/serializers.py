"""Output serializers (and their choice fields) of conversations and failures, shared by several dashboard
endpoints."""

from __future__ import annotations

from rest_framework import serializers

from conversations.models import Conversation, Failure
from conversations.selectors import LIST_FIELDS


class FailureStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Failure.Status.choices, **kwargs)


class SeverityField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Failure.Severity.choices, **kwargs)


class ConversationSummarySerializer(serializers.ModelSerializer):
    """A conversation as lists show it."""

    class Meta:
        model = Conversation
        ref_name = "ConversationSummary"
        # Exactly what the list query loads (selectors.LIST_FIELDS): a field added here must be loaded there.
        fields = list(LIST_FIELDS)
        read_only_fields = fields


class FailureOutputSerializer(serializers.ModelSerializer):
    conversation_external_id = serializers.CharField(source="conversation.external_id", read_only=True)
    evidence = serializers.DictField(read_only=True)
    status = FailureStatusField(read_only=True)
    severity = SeverityField(read_only=True)

    class Meta:
        model = Failure
        ref_name = "Failure"
        fields = [
            "id",
            "conversation_id",
            "conversation_external_id",
            "message_id",
            "type",
            "severity",
            "description",
            "evidence",
            "status",
            "detected_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields
