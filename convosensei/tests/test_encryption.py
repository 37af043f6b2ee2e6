"""Stored secrets are encrypted under DJANGO_SECRET_KEY, readable after a key rotation, and never stored in clear."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import AppSettings
from alerts.selectors import slack_alerts_configured
from convosensei.encryption import TOKEN_PREFIX, UnreadableSecretError, decrypt, encrypt

HOOK = "https://hooks.slack.com/services/T0001/B0002/abcdefSECRET123"


def _stored_column() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT slack_webhook_url FROM app_settings WHERE id = 1")
        return cursor.fetchone()[0]


def test_a_value_decrypts_to_itself_and_encrypts_differently_each_time():
    first, second = encrypt(HOOK), encrypt(HOOK)
    assert (decrypt(first), decrypt(second), first != second) == (HOOK, HOOK, True)


def test_a_value_encrypted_under_another_key_is_refused_with_the_remedy(settings):
    token = encrypt(HOOK)
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    with pytest.raises(UnreadableSecretError, match="DJANGO_SECRET_KEY_FALLBACKS"):
        decrypt(token)


@pytest.mark.django_db
def test_the_slack_webhook_url_is_stored_encrypted_and_read_back_whole():
    AppSettings.objects.create(slack_webhook_url=HOOK)
    stored = _stored_column()
    assert (stored.startswith(TOKEN_PREFIX), "hooks.slack" in stored, "SECRET" in stored) == (True, False, False)
    assert AppSettings.objects.get().slack_webhook_url == HOOK


@pytest.mark.django_db
def test_an_empty_url_stays_empty_so_that_no_url_can_be_queried():
    AppSettings.objects.create(slack_webhook_url="")
    assert (_stored_column(), slack_alerts_configured()) == ("", False)


@pytest.mark.django_db
def test_after_a_key_rotation_the_old_key_among_the_fallbacks_still_reads_the_url(settings):
    AppSettings.objects.create(slack_webhook_url=HOOK)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-rotated-secret-key-" + "z" * 40
    assert AppSettings.objects.get().slack_webhook_url == HOOK


@pytest.mark.django_db
def test_a_url_no_key_decrypts_reads_as_unset_with_a_warning_naming_the_remedy(settings, caplog):
    AppSettings.objects.create(slack_webhook_url=HOOK)
    settings.SECRET_KEY = "the-rotated-secret-key-" + "z" * 40
    with caplog.at_level(logging.WARNING, logger="convosensei.encryption"):
        value = AppSettings.objects.get().slack_webhook_url
    [record] = [r for r in caplog.records if r.getMessage() == "encryption.unreadable"]
    assert (value, record.field, "DJANGO_SECRET_KEY_FALLBACKS" in record.hint) == (
        "",
        "app_settings.slack_webhook_url",
        True,
    )


@pytest.mark.django_db(transaction=True)
def test_migrating_encrypts_a_url_stored_in_clear_and_migrating_back_restores_it():
    executor = MigrationExecutor(connection)
    before, after = [("alerts", "0003_app_settings_valid_thresholds")], [("alerts", "0004_slack_webhook_url_encrypted")]
    try:
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE app_settings SET slack_webhook_url = %s WHERE id = 1", [HOOK])
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO app_settings (id, slack_webhook_url, alert_on_new_failures, "
                               "alert_min_severity, health_alert_threshold, features, updated_at) "
                               "VALUES (1, %s, true, 'high', 40, '{}', now())", [HOOK])  # fmt: skip
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        encrypted = _stored_column()
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        restored = _stored_column()
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert (encrypted.startswith(TOKEN_PREFIX), decrypt(encrypted), restored) == (True, HOOK, HOOK)
