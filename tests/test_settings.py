"""Settings come from the environment and fail loudly on a bad value."""

import json
import re

from dotenv import dotenv_values

from tests.subprocess_env import ROOT, run_manage, run_python

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k8Qm2vX9pL4rT7wZ1cF6hJ3nB5yD0sG8aE2uI9oP4lK7jH1gF3dS6aQ0wE5rT8y",
    "DJANGO_ALLOWED_HOSTS": "convosensei.example.com",
    "DASHBOARD_BASE_URL": "https://convosensei.example.com",
}


def test_deploy_check_with_production_settings_prints_no_warning():
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_bad_boolean_stops_the_process_naming_the_variable():
    result = run_manage(["check"], {**PRODUCTION, "DJANGO_DEBUG": "yes please"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be one of" in result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    result = run_manage(["check"], {**PRODUCTION, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    assert "DJANGO_DEBUG=true" in result.stderr  # the way to run a command on make run's local data


def test_production_with_the_secret_key_of_env_example_refuses_to_start():
    # `cp .env.example .env` and forgetting to change it: sessions, CSRF and the Slack webhook URL's encryption
    # would rest on a key anyone can read in the repository.
    placeholder = dotenv_values(ROOT / ".env.example")["DJANGO_SECRET_KEY"]
    result = run_manage(["check"], {**PRODUCTION, "DJANGO_SECRET_KEY": placeholder})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is still the placeholder of .env.example" in result.stderr


def test_production_with_a_short_secret_key_refuses_to_start_saying_how_long_it_is():
    result = run_manage(["check"], {**PRODUCTION, "DJANGO_SECRET_KEY": "abc"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is 3 characters long, too short to keep secrets" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_a_command_on_the_local_data_runs_with_debug_settings_and_no_secret_key():
    # As make run's admin password hint and the README say: DJANGO_DEBUG=true .venv/bin/python manage.py ...
    result = run_manage(["changepassword", "--help"], {"DJANGO_DEBUG": "true", "DJANGO_SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert "Change a user's password" in result.stdout


def test_database_url_keeps_sslmode_and_a_root_certificate_for_verified_tls():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    )
    env = {
        **PRODUCTION,
        "DJANGO_SETTINGS_MODULE": "convosensei.settings",
        "DATABASE_URL": "postgres://app:pw@db.example.com:5432/app?sslmode=require",
        "DATABASE_SSLROOTCERT": "/etc/ssl/certs/provider-ca.pem",
    }
    result = run_python(["-c", code], env)
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)
    assert options["sslmode"] == "require"
    assert options["sslrootcert"] == "/etc/ssl/certs/provider-ca.pem"


def test_database_tcp_timeout_sets_libpq_tcp_options_and_zero_leaves_them_to_tcp():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    )
    tcp = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout")
    found = {}
    for value in ("12", "0"):
        env = {
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": "convosensei.settings",
            "DATABASE_URL": "postgres://app:pw@db.example.com:5432/app",
            "DATABASE_TCP_TIMEOUT": value,
        }
        result = run_python(["-c", code], env)
        assert result.returncode == 0, result.stderr
        found[value] = {name: option for name, option in json.loads(result.stdout).items() if name in tcp}
    assert found == {
        "12": {
            "keepalives": 1,
            "keepalives_idle": 6,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": 12000,
        },
        "0": {},
    }


def test_a_database_url_with_an_unescaped_character_in_its_password_names_the_variable_not_the_password():
    # A password with '#', '/' or '?' must be percent-encoded in a URL; the parser's own error named neither the
    # variable nor the remedy. The message never quotes the URL: it holds the password.
    env = {**PRODUCTION, "DATABASE_URL": "postgresql://postgres:ab#cdS3cretPw@db.example.com:5432/postgres"}
    result = run_manage(["check"], env)
    assert result.returncode != 0
    assert "DATABASE_URL is not a valid URL" in result.stderr
    assert "percent-encode" in result.stderr
    assert "S3cretPw" not in result.stderr


SETTINGS_MODULE = {"DJANGO_SETTINGS_MODULE": "convosensei.settings"}
LOCAL_COMMAND = {"DJANGO_DEBUG": "true", "DATABASE_URL": "postgres://app:pw@127.0.0.1:5432/app"}
BROKER_URL = "import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_URL)"


def test_a_command_beside_make_run_sends_tasks_to_its_embedded_redis(tmp_path, monkeypatch):
    # With the default (6379) a replayed dead letter went to whatever Redis listened there, or nowhere.
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "url").write_text("redis://127.0.0.1:61234/0\n")
    monkeypatch.delenv("REDIS_URL", raising=False)
    result = run_python(["-c", BROKER_URL], {**LOCAL_COMMAND, "CONVOSENSEI_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://127.0.0.1:61234/0"


def test_redis_url_in_the_environment_wins_over_make_runs_embedded_redis(tmp_path):
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "url").write_text("redis://127.0.0.1:61234/0\n")
    env = {**LOCAL_COMMAND, "CONVOSENSEI_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6390/2"}
    result = run_python(["-c", BROKER_URL], env)
    assert result.stdout.strip() == "redis://127.0.0.1:6390/2"


def test_every_variable_the_settings_read_is_in_env_example_and_the_readme():
    settings_source = (ROOT / "convosensei" / "settings.py").read_text()
    names = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z0-9_]+)"', settings_source)) | {"CONVOSENSEI_VAR_DIR"}
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert {name for name in names if not re.search(rf"^#? ?{name}=", env_example, re.MULTILINE)} == set()
    assert {name for name in names if f"| `{name}` |" not in readme} == set()


def test_a_python_warning_is_logged_as_a_json_line_like_every_other_record():
    # Django does not route warnings into logging: whitenoise's "No directory at: .../staticfiles/" (collectstatic
    # not run) or a naive datetime's RuntimeWarning came out as plain text among the JSON lines.
    code = "import django, warnings; django.setup(); warnings.warn('the disk is nearly full')"
    result = run_python(["-c", code], {**PRODUCTION, **SETTINGS_MODULE, "DATABASE_URL": LOCAL_COMMAND["DATABASE_URL"]})
    (line,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert line["logger"] == "py.warnings" and "the disk is nearly full" in line["message"]
