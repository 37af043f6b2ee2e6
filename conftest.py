import os
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tests.standin import SlackStandin, standin_ca_bundle


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """A test database of this run's own, so that two runs on one machine never drop each other's."""
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_convosensei_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Static files as production serves them (whitenoise, hashed names), collected once per run."""
    with django_db_blocker.unblock():
        call_command("collectstatic", "--no-input", verbosity=0)


@pytest.fixture(scope="session")
def slack_standin_server() -> Iterator[SlackStandin]:
    """One Slack stand-in (HTTPS on 127.0.0.1) for the run; the test worker is pointed at it too."""
    with SlackStandin() as standin:
        yield standin


@pytest.fixture
def slack_standin(slack_standin_server: SlackStandin, settings, monkeypatch) -> SlackStandin:
    """The Slack stand-in, emptied, and accepted as the product accepts Slack: its host:port is the one allowed
    webhook host, and its certificate verifies against the test CA (REQUESTS_CA_BUNDLE), not by skipping checks."""
    slack_standin_server.reset()
    settings.SLACK_WEBHOOK_HOSTS = [slack_standin_server.netloc]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin_ca_bundle())
    return slack_standin_server


@pytest.fixture
def slack_saved(slack_standin: SlackStandin) -> SlackStandin:
    """The Slack stand-in saved as the webhook, with the default thresholds (high failures, health below 40)."""
    from alerts.services import app_settings_update

    app_settings_update(
        alert_on_new_failures=True,
        alert_min_severity="high",
        health_alert_threshold=40,
        slack_webhook_url=slack_standin.webhook_url,
    )
    return slack_standin
