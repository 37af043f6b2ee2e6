"""A PostgreSQL cluster of a test's own, made with Debian's binaries in a temporary directory, that the test stops
and starts as an operator's database restarts (an upgrade, a failover, a full disk).

Never the shared server on 5432, nor the embedded one the rest of the suite uses: a cluster of its own, on a free
127.0.0.1 port, reached by the processes under test through DATABASE_URL.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from convosensei.embedded import free_port

BIN_DIR = Path(os.environ.get("TEST_POSTGRES_BIN_DIR", "/usr/lib/postgresql/15/bin"))
# initdb and postgres refuse to run as root: as root, the cluster belongs to this system user.
SYSTEM_USER = "postgres"


def missing_binaries() -> str | None:
    """Why no throwaway cluster can be made here, or None."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if not (BIN_DIR / name).is_file():
            return f"No PostgreSQL binaries in {BIN_DIR} (Debian's postgresql-15 package; or TEST_POSTGRES_BIN_DIR)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"Running as root without a {SYSTEM_USER!r} system user to own the cluster"
    return None


def require_binaries() -> None:
    """Skip the calling test where no cluster can be made; under CI a missing PostgreSQL is a broken set-up, never a
    silently skipped test, so there it fails."""
    import pytest

    reason = missing_binaries()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in {"true", "1"}:
        pytest.fail(f"{reason} (CI=true: the tests on a database of their own must run)", pytrace=False)
    pytest.skip(reason)


class ThrowawayPostgres:
    """initdb'd on creation (trust authentication, user `postgres`); start() and stop() as often as wanted, on the
    same port each time; remove() stops it and deletes its directory."""

    def __init__(self, *, database: str = "convosensei") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="convosensei-test-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        self.database = database
        self._user = SYSTEM_USER if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
            "--locale", "C",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, binary: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN_DIR / binary), *args], user=self._user, cwd=self.root, check=True, capture_output=True, text=True
        )

    def start(self) -> ThrowawayPostgres:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options
        )  # fmt: skip
        return self

    def create_database(self) -> None:
        import psycopg

        server = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session at once, as a restart or a failover does; `immediate` is a crash."""
        self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", mode, "-D", str(self.data_dir))

    def running(self) -> bool:
        return subprocess.run([str(BIN_DIR / "pg_ctl"), "status", "-D", str(self.data_dir)], user=self._user,
                              capture_output=True).returncode == 0  # fmt: skip

    def remove(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
