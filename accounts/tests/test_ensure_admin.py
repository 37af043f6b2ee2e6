"""make run's first start creates the single admin and shows its password once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


def _ensure_admin() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_password_is_shown_once_with_a_reset_command_that_runs_on_the_local_data(settings):
    settings.DEBUG = True  # make run's settings
    first = _ensure_admin()
    assert "Username: admin  Password: " in first
    assert "DJANGO_DEBUG=true .venv/bin/python manage.py changepassword admin" in first
    second = _ensure_admin()
    assert "Password:" not in second
    assert "DJANGO_DEBUG=true .venv/bin/python manage.py changepassword admin" in second
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
def test_with_production_settings_the_reset_command_needs_no_debug_prefix(settings):
    settings.DEBUG = False
    assert "change it with: .venv/bin/python manage.py changepassword admin" in _ensure_admin()
