"""The data model as the database enforces it."""

import json
import os
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.utils import timezone

from alerts.models import AppSettings
from tests.subprocess_env import run_manage, run_python

TABLES = {
    "conversations", "messages", "failures", "usage_patterns", "pattern_conversations",
    "conversation_embeddings", "api_keys", "app_settings", "saved_views", "user_profiles",
    "user_sessions", "user_security_logs",
}  # fmt: skip


def _column_type(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def _insert_conversation(cursor, external_id: str) -> uuid.UUID:
    conversation_id = uuid.uuid4()
    now = timezone.now()
    cursor.execute(
        "INSERT INTO conversations (id, external_id, environment, end_user_id, message_count, health_breakdown,"
        " sentiment_summary, has_failures, failure_count, processing_state, metadata, created_at, updated_at)"
        " VALUES (%s, %s, '', '', 0, '{}', '{}', false, 0, 'pending', '{}', %s, %s)",
        [conversation_id, external_id, now, now],
    )
    return conversation_id


@pytest.mark.django_db
def test_migrate_creates_all_twelve_tables():
    assert set(connection.introspection.table_names()) >= TABLES


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_a_second_app_settings_row_is_refused_by_the_database():
    AppSettings.objects.create()
    with pytest.raises(IntegrityError, match="app_settings_single_row"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO app_settings (id, slack_webhook_url, alert_on_new_failures, alert_min_severity,"
            " health_alert_threshold, features, updated_at) VALUES (2, '', true, 'high', 40, '{}', now())"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("alert_min_severity", "'urgent'", "app_settings_alert_min_severity_valid"),
        ("health_alert_threshold", "101", "app_settings_health_alert_threshold_0_100"),
        ("health_alert_threshold", "-1", "app_settings_health_alert_threshold_0_100"),
    ],
)
def test_alert_settings_the_evaluation_cannot_use_are_refused_by_the_database(column, value, constraint):
    AppSettings.objects.create()
    with pytest.raises(IntegrityError, match=constraint), connection.cursor() as cursor:
        cursor.execute(f"UPDATE app_settings SET {column} = {value}")


@pytest.mark.django_db
def test_a_pattern_conversation_with_a_null_part_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="null value"), connection.cursor() as cursor:
        cursor.execute("INSERT INTO pattern_conversations (pattern_id, conversation_id) VALUES (NULL, NULL)")


@pytest.mark.django_db
def test_pattern_conversations_primary_key_is_the_pair():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "pattern_conversations")
    primary = [c["columns"] for c in constraints.values() if c["primary_key"]]
    assert primary == [["pattern_id", "conversation_id"]]


@pytest.mark.django_db
def test_sentiment_score_is_double_precision():
    assert _column_type("messages", "sentiment_score") == "double precision"


@pytest.mark.django_db
def test_conversation_external_id_is_unique():
    with connection.cursor() as cursor:
        _insert_conversation(cursor, "same-id")
        with pytest.raises(IntegrityError, match="external_id"):
            _insert_conversation(cursor, "same-id")


@pytest.mark.django_db
def test_message_dedupe_key_is_unique_per_conversation():
    insert = (
        "INSERT INTO messages (conversation_id, position, role, content, timestamp, metadata, dedupe_key, created_at)"
        " VALUES (%s, 0, 'user', 'hi', now(), '{}', 'k1', now())"
    )
    with connection.cursor() as cursor:
        conversation_id = _insert_conversation(cursor, "c1")
        cursor.execute(insert, [conversation_id])
        with pytest.raises(IntegrityError, match="messages_conversation_dedupe_key"):
            cursor.execute(insert, [conversation_id])


@pytest.mark.django_db
def test_embedded_database_has_pgvector_for_embeddings():
    from analytics.embeddings import embeddings_available

    embeddings_available.cache_clear()
    assert embeddings_available() is True


def _machine_postgres_url() -> str:
    return os.environ.get("TEST_PLAIN_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def plain_database_url():
    """A new empty database on a PostgreSQL without pgvector (the machine's PostgreSQL 15), dropped after."""
    admin_url = _machine_postgres_url()
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no plain PostgreSQL at {admin_url}: {exc}")
    name = f"convosensei_plain_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield admin_url.rsplit("/", 1)[0] + "/" + name
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrate_succeeds_on_postgres_without_pgvector_and_embeddings_report_unavailable(plain_database_url):
    env = {"DATABASE_URL": plain_database_url, "DJANGO_DEBUG": "true"}
    migrate = run_manage(["migrate", "--no-input"], env)
    assert migrate.returncode == 0, migrate.stderr
    probe = run_python(
        ["-c", "import django; django.setup(); from django.db import connection;"
               "from analytics.embeddings import embeddings_available;"
               "print(sorted(connection.introspection.table_names()), embeddings_available())"],
        {**env, "DJANGO_SETTINGS_MODULE": "convosensei.settings"},
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert all(f"'{table}'" in probe.stdout for table in TABLES)
    assert probe.stdout.strip().endswith("False")


def test_embeddings_turned_on_without_pgvector_say_so_in_the_log(plain_database_url):
    # FEATURE_EMBEDDINGS=true on such a database stored no vector, and nothing but a page's footnote said why.
    env = {"DATABASE_URL": plain_database_url, "DJANGO_DEBUG": "true", "FEATURE_EMBEDDINGS": "true"}
    assert run_manage(["migrate", "--no-input"], env).returncode == 0
    probe = run_python(
        ["-c", "import django; django.setup(); from analytics.embeddings import embeddings_enabled;"
               "print(embeddings_enabled(), embeddings_enabled())"],
        {**env, "DJANGO_SETTINGS_MODULE": "convosensei.settings", "LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    assert probe.stdout.strip() == "False False"
    (line,) = [json.loads(line) for line in probe.stderr.splitlines() if "embeddings." in line]
    assert line["message"] == "embeddings.pgvector_missing" and line["level"] == "WARNING"
