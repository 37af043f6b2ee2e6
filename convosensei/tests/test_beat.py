"""One `celery beat` schedules at a time: real beat processes on the test database and a Redis of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from analytics.tests.conftest import database_url, stop_process, wait_until
from convosensei.embedded import EmbeddedRedis

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


class Beat:
    def __init__(self, env: dict[str, str], schedule_dir: Path, name: str) -> None:
        self.log_path = schedule_dir / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "convosensei", "beat", "-l", "INFO",
                 "--schedule", str(schedule_dir / f"{name}-schedule")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def events(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [json.loads(line)["message"] for line in lines if line.startswith("{")]

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def beats():
    redis = EmbeddedRedis(data_dir=Path(tempfile.mkdtemp(prefix="convosensei-test-beat-"))).start()
    directory = Path(tempfile.mkdtemp(prefix="convosensei-test-beat-logs-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": redis.url,
        "LOG_LEVEL": "INFO",
    }
    started: list[Beat] = []

    def start(name: str) -> Beat:
        started.append(Beat(env, directory, name))
        return started[-1]

    yield start
    for beat in started:
        beat.stop()
    redis.stop()


def test_a_second_beat_waits_while_the_first_runs_and_takes_over_when_it_stops(beats):
    first = beats("first")
    assert wait_until(lambda: "beat.lock_acquired" in first.events(), timeout=30), first.log_path.read_text()
    second = beats("second")
    assert wait_until(lambda: "beat.waiting_for_lock" in second.events(), timeout=30), second.log_path.read_text()
    time.sleep(6)  # more than a tick of the first (which renews) and a retry of the second
    assert "beat.lock_acquired" not in second.events()
    first.stop()
    assert first.process.returncode == 0
    assert wait_until(lambda: "beat.lock_acquired" in second.events(), timeout=15), second.log_path.read_text()
