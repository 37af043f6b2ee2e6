"""Ingestion throughput, served as in production, against raw COPY into the same schema.

    .venv/bin/python bench/ingest.py [--json] [--conversations 20000] [--single-requests 6000]

Starts its own PostgreSQL (embedded, in a temporary directory, unless --database-url) and Redis,
migrates, creates an API key, serves the app with gunicorn on 127.0.0.1 (DEBUG off, request log
on, rate limit off) and drives it from a separate load process with a fixed, seeded workload
(8 messages of 40–400 characters per conversation):

1. batch endpoint: conversations/s and messages/s, batches of --batch-size;
2. single-conversation endpoint: requests/s;
3. baseline: the same kind of rows written by psycopg COPY into the same tables, in this process;

then prints the ratio of (1) to (3) and how many times argon2 ran (from the server's log).
Every loop is bounded by its request count; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import isolated_product, logger_for, make_conversation, percentile, print_figures, run_load, serve

# --- the load process ------------------------------------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


def _read_response(connection: socket.socket, pending: bytes) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response (Content-Length framed, as Django's CommonMiddleware sends it); returns
    its status and whatever bytes of the stream follow it."""
    while (end := pending.find(b"\r\n\r\n")) < 0:
        pending += connection.recv(65536) or _closed()
    head, rest = pending[:end], pending[end + 4 :]
    length = int(_CONTENT_LENGTH.search(head).group(1))
    while len(rest) < length:
        rest += connection.recv(65536) or _closed()
    return int(head[9:12]), rest[length:]


def _closed() -> bytes:
    raise ConnectionError("the server closed the connection")


def _drive(url: str, key: str, path: str, bodies: list[bytes], concurrency: int) -> dict:
    """POST every body once over keep-alive connections; returns timing and status counts.

    The requests are encoded before the clock starts and written to plain sockets: the load process
    shares the machine's cores with the server, so the less CPU it spends per request, the more the
    figures measure the server rather than http.client's header parsing.
    """
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    requests = [head.format(length=len(body)).encode() + body for body in bodies]
    next_index = iter(range(len(requests)))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def worker() -> None:
        with socket.create_connection((host, int(port)), timeout=60) as connection:
            pending = b""
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    break
                started = time.perf_counter()
                connection.sendall(requests[index])
                status, pending = _read_response(connection, pending)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "statuses": statuses,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
    }


def load_main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    run = uuid.uuid4().hex[:8]
    batch_bodies = []
    for batch in range(args.conversations // args.batch_size):
        items = [
            make_conversation(rng, f"bench-{run}-b{batch}-{i}", start + timedelta(minutes=batch))
            for i in range(args.batch_size)
        ]
        batch_bodies.append(json.dumps({"conversations": items}).encode())
    single_bodies = [
        json.dumps(make_conversation(rng, f"bench-{run}-s{i}", start)).encode() for i in range(args.single_requests)
    ]
    # Warm-up: one request verifies the key (argon2) and fills the cache, as an app's first call does.
    _drive(args.url, args.key, "/api/v1/conversations/track", single_bodies[:1], 1)
    batch = _drive(args.url, args.key, "/api/v1/conversations/track/batch", batch_bodies, args.concurrency)
    single = _drive(args.url, args.key, "/api/v1/conversations/track", single_bodies[1:], args.single_concurrency)
    print(json.dumps({"batch": batch, "single": single}))


# --- the orchestrator ----------------------------------------------------------------------------------------


def _copy_baseline(conversations: int, seed: int) -> float:
    """Seconds to COPY `conversations` conversations (8 messages each) into the same tables."""
    from django.db import connection

    rng = random.Random(seed + 1)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    items = [make_conversation(rng, f"copy-{uuid.uuid4().hex}", start) for _ in range(conversations)]
    now = datetime.now(UTC)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        ids = [uuid.uuid4() for _ in items]
        with raw.copy(
            "COPY conversations (id, external_id, environment, end_user_id, metadata, message_count,"
            " health_breakdown, sentiment_summary, has_failures, failure_count, processing_state, created_at,"
            " updated_at, started_at, last_message_at) FROM STDIN"
        ) as copy:
            for conversation_id, item in zip(ids, items, strict=True):
                copy.write_row(
                    (conversation_id, item["external_id"], "bench", "", json.dumps(item["metadata"]), 8, "{}", "{}",
                     False, 0, "pending", now, now, item["messages"][0]["timestamp"], item["messages"][-1]["timestamp"])
                )  # fmt: skip
        with raw.copy(
            "COPY messages (conversation_id, position, role, content, timestamp, metadata, dedupe_key, created_at)"
            " FROM STDIN"
        ) as copy:
            for conversation_id, item in zip(ids, items, strict=True):
                for position, message in enumerate(item["messages"]):
                    copy.write_row(
                        (conversation_id, position, message["role"], message["content"], message["timestamp"],
                         json.dumps(message.get("metadata") or {}), f"h:{position}", now)
                    )  # fmt: skip
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--single-requests", type=int, default=6_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--single-concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="use this PostgreSQL instead of a fresh embedded one")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_main(args)
        return 0

    log = logger_for(quiet=args.json)
    # The request log stays on (INFO), as in production: it also counts argon2 verifications below.
    product = isolated_product(prefix="convosensei-bench-", database_url=args.database_url, log=log, LOG_LEVEL="INFO")
    with product as (tmp, env):
        from accounts.services import api_key_create

        _, key = api_key_create(name="bench")
        server_log = tmp / "gunicorn.log"
        with serve(env=env, log_path=server_log, workers=args.workers, threads=args.threads) as url:
            log(f"driving {url} from a separate load process…")
            figures = run_load(
                __file__, url=url, env=env,
                args=["--key", key, "--conversations", str(args.conversations), "--batch-size", str(args.batch_size),
                      "--single-requests", str(args.single_requests), "--concurrency", str(args.concurrency),
                      "--single-concurrency", str(args.single_concurrency), "--seed", str(args.seed)],
            )  # fmt: skip
        argon2_runs = server_log.read_text().count("api_key.verified_with_argon2")
        log("COPY baseline…")
        copy_seconds = _copy_baseline(args.conversations, args.seed)

    batch, single = figures["batch"], figures["single"]
    batch_conversations = batch["requests"] * args.batch_size
    result = {
        "batch_conversations_per_s": round(batch_conversations / batch["seconds"], 1),
        "batch_messages_per_s": round(batch_conversations * 8 / batch["seconds"], 1),
        "batch_request_p50_ms": batch["p50_ms"],
        "batch_request_p95_ms": batch["p95_ms"],
        "batch_statuses": batch["statuses"],
        "single_requests_per_s": round(single["requests"] / single["seconds"], 1),
        "single_request_p50_ms": single["p50_ms"],
        "single_request_p95_ms": single["p95_ms"],
        "single_statuses": single["statuses"],
        "copy_conversations_per_s": round(args.conversations / copy_seconds, 1),
        "argon2_verifications": argon2_runs,
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
    }
    result["batch_vs_copy_ratio"] = round(result["batch_conversations_per_s"] / result["copy_conversations_per_s"], 3)
    print_figures(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
