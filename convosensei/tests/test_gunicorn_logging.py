"""gunicorn, started as the README, the Dockerfile and docker-compose.yml start it, logs JSON lines like the app."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from convosensei.embedded import free_port
from tests.subprocess_env import ROOT


def test_every_line_gunicorn_writes_from_start_to_stop_is_json(tmp_path):
    # Its own lines ("[2026-11-27 07:40:40 +0000] [11893] [INFO] Starting gunicorn", worker timeouts, errors that
    # escape Django) were plain text among the JSON request log, which a JSON log pipeline could not read.
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "gunicorn-logging-test-" + "k" * 40,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",  # /healthz reads no database
        "CONVOSENSEI_VAR_DIR": str(tmp_path),
    }
    (tmp_path / "staticfiles").mkdir()  # as collectstatic leaves it
    stderr = tmp_path / "stderr"
    with stderr.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "convosensei.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--no-control-socket"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200
                break
            except OSError:
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    lines = [json.loads(line) for line in stderr.read_text().splitlines() if line.strip()]
    assert next(line["message"] for line in lines if line["logger"] == "gunicorn.error").startswith("Starting gunicorn")
    # Once per request, by the request log: gunicorn's access log, which repeats it with the query string, stays off.
    assert {line["logger"] for line in lines if "/healthz" in json.dumps(line)} == {"convosensei.request"}
