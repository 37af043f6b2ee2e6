"""Reads of the alerts app."""

from alerts.models import SINGLETON_ID, AppSettings


def app_settings_get() -> AppSettings:
    """The single settings row (id 1), created with the defaults on first read."""
    settings_row, _ = AppSettings.objects.get_or_create(id=SINGLETON_ID)
    return settings_row
