"""The filters of the conversation and failure lists, validated once for every place that takes them.

The list endpoints, the CSV/JSONL export and saved views (their `config`) accept the same filters;
these serializers validate them and turn them into the keyword arguments of the selectors.
Query strings and saved-view configs share one vocabulary: `timeframe=7d`, `health_min=40`, ...
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from conversations.models import Failure
from convosensei.serializers import FiniteFloatField

TIMEFRAMES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100

CONVERSATION_ORDERINGS = [
    "-last_message_at",
    "last_message_at",
    "-health_score",
    "health_score",
    "-message_count",
    "message_count",
]
FAILURE_ORDERINGS = ["-detected_at", "detected_at"]


def window_of(
    *, timeframe: str | None, start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The [start, end) window a filter names: a preset timeframe ending now, or explicit bounds."""
    if timeframe:
        now = timezone.now()
        return now - TIMEFRAMES[timeframe], now
    return start, end


class _TimeframeFilter(serializers.Serializer):
    """`timeframe`, or `from`/`to` (either bound alone is allowed), never both kinds."""

    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False, help_text="A window ending now.")
    # `from` is a Python keyword, hence the class-body namespace.
    locals()["from"] = serializers.DateTimeField(required=False, help_text="Window start (inclusive), ISO-8601.")
    to = serializers.DateTimeField(required=False, help_text="Window end (exclusive), ISO-8601.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        start, end = attrs.pop("from", None), attrs.pop("to", None)
        if attrs.get("timeframe") and (start or end):
            raise serializers.ValidationError({"timeframe": ["Give either timeframe or from/to, not both."]})
        if start and end and start >= end:
            raise serializers.ValidationError({"to": ["Must be later than from."]})
        attrs["start"], attrs["end"] = window_of(timeframe=attrs.pop("timeframe", None), start=start, end=end)
        return attrs


class StrictKeysMixin:
    """Refuses keys the serializer does not know (saved-view configs). A query string, which an endpoint reads with
    several serializers (filters, page), is checked against all of them at once by validated_query instead."""

    def to_internal_value(self, data):
        if self.context.get("strict") and isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown filter."] for key in unknown})
        return super().to_internal_value(data)


class ConversationFilterSerializer(StrictKeysMixin, _TimeframeFilter):
    """Filters of GET conversations (and its export, and saved views of scope `conversations`)."""

    health_min = FiniteFloatField(
        required=False, min_value=0, max_value=100, help_text="Lowest health, in whole points as shown (59.5 is 60)."
    )
    health_max = FiniteFloatField(
        required=False, min_value=0, max_value=100, help_text="Highest health, in whole points as shown (60.4 is 60)."
    )
    has_failures = serializers.BooleanField(required=False, allow_null=True, default=None)
    failure_type = serializers.CharField(required=False, max_length=32)
    environment = serializers.CharField(
        required=False,
        max_length=64,
        allow_blank=True,
        help_text="An environment your app sent, exactly; empty is no filter (every environment), as in the dashboard.",
    )
    pattern = serializers.UUIDField(required=False, help_text="A usage pattern id: its member conversations.")
    external_id = serializers.CharField(
        required=False, max_length=255, help_text="Your own id of a conversation (the external_id you sent), exactly."
    )
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text=(
            'Words to find in the messages (full-text, English stemming; every word must match, unless joined by "or";'
            ' "a phrase" and -word work as in a web search).'
        ),
    )
    ordering = serializers.ChoiceField(
        choices=CONVERSATION_ORDERINGS,
        required=False,
        default="-last_message_at",
        help_text=(
            "A conversation that changes while you page moves in this order; last_message_at (oldest first) moves it"
            " behind the cursor, so paging that way reads every conversation of the window at least once."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        low, high = attrs.get("health_min"), attrs.get("health_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"health_max": ["Must be at least health_min."]})
        if attrs.get("has_failures") is None:
            attrs.pop("has_failures", None)
        # An empty field of a form is no filter (the dashboard leaves it out), so `?environment=` lists the same
        # conversations in the API, its export and the dashboard, rather than only those sent without one.
        if attrs.get("environment") == "":
            del attrs["environment"]
        return attrs


class FailureFilterSerializer(StrictKeysMixin, _TimeframeFilter):
    """Filters of GET failures (and saved views of scope `failures`)."""

    status = serializers.ChoiceField(choices=Failure.Status.values, required=False)
    type = serializers.CharField(required=False, max_length=32)
    severity = serializers.ChoiceField(choices=Failure.Severity.values, required=False)
    conversation = serializers.UUIDField(
        required=False, source="conversation_id", help_text="A conversation's id: only its failures."
    )
    ordering = serializers.ChoiceField(choices=FAILURE_ORDERINGS, required=False, default="-detected_at")


class PageSerializer(serializers.Serializer):
    """`cursor` and `page_size` of a keyset-paginated list."""

    cursor = serializers.CharField(
        required=False, default=None, max_length=500, help_text="`next_cursor` of the previous page."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=PAGE_SIZE_MAX, default=PAGE_SIZE_DEFAULT, help_text="At most 100."
    )


def validated_query(request, *serializer_classes: type[serializers.Serializer]) -> tuple[dict, ...]:
    """The query string validated by each of an endpoint's parameter serializers, one dict each (the last value wins
    for a repeated key); raises 400.

    A parameter none of them takes is refused: a misspelt filter (`heath_max=40`) would otherwise answer with every
    conversation, as if all of them matched.
    """
    query = request.query_params.dict()
    known = {name for serializer_class in serializer_classes for name in serializer_class().fields}
    unknown = sorted(set(query) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no parameters"
        raise serializers.ValidationError(
            {name: [f"Unknown parameter; this endpoint takes {takes}."] for name in unknown}
        )
    validated = []
    for serializer_class in serializer_classes:
        serializer = serializer_class(data=query)
        serializer.is_valid(raise_exception=True)
        validated.append(dict(serializer.validated_data))
    return tuple(validated)


def config_validate(*, scope: str, config: dict) -> dict:
    """A saved view's config checked against its scope's filters; unknown keys and bad values raise 400."""
    serializer_class = ConversationFilterSerializer if scope == "conversations" else FailureFilterSerializer
    serializer = serializer_class(data=config, context={"strict": True})
    if not serializer.is_valid():
        raise serializers.ValidationError({"config": serializer.errors})
    return config
