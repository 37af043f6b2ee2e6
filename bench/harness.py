"""What the benchmarks share: the seeded workload, the start-up of an isolated product, and HTTP waiting.

Each benchmark starts its own PostgreSQL (embedded, in a temporary directory, unless --database-url)
and Redis, so that it measures the product alone and never touches anyone's data.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORDS = (
    "order refund delivery account password invoice payment shipping address change cancel subscription "
    "plan upgrade error login reset email phone support agent help please thanks why when where how "
    "the a to is it my your we can not be have will this that with for on in of and or but"
).split()


def random_words(rng: random.Random, length: int) -> list[str]:
    """Words drawn from WORDS until, joined by spaces, they reach `length` characters."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return words


def make_conversation(rng: random.Random, external_id: str, start: datetime) -> dict:
    """The benchmarks' conversation: 8 alternating messages of 40–400 characters (ingestion API shape)."""
    messages = []
    for index in range(8):
        length = rng.randint(40, 400)
        messages.append(
            {
                "role": "user" if index % 2 == 0 else "assistant",
                "content": " ".join(random_words(rng, length))[:length],
                "timestamp": (start + timedelta(seconds=20 * index)).isoformat(),
                **({"metadata": {"model": "gpt-bench", "latency_ms": rng.randint(200, 3000)}} if index % 2 else {}),
            }
        )
    return {"external_id": external_id, "messages": messages, "environment": "bench", "metadata": {"seed": 1}}


def logger_for(*, quiet: bool) -> Callable[..., None]:
    """Progress lines on stderr, or nothing when the figures go out as JSON."""
    return (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))


def start_django(*, tmp: str | Path, redis_url: str, database_url: str | None, log, **overrides: str) -> dict:
    """Configure this process (and, through the returned env, its children) as production-like, set Django
    up (which starts the embedded PostgreSQL under `tmp` when there is no database_url) and migrate."""
    env = {
        **os.environ,
        "CONVOSENSEI_VAR_DIR": str(tmp),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "REDIS_URL": redis_url,
        "INGEST_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convosensei.settings")
    import django

    django.setup()
    from django.core.management import call_command

    log("migrating…")
    call_command("migrate", verbosity=0)
    return env


@contextmanager
def isolated_product(*, prefix: str, database_url: str | None, log, **overrides: str) -> Iterator[tuple[Path, dict]]:
    """A temporary directory holding an embedded Redis and (unless database_url) PostgreSQL, with Django set up
    against them by start_django; yields (directory, env for child processes) and stops both after the block."""
    from convosensei.embedded import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        tmp = Path(name)
        redis_server = EmbeddedRedis(data_dir=tmp / "redis").start()
        try:
            env = start_django(tmp=tmp, redis_url=redis_server.url, database_url=database_url, log=log, **overrides)
            try:
                yield tmp, env
            finally:
                from django.db import connections

                connections.close_all()
                if database_url is None:  # stopped before its data directory goes, not at exit after it
                    from convosensei.embedded import embedded_postgres_stop

                    embedded_postgres_stop(data_dir=tmp / "postgres")
        finally:
            redis_server.stop()


def run_load(script: str, *, url: str, env: dict, args: Sequence[str], timeout: float = 1800) -> dict:
    """Run `script --load --url <url> <args>` as a separate load process; returns the JSON object it prints
    last. RuntimeError (with its stderr) when it fails."""
    load = subprocess.run(
        [sys.executable, script, "--load", "--url", url, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if load.returncode != 0:
        raise RuntimeError(f"load process failed:\n{load.stderr[-3000:]}")
    return json.loads(load.stdout.strip().splitlines()[-1])


def percentile(ordered: Sequence[float], share: float) -> float:
    """The value `share` of the way through `ordered` (sorted ascending, not empty): 0.5 is the median."""
    return ordered[int(len(ordered) * share)]


def machine() -> dict:
    """What a run measured on: the CPU model, the CPUs, and the time a fixed pure-Python loop takes (best of 3),
    so that figures taken on two machines can be compared (the scoring rates follow the loop's speed).
    """
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    times = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        times.append(time.perf_counter() - started)
    return {"cpu_model": model, "cpus": os.cpu_count(), "python_loop_s": round(min(times), 3)}


def print_figures(result: dict, *, as_json: bool) -> None:
    """Print a benchmark's figures: one JSON object, or one aligned `name  value` line each."""
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(name) for name in result)
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")


def wait_http(url: str, timeout: float = 60) -> None:
    """Until `url`/healthz answers 200; RuntimeError after `timeout` seconds."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer /healthz within {timeout}s")


@contextmanager
def serve(*, env: dict, log_path: Path, workers: int, threads: int | None = None) -> Iterator[str]:
    """gunicorn serving the app on a free 127.0.0.1 port for the block (gthread workers when `threads`);
    yields its URL once /healthz answers, and stops it after."""
    from convosensei.embedded import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # No gunicorn control socket: one file in $HOME for every instance (convosensei/launch.py says more).
    command = [sys.executable, "-m", "gunicorn", "convosensei.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--no-control-socket"]  # fmt: skip
    if threads:
        command += ["--threads", str(threads), "--worker-class", "gthread"]
    with log_path.open("w") as log_file:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            try:
                wait_http(url)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; gunicorn said:\n{log_path.read_text()[-3000:]}") from None
            yield url
        finally:
            server.terminate()
            server.wait(30)
