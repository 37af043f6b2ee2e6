"""The settings as written, by the JSON API (PUT /api/v1/settings) and by the Settings page alike."""

from rest_framework import serializers

from alerts.models import ALERT_MIN_SEVERITY_CHOICES
from alerts.slack import slack_webhook_url_problem
from convosensei.serializers import StrictBooleanField, StrictCharField, StrictFloatField


class SettingsInputSerializer(serializers.Serializer):
    slack_webhook_url = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=(
            "https://hooks.slack.com/… only. Leave it out (or send the masked value back) to keep the "
            "stored URL; send an empty string to remove it."
        ),
    )
    alert_on_new_failures = StrictBooleanField()
    alert_min_severity = serializers.ChoiceField(choices=ALERT_MIN_SEVERITY_CHOICES)
    health_alert_threshold = StrictFloatField(
        min_value=0, max_value=100, help_text="Alert when a conversation's health falls below this."
    )
    daily_summary = StrictBooleanField(
        required=False,
        help_text=(
            "Post a summary of the previous day every morning at 08:00 in DASHBOARD_TIME_ZONE. Leave it out to keep "
            "the stored value."
        ),
    )

    class Meta:
        ref_name = "SettingsInput"

    def validate_slack_webhook_url(self, value: str) -> str:
        value = value.strip()
        problem = slack_webhook_url_problem(value) if value else None
        if problem:
            raise serializers.ValidationError(problem)
        return value
