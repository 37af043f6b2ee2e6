"""The dashboard API's analytics: summary with the change against the previous period, usage patterns,
failure trends."""

from __future__ import annotations

from datetime import UTC, timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.selectors import analytics_summary, failure_trend_points, pattern_top_list
from conversations.filters import TIMEFRAMES, validated_query, window_of
from convosensei.openapi import READ_ERRORS

MAX_HOURLY_SPAN = timedelta(days=7)


class WindowSerializer(serializers.Serializer):
    """`timeframe` (default given per endpoint), or both `from` and `to`."""

    default_timeframe = "7d"

    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False, help_text="A window ending now.")
    locals()["from"] = serializers.DateTimeField(required=False, help_text="Window start (inclusive), ISO-8601.")
    to = serializers.DateTimeField(required=False, help_text="Window end (exclusive), ISO-8601.")

    def validate(self, attrs: dict) -> dict:
        start, end, timeframe = attrs.get("from"), attrs.get("to"), attrs.get("timeframe")
        if timeframe and (start or end):
            raise serializers.ValidationError({"timeframe": ["Give either timeframe or from and to, not both."]})
        if (start is None) != (end is None):
            raise serializers.ValidationError({"from" if start is None else "to": ["Give both from and to."]})
        if start and start >= end:
            raise serializers.ValidationError({"to": ["Must be later than from."]})
        if start is None:
            start, end = window_of(timeframe=timeframe or self.default_timeframe, start=None, end=None)
        return {**attrs, "start": start, "end": end}


class SummaryParamsSerializer(WindowSerializer):
    class Meta:
        ref_name = "SummaryParams"

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        try:
            attrs["start"] - (attrs["end"] - attrs["start"])  # the previous period must be a real one
        except OverflowError:
            raise serializers.ValidationError({"from": ["The window reaches too far back to compare."]}) from None
        return attrs


class PeriodSerializer(serializers.Serializer):
    conversations = serializers.IntegerField(help_text="Conversations with activity (last message) in the period.")
    messages = serializers.IntegerField(help_text="Messages of those conversations.")
    avg_health = serializers.FloatField(allow_null=True, help_text="Mean health of the scored ones.")
    failure_share = serializers.FloatField(
        allow_null=True, help_text="Share (0…1) of the scored conversations with at least one failure."
    )
    open_failures = serializers.IntegerField(help_text="Failures detected in the period and still open.")

    class Meta:
        ref_name = "SummaryPeriod"


class CountChangeSerializer(serializers.Serializer):
    absolute = serializers.IntegerField(help_text="current − previous")
    relative = serializers.FloatField(
        allow_null=True, help_text="(current − previous) / previous; null if previous is 0"
    )

    class Meta:
        ref_name = "SummaryCountChange"


class RateChangeSerializer(serializers.Serializer):
    absolute = serializers.FloatField(allow_null=True, help_text="current − previous; null if either is")
    relative = serializers.FloatField(
        allow_null=True, help_text="(current − previous) / previous; null if either is null or previous is 0"
    )

    class Meta:
        ref_name = "SummaryChange"


class ChangesSerializer(serializers.Serializer):
    # Counts change by whole numbers (a count read back as 264.0 would look like an average).
    conversations = CountChangeSerializer()
    messages = CountChangeSerializer()
    avg_health = RateChangeSerializer()
    failure_share = RateChangeSerializer()
    open_failures = CountChangeSerializer()

    class Meta:
        ref_name = "SummaryChanges"


def _change(current, previous) -> dict:
    if current is None or previous is None:
        return {"absolute": None, "relative": None}
    absolute = round(current - previous, 4)
    return {"absolute": absolute, "relative": round(absolute / previous, 4) if previous else None}


class SummaryApi(APIView):
    class OutputSerializer(serializers.Serializer):
        locals()["from"] = serializers.DateTimeField()
        to = serializers.DateTimeField()
        current = PeriodSerializer()
        previous = PeriodSerializer(help_text="The period of the same length just before.")
        change = ChangesSerializer()

        class Meta:
            ref_name = "AnalyticsSummary"

    @extend_schema(
        operation_id="analytics_summary",
        summary="Headline figures of a period, against the period before",
        description="Window: `timeframe` (default 7d, ending now) or both `from` and `to`.",
        parameters=[SummaryParamsSerializer],
        responses={200: OutputSerializer, **READ_ERRORS},
    )
    def get(self, request):
        (window,) = validated_query(request, SummaryParamsSerializer)
        summary = analytics_summary(start=window["start"], end=window["end"])
        current, previous = summary["current"], summary["previous"]
        data = {
            "from": window["start"],
            "to": window["end"],
            **summary,
            "change": {name: _change(current[name], previous[name]) for name in PeriodSerializer().fields},
        }
        return Response(self.OutputSerializer(data).data)


class PatternSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    keywords = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(help_text="Conversations in the pattern this period.")
    avg_health = serializers.FloatField(allow_null=True, help_text="Mean health of its scored conversations.")
    failure_rate = serializers.FloatField(
        allow_null=True,
        help_text="Share (0…1) of its scored conversations with at least one failure; null when none was scored.",
    )
    size_change = serializers.FloatField(
        allow_null=True,
        help_text="Change of its conversations per day against the previous analysis (0.5 is +50%); null when new.",
    )
    trend = serializers.ChoiceField(choices=["new", "up", "down", "flat"], help_text="Size change beyond ±10%.")
    representative_conversation_id = serializers.UUIDField(allow_null=True)

    class Meta:
        ref_name = "UsagePattern"


def _trend(size_change: float | None) -> str:
    if size_change is None:
        return "new"
    if size_change > 0.1:
        return "up"
    if size_change < -0.1:
        return "down"
    return "flat"


class PatternListApi(APIView):
    class ParamsSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)

        class Meta:
            ref_name = "PatternParams"

    class OutputSerializer(serializers.Serializer):
        analysis_run = serializers.UUIDField(allow_null=True, help_text="Null before the first analysis.")
        period_start = serializers.DateTimeField(allow_null=True)
        period_end = serializers.DateTimeField(allow_null=True)
        results = PatternSerializer(many=True)

        class Meta:
            ref_name = "UsagePatterns"

    @extend_schema(
        operation_id="analytics_patterns",
        summary="Top usage patterns of the latest analysis",
        parameters=[ParamsSerializer],
        responses={200: OutputSerializer, **READ_ERRORS},
    )
    def get(self, request):
        (params,) = validated_query(request, self.ParamsSerializer)
        limit = params["limit"]
        run, patterns = pattern_top_list(limit=limit)
        results = [
            {
                "id": p.id,
                "label": p.label,
                "keywords": [str(k) for k in (p.keywords or [])],
                "description": p.description,
                "size": p.size,
                "avg_health": p.avg_health,
                "failure_rate": p.failure_rate,
                "size_change": p.size_change,
                "trend": _trend(p.size_change),
                "representative_conversation_id": p.representative_conversation_id,
            }
            for p in patterns
        ]
        first = patterns[0] if patterns else None
        data = {
            "analysis_run": run,
            "period_start": first.period_start if first else None,
            "period_end": first.period_end if first else None,
            "results": results,
        }
        return Response(self.OutputSerializer(data).data)


class TrendParamsSerializer(WindowSerializer):
    default_timeframe = "30d"

    bucket = serializers.ChoiceField(
        choices=["day", "hour"], required=False, default="day", help_text="`hour` for windows of at most 7 days."
    )

    class Meta:
        ref_name = "FailureTrendParams"

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs["bucket"] == "hour" and attrs["end"] - attrs["start"] > MAX_HOURLY_SPAN:
            raise serializers.ValidationError({"bucket": ["Hourly buckets only for windows of at most 7 days."]})
        return attrs


def _utc_iso(moment) -> str:
    """As DRF's DateTimeField writes a UTC time: ISO-8601 with `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TrendPointSerializer(serializers.Serializer):
    bucket_start = serializers.DateTimeField(help_text="Start of the bucket, UTC.")
    type = serializers.CharField()
    count = serializers.IntegerField()

    class Meta:
        ref_name = "FailureTrendPoint"


class FailureTrendsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        bucket = serializers.ChoiceField(choices=["day", "hour"])
        locals()["from"] = serializers.DateTimeField()
        to = serializers.DateTimeField()
        types = serializers.ListField(child=serializers.CharField(), help_text="Failure types in the window.")
        points = TrendPointSerializer(many=True, help_text="Buckets without failures of a type are left out.")

        class Meta:
            ref_name = "FailureTrends"

    @extend_schema(
        operation_id="analytics_failure_trends",
        summary="Failures per day (or hour) and type",
        description="Window: `timeframe` (default 30d, ending now) or both `from` and `to`.",
        parameters=[TrendParamsSerializer],
        responses={200: OutputSerializer, **READ_ERRORS},
    )
    def get(self, request):
        (params,) = validated_query(request, TrendParamsSerializer)
        points = failure_trend_points(start=params["start"], end=params["end"], bucket=params["bucket"])
        head = self.OutputSerializer(
            {"bucket": params["bucket"], "from": params["start"], "to": params["end"], "types": [], "points": []}
        ).data
        # Up to 168 hours x every type: built directly, as DRF's field-by-field serializer costs ~10 µs a point.
        head["types"] = sorted({point["type"] for point in points})
        head["points"] = [
            {"bucket_start": _utc_iso(p["bucket_start"]), "type": p["type"], "count": p["count"]} for p in points
        ]
        return Response(head)
