import io
import json
import logging

import jwt
import pytest
from django.conf import settings as django_settings

from convosensei.settings import LOGGING

TOKEN_SECRET = "log-test-secret-that-is-at-least-32-chars"
API_KEY = "cs_abcd1234_ThisIsTheSecretPartOfTheKeyNeverToBeLogged0123"


@pytest.fixture
def log_output():
    """Everything every logger writes during the test, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter_config = dict(LOGGING["formatters"]["json"])
    formatter_class = formatter_config.pop("()")
    module, _, name = formatter_class.rpartition(".")
    handler.setFormatter(getattr(__import__(module, fromlist=[name]), name)(**formatter_config))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


@pytest.mark.django_db
def test_request_with_token_and_api_key_leaves_neither_in_the_logs(client, settings, log_output):
    settings.SUPABASE_JWT_SECRET = TOKEN_SECRET
    settings.SUPABASE_URL = None
    token = jwt.encode({"sub": "u1", "aud": "authenticated", "exp": 9999999999}, TOKEN_SECRET, algorithm="HS256")
    client.get(
        f"/api/v1/me?api_key={API_KEY}&access_token={token}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_API_KEY=API_KEY,
    )
    output = log_output.getvalue()
    assert '"path": "/api/v1/me"' in output
    assert token not in output
    assert API_KEY not in output
    assert API_KEY.split("_")[2] not in output


@pytest.mark.django_db
def test_request_log_line_has_method_path_status_duration_and_request_id(client, log_output):
    response = client.get("/healthz?x=1")
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    request_lines = [line for line in lines if line["message"] == "http.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["request_id"] == response["X-Request-ID"]
    assert isinstance(line["duration_ms"], float)


def test_logging_is_one_json_object_per_line():
    assert django_settings.LOGGING["handlers"]["stderr"]["formatter"] == "json"
