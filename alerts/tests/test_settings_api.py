"""GET/PUT settings: the single app_settings row, with the Slack webhook URL validated and masked."""

from __future__ import annotations

import logging

import pytest

from alerts.models import AppSettings

URL = "/api/v1/settings"
HOOK = "https://hooks.slack.com/services/T0001/B0002/abcdefSECRET123"
VALID = {"alert_on_new_failures": True, "alert_min_severity": "medium", "health_alert_threshold": 35}


def put(api, body):
    return api.put(URL, body, content_type="application/json")


def test_first_read_creates_the_single_row_with_defaults(api):
    body = api.get(URL).json()
    assert (AppSettings.objects.get().id, body["slack_webhook_configured"], body["alert_min_severity"]) == (
        1,
        False,
        "high",
    )


def test_put_stores_the_thresholds(api):
    put(api, {**VALID, "slack_webhook_url": HOOK})
    row = AppSettings.objects.get()
    assert (row.alert_min_severity, row.health_alert_threshold, row.slack_webhook_url) == ("medium", 35.0, HOOK)


def test_put_turns_the_daily_summary_on_and_get_says_so(api):
    put(api, {**VALID, "daily_summary": True})
    assert (AppSettings.objects.get().daily_summary, api.get(URL).json()["daily_summary"]) == (True, True)


def test_put_without_the_daily_summary_keeps_it(api):
    put(api, {**VALID, "daily_summary": True})
    put(api, VALID)
    assert AppSettings.objects.get().daily_summary is True


def test_the_daily_summary_is_off_until_turned_on(api):
    assert api.get(URL).json()["daily_summary"] is False


def test_the_webhook_url_is_masked_in_responses(api):
    body = put(api, {**VALID, "slack_webhook_url": HOOK}).json()
    assert body["slack_webhook_url"] == "https://hooks.slack.com/services/T0001/B0002/••••••"


def test_the_webhook_secret_never_appears_in_a_read(api):
    put(api, {**VALID, "slack_webhook_url": HOOK})
    assert "SECRET" not in api.get(URL).content.decode()


def test_put_without_the_url_keeps_it(api):
    put(api, {**VALID, "slack_webhook_url": HOOK})
    put(api, {**VALID, "health_alert_threshold": 20})
    assert AppSettings.objects.get().slack_webhook_url == HOOK


def test_put_with_the_masked_url_keeps_it(api):
    masked = put(api, {**VALID, "slack_webhook_url": HOOK}).json()["slack_webhook_url"]
    put(api, {**VALID, "slack_webhook_url": masked})
    assert AppSettings.objects.get().slack_webhook_url == HOOK


def test_put_with_an_empty_url_removes_it(api):
    put(api, {**VALID, "slack_webhook_url": HOOK})
    body = put(api, {**VALID, "slack_webhook_url": ""}).json()
    assert (body["slack_webhook_configured"], AppSettings.objects.get().slack_webhook_url) == (False, "")


def test_the_webhook_url_is_never_logged(api, caplog):
    with caplog.at_level(logging.DEBUG):
        put(api, {**VALID, "slack_webhook_url": HOOK})
    assert "SECRET" not in caplog.text + repr([r.__dict__ for r in caplog.records])


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T0001/B0002/abc",
        "https://evil.example.com/services/T0001/B0002/abc",
        "https://hooks.slack.com.evil.example/services/T/B/abc",
        "https://user:pw@hooks.slack.com/services/T/B/abc",
        "https://hooks.slack.com:8443/services/T/B/abc",
        "https://hooks.slack.com/",
        "not a url",
    ],
)
def test_a_url_other_than_a_slack_webhook_is_refused_with_field_details(api, url):
    response = put(api, {**VALID, "slack_webhook_url": url})
    assert (response.status_code, list(response.json()["details"])) == (400, ["slack_webhook_url"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"health_alert_threshold": 101}, "health_alert_threshold"),
        ({"alert_min_severity": "critical"}, "alert_min_severity"),
        ({"alert_on_new_failures": "sometimes"}, "alert_on_new_failures"),
        ({"daily_summary": "yes"}, "daily_summary"),
    ],
)
def test_invalid_threshold_is_refused_with_field_details(api, change, field):
    response = put(api, {**VALID, **change})
    assert (response.status_code, list(response.json()["details"])) == (400, [field])


def test_missing_fields_are_refused(api):
    response = put(api, {"alert_on_new_failures": True})
    assert sorted(response.json()["details"]) == ["alert_min_severity", "health_alert_threshold"]


@pytest.mark.parametrize("client_name", ["anonymous", "forged", "api_key_client"])
def test_settings_refuse_anything_but_a_dashboard_credential(request, client_name):
    client = request.getfixturevalue(client_name)
    assert (client.get(URL).status_code, put(client, VALID).status_code) == (401, 401)
