"""`make run`: the whole product on one machine with nothing else installed.

Starts the embedded PostgreSQL (unless DATABASE_URL is set) and an embedded Redis (unless
REDIS_URL is set), migrates, creates the admin (printing its password once), then serves the
dashboard with gunicorn on http://127.0.0.1:8000 beside a Celery worker with beat. Ctrl-C stops
everything cleanly; data stays under var/ for the next start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from convosensei.embedded import EmbeddedRedis, embedded_postgres_start, port_open, project_var_dir
from convosensei.queues import Queue

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    """Send `signum` to the process group `child` leads (it was started with start_new_session)."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited
        os.killpg(child.pid, signum)


def process_environment(environ: Mapping[str, str], *, port: int, dotenv: Path = ROOT / ".env") -> dict[str, str]:
    """The environment of every process `make run` starts: `environ` with a local run's defaults added.

    DASHBOARD_BASE_URL follows --port unless `environ` or the `dotenv` file sets it, so that the links of Slack
    alerts (and the CSRF origin it defaults) name the port the dashboard is served on, not the default 8000.
    """
    env = dict(environ)
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("INGEST_RATE_LIMIT_PER_MINUTE", "0")  # no rate limit on a local run
    # Settings read .env under the environment (override=False): a default set here would hide its value.
    if "DASHBOARD_BASE_URL" not in env and not dotenv_values(dotenv).get("DASHBOARD_BASE_URL"):
        env["DASHBOARD_BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--no-demo", action="store_true", help="skip loading the demo data set")
    options = parser.parse_args(argv)

    if port_open(options.host, options.port):
        print(f"Port {options.port} on {options.host} is taken; stop what uses it or pass --port.", file=sys.stderr)
        return 1

    var_dir = project_var_dir()
    env = process_environment(os.environ, port=options.port)

    if not env.get("DATABASE_URL"):
        print(f"Starting the embedded PostgreSQL (data in {var_dir / 'postgres'})…", flush=True)
        # This process holds the server open between the steps below; it stops when the last user exits.
        embedded_postgres_start(data_dir=var_dir / "postgres")
    redis = None
    if not env.get("REDIS_URL"):
        redis = EmbeddedRedis(data_dir=var_dir / "redis").start()
        env["REDIS_URL"] = redis.url
        print(f"Started the embedded Redis on {redis.url}", flush=True)

    children: list[subprocess.Popen] = []

    # Each server runs in a process group of its own (start_new_session), and is stopped as a group: a
    # Celery worker killed alone would leave its pool processes running, holding the database and our stdout.
    def stop(*_args) -> None:
        for child in children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{child.args[2]} did not stop within 15 s; killing it.", file=sys.stderr, flush=True)
            _signal_group(child, signal.SIGKILL)  # whatever is left of the group
        if redis is not None:
            redis.stop()

    def interrupt(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    # Set, not inherited: a shell starts a background job (`make run &`) with SIGINT ignored, and Python then installs
    # no handler of its own, so Ctrl-C's signal sent to it would be lost.
    signal.signal(signal.SIGINT, interrupt)
    try:
        _manage("migrate", "--no-input", env=env)
        _manage("ensure_admin", env=env)
        if not options.no_demo:
            _manage("load_demo", env=env)
        queues = ",".join(queue.value for queue in Queue)
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "convosensei", "worker", "--beat", "-Q", queues,
                 "--concurrency", "2", "--loglevel", "INFO",
                 "--schedule", str(var_dir / "celerybeat-schedule")],
                cwd=ROOT, env=env, start_new_session=True,
            )
        )  # fmt: skip
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "convosensei.wsgi", "--bind", f"{options.host}:{options.port}",
                 "--workers", str(options.workers), "--threads", "4",
                 # gunicorn's control socket is one file in $HOME for every instance; nothing here uses it, and a
                 # second instance (another make run, a benchmark) would take it over.
                 "--no-control-socket"],
                cwd=ROOT, env=env, start_new_session=True,
            )
        )  # fmt: skip
        print(
            f"\nConvoSensei is running: http://{options.host}:{options.port}/  (admin: /admin/, API docs: /api/docs/)"
        )
        print("Press Ctrl-C to stop.\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A process of the product exited; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
