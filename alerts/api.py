"""GET/PUT settings: the product settings (the single app_settings row), the Slack webhook URL masked."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import ALERT_MIN_SEVERITY_CHOICES
from alerts.selectors import app_settings_get
from alerts.serializers import SettingsInputSerializer
from alerts.services import app_settings_update
from alerts.slack import slack_webhook_url_mask
from convosensei.openapi import WRITE_ERRORS, error_responses
from convosensei.serializers import StrictBooleanField, StrictCharField, StrictFloatField


class SettingsApi(APIView):
    InputSerializer = SettingsInputSerializer

    class OutputSerializer(serializers.Serializer):
        slack_webhook_url = StrictCharField(
            allow_blank=True, help_text="Masked: the secret part is never returned. Empty when none is set."
        )
        slack_webhook_configured = serializers.BooleanField()
        alert_on_new_failures = StrictBooleanField()
        alert_min_severity = serializers.ChoiceField(choices=ALERT_MIN_SEVERITY_CHOICES)
        health_alert_threshold = StrictFloatField()
        daily_summary = StrictBooleanField(
            help_text="Whether a summary of the previous day is posted every morning at 08:00 (DASHBOARD_TIME_ZONE)."
        )
        updated_at = serializers.DateTimeField()

        class Meta:
            ref_name = "Settings"

    def _output(self, settings_row) -> dict:
        return self.OutputSerializer(
            {
                "slack_webhook_url": slack_webhook_url_mask(settings_row.slack_webhook_url),
                "slack_webhook_configured": bool(settings_row.slack_webhook_url),
                "alert_on_new_failures": settings_row.alert_on_new_failures,
                "alert_min_severity": settings_row.alert_min_severity,
                "health_alert_threshold": settings_row.health_alert_threshold,
                "daily_summary": settings_row.daily_summary,
                "updated_at": settings_row.updated_at,
            }
        ).data

    @extend_schema(
        operation_id="settings_retrieve",
        summary="The product settings",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request):
        return Response(self._output(app_settings_get()))

    @extend_schema(
        operation_id="settings_update",
        summary="Replace the product settings",
        request=InputSerializer,
        responses={200: OutputSerializer, **WRITE_ERRORS},
    )
    def put(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self._output(app_settings_update(**serializer.validated_data)))
