"""Settings → Slack alerts, server side: save, field errors, the masked URL, the test message."""

from __future__ import annotations

import re

import pytest

from alerts.models import AppSettings
from tests.standin import Reply

pytestmark = pytest.mark.django_db

SAVE = "/settings/slack"
TEST = "/settings/slack/test"
FORM = {"alert_on_new_failures": "on", "alert_min_severity": "medium", "health_alert_threshold": "35"}


def stored() -> tuple:
    row = AppSettings.objects.get()
    return row.slack_webhook_url, row.alert_on_new_failures, row.alert_min_severity, row.health_alert_threshold


def test_the_slack_section_comes_before_the_api_keys(admin_client):
    page = admin_client.get("/settings/").content.decode()
    assert page.index(">Slack alerts</h2>") < page.index(">API keys</h2>")


def test_saving_stores_the_settings_and_goes_back_to_the_page(admin_client, slack_standin):
    response = admin_client.post(SAVE, {**FORM, "slack_webhook_url": slack_standin.webhook_url})
    assert (response.status_code, response["Location"]) == (302, "/settings/#slack")
    assert stored() == (slack_standin.webhook_url, True, "medium", 35.0)


def test_saving_says_so_on_the_page(admin_client, slack_standin):
    response = admin_client.post(SAVE, {**FORM, "slack_webhook_url": slack_standin.webhook_url}, follow=True)
    assert "Saved the Slack alert settings." in response.content.decode()


def test_an_unticked_box_turns_alerting_on_failures_off(admin_client, slack_saved):
    admin_client.post(SAVE, {**FORM, "alert_on_new_failures": "", "slack_webhook_url": ""})
    assert stored()[1] is False


def test_a_ticked_daily_summary_box_is_saved_and_shown_ticked(admin_client, slack_saved):
    admin_client.post(SAVE, {**FORM, "daily_summary": "on", "slack_webhook_url": ""})
    page = admin_client.get("/settings/").content.decode()
    box = re.search(r'<input id="daily-summary"[^>]*>', page).group(0)
    assert (AppSettings.objects.get().daily_summary, " checked" in box) == (True, True)


def test_an_unticked_daily_summary_box_turns_the_summary_off(admin_client, slack_saved):
    admin_client.post(SAVE, {**FORM, "daily_summary": "on", "slack_webhook_url": ""})
    admin_client.post(SAVE, {**FORM, "slack_webhook_url": ""})
    assert AppSettings.objects.get().daily_summary is False


def test_the_daily_summary_box_names_its_hour_in_the_dashboard_zone(admin_client, settings):
    settings.DASHBOARD_TIME_ZONE = "Europe/Berlin"
    page = admin_client.get("/settings/").content.decode()
    assert "Post a summary of the previous day every morning at 08:00 (Europe/Berlin)</label>" in page


def test_the_stored_webhook_url_is_shown_masked_and_never_in_clear(admin_client, slack_saved):
    page = admin_client.get("/settings/").content.decode()
    assert f'value="{slack_saved.url}/services/T0STANDIN/B0STANDIN/••••••"' in page
    assert "standin-webhook-secret" not in page


def test_saving_the_masked_url_back_keeps_the_stored_url(admin_client, slack_saved):
    masked = f"{slack_saved.url}/services/T0STANDIN/B0STANDIN/••••••"
    admin_client.post(SAVE, {**FORM, "slack_webhook_url": masked})
    assert stored() == (slack_saved.webhook_url, True, "medium", 35.0)


def test_saving_an_empty_url_removes_it(admin_client, slack_saved):
    admin_client.post(SAVE, {**FORM, "slack_webhook_url": ""})
    assert stored()[0] == ""


def test_a_url_off_slack_is_refused_beside_its_field(admin_client, slack_saved):
    response = admin_client.post(SAVE, {**FORM, "slack_webhook_url": "https://evil.example.com/services/T/B/x"})
    page = response.content.decode()
    field = re.search(r'<input id="slack-webhook-url"[^>]*>', page).group(0)
    assert (response.status_code, 'aria-invalid="true"' in field, stored()[0]) == (400, True, slack_saved.webhook_url)
    assert re.search(r'<p class="error" id="slack-webhook-url-error" role="alert">Must be a Slack webhook URL on', page)


@pytest.mark.parametrize("threshold", ["101", "-1", "lots", "nan", ""])
def test_a_threshold_outside_0_to_100_is_refused_beside_its_field(admin_client, slack_saved, threshold):
    response = admin_client.post(SAVE, {**FORM, "health_alert_threshold": threshold, "slack_webhook_url": ""})
    assert (response.status_code, 'id="health-alert-threshold-error" role="alert"' in response.content.decode()) == (
        400,
        True,
    )
    assert stored()[3] == 40.0


def test_a_refused_form_is_not_cached(admin_client, slack_saved):
    response = admin_client.post(SAVE, {**FORM, "health_alert_threshold": "101"})
    assert response["Cache-Control"] == "no-store"


def test_the_test_message_is_posted_and_the_page_says_it_was_sent(admin_client, slack_saved):
    response = admin_client.post(TEST, follow=True)
    assert "Test message sent" in response.content.decode()
    assert "alerts from" in slack_saved.texts()[0]


def test_a_test_message_slack_refuses_says_why(admin_client, slack_saved):
    slack_saved.replies.append(Reply(404, b"no_service"))
    page = admin_client.post(TEST, follow=True).content.decode()
    assert "The test message was not sent. Slack says the webhook was revoked (404 no_service)." in page


def test_the_test_button_goes_back_to_the_page_so_a_reload_sends_nothing(admin_client, slack_saved):
    response = admin_client.post(TEST)
    assert (response.status_code, response["Location"]) == (302, "/settings/#slack")


def test_without_a_saved_webhook_the_test_button_is_disabled(admin_client):
    page = admin_client.get("/settings/").content.decode()
    assert re.search(r'<button type="submit" aria-describedby="slack-test-help" disabled>Send test message', page)


def test_without_a_saved_webhook_a_test_message_says_so(admin_client, slack_standin):
    page = admin_client.post(TEST, follow=True).content.decode()
    assert ("No Slack webhook URL is saved." in page, slack_standin.requests) == (True, [])


@pytest.mark.parametrize("path", [SAVE, TEST])
def test_the_slack_forms_need_login(client, path):
    response = client.post(path, FORM)
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/login/")


def test_a_key_can_be_created_from_the_page_a_slack_error_left(admin_client):
    # The page comes back at /settings/slack with the error; its key form must still post to the Settings page.
    page = admin_client.post(SAVE, {**FORM, "slack_webhook_url": "http://example.com/hook"}).content.decode()
    key_form = re.search(r'<form method="post" action="([^"]*)" class="filters">', page)
    assert key_form is not None and key_form.group(1) == "/settings/"


def test_a_url_saved_under_another_secret_key_is_named_on_the_page_and_saving_it_again_mends_it(
    admin_client, admin_user, slack_standin, settings
):
    admin_client.post(SAVE, {**FORM, "slack_webhook_url": slack_standin.webhook_url})
    settings.SECRET_KEY = "the-rotated-secret-key-" + "z" * 40
    admin_client.force_login(admin_user)  # the new key ends the sessions signed under the old one
    page = admin_client.get("/settings/").content.decode()
    assert "encrypted under another" in page and "Save a webhook URL first." in page
    admin_client.post(SAVE, {**FORM, "slack_webhook_url": slack_standin.webhook_url})
    assert "encrypted under another" not in admin_client.get("/settings/").content.decode()
    assert stored()[0] == slack_standin.webhook_url
