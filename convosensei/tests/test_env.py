import pytest
from django.core.exceptions import ImproperlyConfigured

from convosensei.env import env_bool, env_hosts, env_int, env_list, env_time_zone, env_url


@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("ON", True), ("no", False), ("0", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "yes please")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True


def test_env_int_refuses_a_non_number(monkeypatch):
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="COUNT must be an integer"):
        env_int("COUNT", 1)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("COUNT", "-1")
    with pytest.raises(ImproperlyConfigured, match=">= 0"):
        env_int("COUNT", 1, minimum=0)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_env_url_refuses_an_unexpected_scheme(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://db/x")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_url("DATABASE_URL", schemes=("postgres", "postgresql"))


def test_env_url_drops_a_trailing_slash_from_http_urls(monkeypatch):
    monkeypatch.setenv("SUPABASE_URL", "https://abc.supabase.co/")
    assert env_url("SUPABASE_URL", schemes=("https",)) == "https://abc.supabase.co"


def test_env_hosts_reads_hosts_with_optional_ports(monkeypatch):
    monkeypatch.setenv("HOSTS", "Hooks.Slack.com, 127.0.0.1:8443")
    assert env_hosts("HOSTS", []) == ["hooks.slack.com", "127.0.0.1:8443"]


@pytest.mark.parametrize(
    "raw", ["https://hooks.slack.com", "hooks.slack.com/services", "host:port", "host:0", "u@host"]
)
def test_env_hosts_refuses_anything_but_host_and_port(monkeypatch, raw):
    monkeypatch.setenv("HOSTS", raw)
    with pytest.raises(ImproperlyConfigured, match="HOSTS must list host names"):
        env_hosts("HOSTS", [])


def test_env_time_zone_reads_an_iana_name(monkeypatch):
    monkeypatch.setenv("ZONE", "America/New_York")
    assert env_time_zone("ZONE", "UTC") == "America/New_York"
    monkeypatch.delenv("ZONE")
    assert env_time_zone("ZONE", "UTC") == "UTC"


@pytest.mark.parametrize("raw", ["Mars/Olympus_Mons", "CET+1", "Europe", "../../etc/passwd", "zone.tab"])
def test_env_time_zone_refuses_what_is_no_zone(monkeypatch, raw):
    monkeypatch.setenv("ZONE", raw)
    with pytest.raises(ImproperlyConfigured, match=r"ZONE must be an IANA time zone name .* got"):
        env_time_zone("ZONE", "UTC")


@pytest.mark.parametrize(
    "raw",
    [
        "redis://:ab#cdS3cret@redis.internal:6379/0",  # '#' starts a fragment: the port read as 'ab'
        "redis://:ab/cdS3cret@redis.internal:6379/0",  # '/' ends the host: a path holding the rest
        "postgresql://app:ab?cdS3cret@db.example.com:5432/app",
    ],
)
def test_env_url_refuses_an_unescaped_character_in_a_password_without_quoting_it(monkeypatch, raw):
    # The worker died with redis-py's "Port could not be cast to integer value as 'ab'": no variable named, and
    # the start of the password in the log.
    monkeypatch.setenv("SERVICE_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="SERVICE_URL is not a valid URL: percent-encode") as raised:
        env_url("SERVICE_URL", schemes=("redis", "postgresql"))
    assert "'ab'" not in str(raised.value)
    assert "S3cret" not in str(raised.value)


def test_env_url_reads_a_percent_encoded_password(monkeypatch):
    monkeypatch.setenv("SERVICE_URL", "redis://:ab%23cd%2Fef@redis.internal:6379/0")
    assert env_url("SERVICE_URL", schemes=("redis",)) == "redis://:ab%23cd%2Fef@redis.internal:6379/0"
