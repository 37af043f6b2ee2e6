"""Password guessing on the login pages: django-axes refuses a username from an address after
LOGIN_FAILED_ATTEMPTS failures, for LOGIN_LOCKOUT_MINUTES, whatever the password."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)


def _login(client, password, *, path="/login/", address="203.0.113.7", **headers):
    return client.post(path, {"username": "boss", "password": password}, REMOTE_ADDR=address, **headers)


def test_the_fifth_wrong_password_locks_out_and_then_even_the_right_one_is_refused_saying_why(client, admin_user):
    assert [_login(client, "guess").status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    locked = _login(client, PASSWORD)
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "Too many failed logins" in page and "15 minutes" in page and "manage.py axes_reset" in page
    assert "_auth_user_id" not in client.session


def test_four_wrong_passwords_then_the_right_one_logs_in_and_clears_the_count(client, admin_user):
    for _ in range(4):
        _login(client, "guess")
    assert _login(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(failures_since_start__gt=0).exists()


def test_the_lockout_holds_on_the_admins_login_too_and_not_for_another_address(client, admin_user):
    for _ in range(5):
        _login(client, "guess", path="/admin/login/")
    assert _login(client, PASSWORD, path="/admin/login/").status_code == 429
    assert _login(client, PASSWORD, address="198.51.100.9").status_code == 302


def test_axes_reset_lifts_the_lockout(client, admin_user):
    for _ in range(5):
        _login(client, "guess")
    call_command("axes_reset", verbosity=0)
    assert _login(client, PASSWORD).status_code == 302


def test_the_password_tried_is_stored_nowhere(client, admin_user):
    _login(client, "my-secret-guess")
    stored = " ".join(str(row) for row in AccessAttempt.objects.values_list("get_data", "post_data"))
    assert "my-secret-guess" not in stored


def test_without_trusted_proxies_a_forged_forwarded_for_header_does_not_escape_the_lockout(client, admin_user):
    for attempt in range(5):
        _login(client, "guess", address="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
    assert _login(client, PASSWORD, address="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_trusted_proxy_clients_are_told_apart_by_the_address_it_appended(client, admin_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"address": "10.0.0.2"}
    for _ in range(5):
        _login(client, "guess", **proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _login(client, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # What the locked-out client writes itself stays left of what the proxy appends.
    assert _login(client, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7").status_code == 429
    assert _login(client, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302
