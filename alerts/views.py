"""Dashboard pages of the alerts app: the Slack section of Settings (the page itself: accounts/views.py).

Both forms POST here and redirect back to the page (POST-redirect-GET), so a reload sends nothing again;
a submission with errors shows the page again with each error beside its field.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.shortcuts import redirect

from accounts.views import settings_page_render
from alerts.selectors import slack_settings_section
from alerts.serializers import SettingsInputSerializer
from alerts.services import app_settings_update, slack_test_message_send
from alerts.slack import Outcome
from convosensei.decorators import form_post

SECTION = "/settings/#slack"


@form_post(page=SECTION)
def slack_settings_save(request):
    """Save the Slack section and go back to the page; with errors, the page again (400), each beside its field."""
    submitted = {
        "slack_webhook_url": request.POST.get("slack_webhook_url", ""),
        "alert_on_new_failures": request.POST.get("alert_on_new_failures") == "on",
        "alert_min_severity": request.POST.get("alert_min_severity", ""),
        "health_alert_threshold": request.POST.get("health_alert_threshold", "").strip(),
        "daily_summary": request.POST.get("daily_summary") == "on",
    }
    serializer = SettingsInputSerializer(
        data={**submitted, "health_alert_threshold": _number(submitted["health_alert_threshold"])}
    )
    if not serializer.is_valid():
        section = slack_settings_section(submitted=submitted, errors=serializer.errors)
        response = settings_page_render(request, slack=section, status=400)
        response["Cache-Control"] = "no-store"  # it may show a webhook URL as it was typed
        return response
    app_settings_update(**serializer.validated_data)
    messages.success(request, "Saved the Slack alert settings.")
    return redirect(SECTION)


@form_post(page=SECTION)
def slack_test_message(request):
    """Post a test message to the saved webhook now and say how it went."""
    result = slack_test_message_send()
    if result.outcome == Outcome.SENT:
        messages.success(request, "Test message sent: it should be in the Slack channel now.")
    else:
        messages.error(request, f"The test message was not sent. {result.reason}")
    return redirect(SECTION)


def _number(raw: str) -> float | str:
    """`raw` as a number when it is a finite one, else as typed (the serializer then says it is invalid)."""
    try:
        number = float(raw)
    except ValueError:
        return raw
    return number if math.isfinite(number) else raw
