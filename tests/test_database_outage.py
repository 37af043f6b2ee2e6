"""PostgreSQL stopped and started for real under a running product (gunicorn, a Celery worker): clear answers while it
is away, nothing half-stored, and everything back by itself once it returns, without restarting a process.

The database is a throwaway cluster of this module's own (tests/throwaway_postgres.py), the Redis too: nothing here
touches the suite's database or its Redis, nor the workers other tests start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import convosensei_sdk
import psycopg
import pytest
import requests

from analytics.tests.conftest import Worker, stop_process, wait_until
from convosensei.embedded import EmbeddedRedis, free_port
from ingestion.tests.payloads import transcript
from tests.subprocess_env import _TEST_ONLY, ROOT, run_manage
from tests.throwaway_postgres import ThrowawayPostgres, require_binaries

TRACK = "/api/v1/conversations/track"
BATCH = "/api/v1/conversations/track/batch"
ADMIN_PASSWORD = "outage-test-password-1"


class Product:
    """gunicorn and a Celery worker on a throwaway PostgreSQL and Redis."""

    def __init__(self, *, database: ThrowawayPostgres, env: dict[str, str], key: str) -> None:
        self.database = database
        self.env = env
        self.key = key
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web_log = Path(tempfile.mkdtemp(prefix="convosensei-test-web-")) / "web.log"
        self.web: subprocess.Popen | None = None
        self.worker = Worker(env=env)

    def start(self) -> Product:
        with self.web_log.open("w") as log:
            # Two threads, each with a connection of its own kept between requests (DATABASE_CONN_MAX_AGE).
            self.web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "convosensei.wsgi", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--threads", "2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        ready = wait_until(lambda: self._healthy(), timeout=60, interval=0.2)
        assert ready, self.web_log.read_text()
        self.worker.start()
        return self

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.worker.stop()
        if self.web is not None:
            stop_process(self.web)

    def post(self, path: str, body: dict, key: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return requests.post(f"{self.base_url}{path}", json=body, headers=headers, timeout=10)

    def web_log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.web_log.read_text().splitlines() if line.startswith("{")]

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.database.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, *params) -> None:
        with psycopg.connect(self.database.url, autocommit=True) as conn:
            conn.execute(sql, params)

    def send_task(self, name: str, **kwargs) -> None:
        """Publish a task to the product's Redis, as the web processes and beat do."""
        from convosensei.celery import app

        with app.connection_for_write(self.env["REDIS_URL"]) as connection:
            app.send_task(name, kwargs=kwargs, connection=connection)

    @contextmanager
    def database_down(self):
        """The database stopped as a restart or a failover stops it (every session ended at once); started again on
        leaving, whatever happened inside."""
        self.database.stop("fast")
        try:
            yield
        finally:
            self.database.start()


def _shell(env: dict[str, str], code: str) -> str:
    result = run_manage(["shell", "-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def product():
    require_binaries()
    database = ThrowawayPostgres().start()
    redis = EmbeddedRedis(data_dir=Path(tempfile.mkdtemp(prefix="convosensei-test-outage-redis-"))).start()
    started: Product | None = None
    try:
        database.create_database()
        env = {key: value for key, value in os.environ.items() if key not in _TEST_ONLY}
        env.update(
            DATABASE_URL=database.url,
            REDIS_URL=redis.url,
            DJANGO_SECRET_KEY="outage-test-secret-key-" + "x" * 40,
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_COOKIES="false",
            DATABASE_CONN_MAX_AGE="60",  # the default: connections outlive a restart of the database
            DATABASE_CONNECT_TIMEOUT="2",
            # Short retries, so that a task runs out of them within seconds of the database going away.
            TASK_MAX_RETRIES="2",
            TASK_RETRY_BACKOFF_SECONDS="1",
            TASK_RETRY_BACKOFF_MAX_SECONDS="2",
            SWEEP_UNSCORED_AFTER_SECONDS="0",
            FEATURE_EMBEDDINGS="false",
            LOG_LEVEL="INFO",
        )
        migrate = run_manage(["migrate", "--no-input", "-v", "0"], env)
        assert migrate.returncode == 0, migrate.stderr
        keys = _shell(
            env,
            "from accounts.services import api_key_create; from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_superuser('admin', password='{ADMIN_PASSWORD}'); "
            "print(api_key_create(name='outage')[1], api_key_create(name='spare')[1])",
        )
        key, spare_key = keys.split()
        started = Product(database=database, env=env, key=key).start()
        started.spare_key = spare_key
        yield started
    finally:
        if started is not None:
            started.stop()
        redis.stop()
        database.remove()


def _logged_in(product: Product) -> requests.Session:
    session = requests.Session()
    session.get(f"{product.base_url}/login/", timeout=10)
    response = session.post(
        f"{product.base_url}/login/",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{product.base_url}/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


def test_ingestion_while_the_database_is_down_answers_503_with_retry_after_and_stores_nothing(product):
    assert product.post(TRACK, transcript("before-outage")).status_code == 202  # the key is now verified and cached
    with product.database_down():
        single = product.post(TRACK, transcript("during-outage"))
        batch = product.post(BATCH, {"conversations": [transcript("during-outage-a"), transcript("during-outage-b")]})
        unverified_key = product.post(TRACK, transcript("during-outage-c"), key=product.spare_key)
    stored = product.query("SELECT external_id, message_count FROM conversations ORDER BY external_id")

    expected = {"message": "The database is unavailable; try again shortly.", "code": "database_unavailable"}
    for response in (single, batch, unverified_key):
        assert (response.status_code, response.json(), response.headers.get("Retry-After")) == (503, expected, "5")
    assert stored == [("before-outage", 6)]


def test_the_sdk_retries_through_the_outage_and_delivers_once_the_database_is_back(product):
    sdk = convosensei_sdk.Client(api_key=product.key, base_url=product.base_url, backoff_base=0.1, max_retries=10)
    try:
        with product.database_down():
            sdk.track(conversation_id="sdk-outage", messages=[{"role": "user", "content": "Where is my order?"}])
            assert wait_until(lambda: sdk.stats().retries >= 1, timeout=15)
        assert sdk.flush(timeout=30)
        stats = sdk.stats()
    finally:
        sdk.shutdown(timeout=5)
    assert (stats.sent, stats.failed) == (1, 0)
    assert product.query("SELECT message_count FROM conversations WHERE external_id = 'sdk-outage'") == [(1,)]


def test_readyz_names_the_database_while_it_is_down_and_is_ready_again_once_it_is_back(product):
    with product.database_down():
        down = requests.get(f"{product.base_url}/readyz", timeout=10)
        alive = requests.get(f"{product.base_url}/healthz", timeout=10)
    back = requests.get(f"{product.base_url}/readyz", timeout=10)
    assert (down.status_code, down.json()["checks"]["database"]) == (503, "down")
    assert alive.status_code == 200
    assert (back.status_code, back.json()["status"]) == (200, "ok")


def test_pages_and_the_read_api_say_the_database_is_unavailable_in_one_log_line_without_traceback(product):
    session = _logged_in(product)
    logged_before = len(product.web_log_lines())
    with product.database_down():
        pages = [session.get(f"{product.base_url}{path}", timeout=10) for path in ("/", "/conversations/") * 3]
        api = [session.get(f"{product.base_url}/api/v1/conversations", timeout=10) for _ in range(3)]
    lines = product.web_log_lines()[logged_before:]

    assert {(page.status_code, page.headers.get("Retry-After")) for page in pages} == {(503, "5")}
    assert "The database is unavailable" in pages[0].text
    assert "Traceback" not in pages[0].text
    assert {(response.status_code, response.json()["code"]) for response in api} == {(503, "database_unavailable")}
    # The request log has a line per request; what went wrong is said at most once (once a minute per process).
    assert len([line for line in lines if line["message"] == "database.unavailable"]) <= 1
    errors = [line["message"] for line in lines if line["level"] == "ERROR"]
    assert [message for message in errors if message != "database.unavailable"] == []
    assert [line for line in lines if "exc_info" in line] == []


def test_the_first_requests_after_a_restart_succeed_on_connections_kept_from_before_it(product):
    def send(external_id: str) -> int:
        return product.post(TRACK, transcript(external_id)).status_code

    with ThreadPoolExecutor(4) as pool:
        warm = list(pool.map(send, [f"warm-{n}" for n in range(8)]))
        product.database.stop("fast")
        product.database.start()
        after = list(pool.map(send, [f"after-restart-{n}" for n in range(8)]))
    session = _logged_in(product)
    page = session.get(f"{product.base_url}/conversations/", timeout=10)
    assert warm == [202] * 8
    assert after == [202] * 8
    assert page.status_code == 200


def _state(product: Product, conversation_id: str) -> str:
    [(state,)] = product.query("SELECT processing_state FROM conversations WHERE id = %s", conversation_id)
    return state


def test_a_scoring_that_runs_out_of_retries_while_the_database_is_down_is_done_once_it_is_back(product):
    conversation_id = product.post(TRACK, transcript(f"scored-late-{uuid.uuid4().hex[:6]}")).json()["conversation_id"]
    assert wait_until(lambda: _state(product, conversation_id) == "scored", timeout=30), product.worker.log()
    product.execute("UPDATE conversations SET processing_state = 'pending' WHERE id = %s", conversation_id)
    with product.database_down():
        product.send_task("analytics.process_conversation", conversation_id=conversation_id)
        # TASK_MAX_RETRIES=2 with 1-2 s between them: the task runs out of retries while the database is away.
        waited = wait_until(lambda: "task.waiting_for_database" in product.worker.log(), timeout=30)
    scored = wait_until(lambda: _state(product, conversation_id) == "scored", timeout=30)
    assert scored, product.worker.log()
    assert product.query("SELECT count(*) FROM dead_letters") == [(0,)]
    assert waited, product.worker.log()


def test_the_same_worker_scores_new_conversations_and_the_sweep_scores_those_left_pending_once_it_is_back(product):
    left = product.post(TRACK, transcript(f"left-pending-{uuid.uuid4().hex[:6]}")).json()["conversation_id"]
    assert wait_until(lambda: _state(product, left) == "scored", timeout=30), product.worker.log()
    product.execute("UPDATE conversations SET processing_state = 'pending' WHERE id = %s", left)  # its task was lost
    logged_before = len(product.worker.log().splitlines())
    with product.database_down():
        product.send_task("analytics.sweep_unscored")  # fails: the next sweep is a minute later
        time.sleep(1)
    during = product.worker.log().splitlines()[logged_before:]
    new = product.post(TRACK, transcript(f"new-after-{uuid.uuid4().hex[:6]}")).json()["conversation_id"]
    new_scored = wait_until(lambda: _state(product, new) == "scored", timeout=30)
    product.send_task("analytics.sweep_unscored")
    left_scored = wait_until(lambda: _state(product, left) == "scored", timeout=30)
    assert new_scored, product.worker.log()
    assert left_scored, product.worker.log()
    # The failed sweep is said by the once-a-minute line (or counted in the next one), not by Celery's traceback.
    assert [line for line in during if "Traceback" in line or "exc_info" in line] == []
    assert product.worker.process.poll() is None


def _beat(product: Product) -> tuple[subprocess.Popen, Path]:
    log_dir = Path(tempfile.mkdtemp(prefix="convosensei-test-outage-beat-"))
    log_path = log_dir / "beat.log"
    with log_path.open("w") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "convosensei", "beat", "-l", "INFO",
             "--schedule", str(log_dir / "schedule")],
            cwd=ROOT, env=product.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return beat, log_path


def test_beat_says_the_database_is_away_in_one_line_without_tracebacks_and_goes_on_once_it_is_back(product):
    beat, log_path = _beat(product)

    def lines() -> list[str]:
        return log_path.read_text(errors="replace").splitlines()

    try:
        # Running, past its start (which reads the schedule from the database too): it has sent what was due.
        assert wait_until(lambda: any("Sending due task" in line for line in lines()), timeout=75), log_path.read_text()
        during = len(lines())
        with product.database_down():
            time.sleep(12)  # beat reads its schedule from the database at each tick, every 5 s
        after = len(lines())
        # Its sweeps are due every minute: once one is sent after the database is back, beat has gone on.
        sent_again = wait_until(lambda: any("Sending due task" in line for line in lines()[after:]), timeout=75)
    finally:
        stop_process(beat)
    outage = lines()[during:after]
    assert [line for line in outage if "Traceback" in line or "exc_info" in line] == []
    assert [json.loads(line)["message"] for line in outage if line.startswith("{")].count("database.unavailable") == 1
    assert sent_again, log_path.read_text()


def test_beat_started_while_the_database_is_down_waits_for_it_and_schedules_once_it_is_back(product):
    with product.database_down():
        beat, log_path = _beat(product)
        try:
            # It reads its schedule from the database as it starts: it says the database is away, and stays up.
            said = wait_until(lambda: "database.unavailable" in log_path.read_text(errors="replace"), timeout=60)
            time.sleep(2 * 5)  # two more attempts, 5 s apart
            alive = beat.poll() is None
        except BaseException:
            stop_process(beat)
            raise
    try:
        assert said and alive, log_path.read_text()
        # Once the database is back it starts scheduling: its sweeps are due every minute.
        assert wait_until(lambda: "Sending due task" in log_path.read_text(errors="replace"), timeout=75), (
            log_path.read_text()
        )
    finally:
        stop_process(beat)
    lines = log_path.read_text(errors="replace").splitlines()
    assert [line for line in lines if "Traceback" in line or "exc_info" in line] == []
    assert [json.loads(line)["message"] for line in lines if line.startswith("{")].count("database.unavailable") == 1
