import re

import pytest

from tests.subprocess_env import ROOT


@pytest.mark.django_db
def test_login_page_has_labelled_fields(client):
    page = client.get("/login/").content.decode()
    assert '<label for="id_username">Username</label>' in page
    assert '<label for="id_password">Password</label>' in page


@pytest.mark.django_db
def test_admin_logs_in_with_username_and_password(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "a-long-enough-password")
    response = client.post("/login/", {"username": "boss", "password": "a-long-enough-password"})
    assert (response.status_code, response["Location"]) == (302, "/")


@pytest.mark.django_db
def test_wrong_password_shows_an_error(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "a-long-enough-password")
    response = client.post("/login/", {"username": "boss", "password": "nope"})
    assert "didn't match" in response.content.decode()


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(admin_client):
    response = admin_client.post("/logout/")
    assert response["Location"] == "/login/"
    assert admin_client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_the_login_page_resets_the_password_with_the_readmes_command(client):
    command = re.search(r"`([^`]*manage\.py changepassword[^`]*)`", (ROOT / "README.md").read_text()).group(1)
    assert f"<code>{command}</code>" in client.get("/login/").content.decode()
