"""The worker and beat log as the web processes do: JSON lines on stderr, at LOG_LEVEL."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

from tests.subprocess_env import ROOT


def worker_log_lines(*, log_level: str, tmp_path) -> list[dict]:
    """The JSON lines a worker started as the README starts it (no --loglevel) writes until it is ready, or in 30 s."""
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "LOG_LEVEL": log_level,
        # A queue no one sends to: this worker takes no other test's tasks, and never connects to the database.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
    }
    queue = f"logging-{uuid.uuid4().hex[:8]}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "convosensei", "worker", "-Q", queue, "--pool", "solo",
             "-n", f"{queue}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None and " ready." not in log_path.read_text():
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]


def test_the_worker_logs_at_log_level_without_a_loglevel_option(tmp_path):
    # Celery set the root logger to its own --loglevel, WARNING unless given: LOG_LEVEL=INFO logged nothing but
    # warnings, not even the worker's start, its tasks or `embeddings.model_loaded`.
    lines = worker_log_lines(log_level="INFO", tmp_path=tmp_path)
    assert any(line["level"] == "INFO" and line["message"].endswith(" ready.") for line in lines), lines
