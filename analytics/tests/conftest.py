"""A real Celery worker, in a child process, against the test database and the suite's own Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from convosensei.queues import Queue
from convosensei.redis_client import redis_client, reset_circuit
from tests.standin import standin_ca_bundle

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_SECONDS = 60


def database_url(settings_dict: dict) -> str:
    """The test database as a DATABASE_URL; a HOST that is a directory is the embedded server's socket dir."""
    user = quote(settings_dict["USER"] or "postgres")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    host, port, name = settings_dict["HOST"] or "", settings_dict["PORT"] or "", settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{name}?host={quote(host)}"
    return f"postgresql://{user}{password}@{host}{f':{port}' if port else ''}/{name}"


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM (a Celery process's warm shutdown), then SIGKILL if it has not exited within 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class Worker:
    """`celery worker` consuming every queue with one solo process (or one prefork child, as in production);
    stopped (warm, then killed) by stop()."""

    def __init__(self, *, env: dict[str, str], pool: str = "solo") -> None:
        self.log_path = Path(tempfile.mkdtemp(prefix="convosensei-test-worker-")) / "worker.log"
        self.env = env
        self.pool = pool
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        queues = ",".join(queue.value for queue in Queue)
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "convosensei", "worker", "-Q", queues,
                 "--pool", self.pool, "--concurrency", "1",
                 "-n", name, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited at start:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the worker was not ready within {WORKER_READY_SECONDS}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)  # warm shutdown: unacknowledged tasks go back to the queue


def start_worker(*, pool: str = "solo", **overrides: str) -> Worker:
    """A worker on the test database, with empty queues so that no other test's messages reach it."""
    from django.db import connection

    reset_circuit()
    redis_client().delete(*(queue.value for queue in Queue))
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_CONN_MAX_AGE": "0",
        # Short retries so that a task failing for good reaches its dead letter in seconds.
        "TASK_MAX_RETRIES": "2",
        "TASK_RETRY_BACKOFF_SECONDS": "1",
        "TASK_RETRY_BACKOFF_MAX_SECONDS": "1",
        "FEATURE_EMBEDDINGS": "false",
        "LOG_LEVEL": "INFO",  # start() waits for the worker's "ready." line
        **overrides,
    }
    return Worker(env=env, pool=pool).start()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, slack_standin_server):
    """One worker for the session's tests that need one (starting one costs seconds); embeddings off; its Slack
    is the session's stand-in (see the root conftest's slack_standin)."""
    worker = start_worker(SLACK_WEBHOOK_HOSTS=slack_standin_server.netloc, REQUESTS_CA_BUNDLE=standin_ca_bundle())
    try:
        yield worker
    finally:
        worker.stop()


def wait_until(condition, *, timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition()` until it is true or `timeout` seconds have passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
