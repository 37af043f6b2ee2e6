"""`make run` as a newcomer runs it: the product comes up on its own, and Ctrl-C stops all of it."""

import os
import signal
import subprocess
import sys
import time

import psutil
import requests

from convosensei.embedded import EmbeddedRedis, embedded_redis_url, free_port
from convosensei.launch import process_environment
from tests.subprocess_env import _TEST_ONLY, ROOT


def test_launch_serves_healthz_and_the_login_page_then_stops_everything(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in (*_TEST_ONLY, "REDIS_URL", "DATABASE_URL")}
    env["CONVOSENSEI_VAR_DIR"] = str(tmp_path)
    # Started with SIGINT ignored, as a shell starts a background job (`make run &`): Ctrl-C's signal still stops it.
    launcher = subprocess.Popen(
        [sys.executable, "-m", "convosensei.launch", "--no-demo", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and launcher.poll() is None:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.RequestException:  # not listening yet, or workers still booting
                time.sleep(0.5)
        login = requests.get(f"http://127.0.0.1:{port}/login/", timeout=5)
        admin = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
        children = psutil.Process(launcher.pid).children(recursive=True)
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            output, _ = launcher.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.terminate()  # SIGTERM: its own clean-up stops what it started, not left behind by a failure
            launcher.communicate(timeout=60)
            raise
    assert (health.status_code, login.status_code, admin.status_code) == (200, 200, 200)
    assert "Created the admin user." in output
    assert launcher.returncode == 0
    assert not [child.pid for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]


def test_the_processes_started_on_another_port_link_to_it(tmp_path):
    environment = process_environment({}, port=8010, dotenv=tmp_path / ".env")
    assert environment["DASHBOARD_BASE_URL"] == "http://127.0.0.1:8010"


def test_a_dashboard_base_url_of_the_environment_is_kept_whatever_the_port(tmp_path):
    environ = {"DASHBOARD_BASE_URL": "https://cs.example.com"}
    environment = process_environment(environ, port=8010, dotenv=tmp_path / ".env")
    assert environment["DASHBOARD_BASE_URL"] == "https://cs.example.com"


def test_a_dashboard_base_url_of_the_dotenv_file_is_not_hidden_by_the_port(tmp_path):
    (tmp_path / ".env").write_text("DASHBOARD_BASE_URL=https://cs.example.com\n")
    environment = process_environment({}, port=8010, dotenv=tmp_path / ".env")
    assert "DASHBOARD_BASE_URL" not in environment  # the processes' settings read it from .env themselves


def test_the_embedded_redis_leaves_its_address_in_its_data_dir_while_it_runs(tmp_path):
    redis = EmbeddedRedis(data_dir=tmp_path).start()
    try:
        while_running = embedded_redis_url(data_dir=tmp_path)
    finally:
        redis.stop()
    assert (while_running, embedded_redis_url(data_dir=tmp_path)) == (redis.url, None)
