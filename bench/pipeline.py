"""Pipeline throughput and latency: scoring per worker process, and ingest-to-scored time.

    .venv/bin/python bench/pipeline.py [--json] [--conversations 3000] [--embedded-conversations 1000]
                                       [--latency-requests 200] [--skip-embeddings] [--skip-latency]

Starts its own PostgreSQL (embedded, in a temporary directory, unless --database-url) and Redis, migrates,
and runs real `celery worker` processes (one process each, --pool solo, every queue) on the same fixed,
seeded workload as bench/ingest.py (8 messages of 40–400 characters per conversation):

1. scoring, embeddings off: --conversations are ingested (service call, 100 per batch, as the batch
   endpoint does) while no worker runs, so their scoring tasks wait in Redis; then one worker starts.
   Rate = conversations scored after the first batch / (last processed_at − first processed_at), processed_at
   being one instant per batch: the worker's start-up is not counted. CPU ms per conversation of the worker
   and of the embedded PostgreSQL (its processes, from /proc; none with --database-url).
1b. final scoring: the idle sweep ends those conversations (`mark_idle_conversations_ended`, no worker running)
   and a worker scores each once more, as every conversation is at its end: same messages, so their stored
   sentiments and search documents are kept. Figures as in 1.
2. scoring + embedding, FEATURE_EMBEDDINGS=true: a worker that has already loaded the model (a warm-up
   conversation) scores --embedded-conversations with every message's vector (the models' embeddings variant)
   and stores each conversation's vector; rate = conversations / (last embedding written − the moment their
   ingestion began). The worker is idle then, its model loaded, so the span is their whole work, plus the
   ingestion of the first 100 (nothing is queued before). Measured from the first batch's processed_at, taken
   after its vectors, the span held that batch's scoring and storing but not its model run, so counting the batch
   overstated the rate and leaving it out counted work for nothing (both ways in the same four runs: 47.7–53.6/s
   left out, 47.7–52.6/s this way).
   Every message text is new to the worker (the benchmark's texts are random), so each goes through the model.
   Baseline, same run: the model alone encoding the same messages in this process (`model_alone_per_s`), and
   the rate as a share of it (`vs_model_alone`; the rest is scoring, the database and the queue).
3. ingest-to-scored latency: gunicorn serves the API; one worker (embeddings off, then on) idles; --latency-requests
   single-conversation POSTs are sent one at a time, 50–150 ms apart; latency = processed_at − the moment
   the request was sent (same machine, same clock). processed_at is one instant per batch, taken once
   its messages are read (with embeddings, after the model has run), before scoring and commit: a
   one-conversation batch scores in ~1 ms.

0. scoring alone: the same --conversations scored in this process by `score_conversation`, no database and no
   broker: CPU ms per conversation, the figure other jobs on the machine distort least (the best of 3 passes).
   It is the baseline of 1 (`vs_scoring_alone`: the worker's rate as a share of what the scoring code allows).
0b. the largest conversation ingestion accepts (1,000 messages of 32,000 characters by default), scored once in
   this process: CPU seconds, and its CPU time per character as a multiple of 0's (`vs_typical_per_char`).

`machine` says what the figures were measured on: the CPU, a fixed pure-Python loop's time (the scoring rates
follow it), the precision the embedding model runs in and this CPU's matrix speed in it (the embeddings-on rate
follows it: an AVX2-only CPU runs the model in float32, several times slower than one with native bfloat16).

Every wait is bounded; only 127.0.0.1 and Unix sockets are used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ROOT,
    WORDS,
    isolated_product,
    logger_for,
    machine,
    make_conversation,
    percentile,
    print_figures,
    serve,
)

QUEUES = "ingest,process-conversation,embed-conversation,pattern-analyze,alerts"
TARGETS = {"scored_per_s_embeddings_off": 500, "scored_per_s_embeddings_on": 50, "latency_p95_s": 2.0}


class Worker:
    def __init__(self, env: dict, log_path: Path) -> None:
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "convosensei", "worker", "-Q", QUEUES, "--pool", "solo",
                 "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-heartbeat", "--without-gossip",
                 "--without-mingle", "-l", "WARNING"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _items(rng: random.Random, prefix: str, count: int, start: datetime) -> list[dict]:
    """Conversations as the ingestion service takes them (validated: datetimes, user_id)."""
    items = []
    for i in range(count):
        raw = make_conversation(rng, f"{prefix}-{i}", start + timedelta(seconds=i))
        for message in raw["messages"]:
            message["timestamp"] = datetime.fromisoformat(message["timestamp"])
            message.setdefault("metadata", {})
            message["id"] = None
        items.append({**raw, "user_id": ""})
    return items


def _ingest(items: list[dict]) -> list[str]:
    from ingestion.services import conversations_ingest, scoring_buffer

    ids = []
    for start in range(0, len(items), 100):
        ids += [
            str(r.conversation_id)
            for r in conversations_ingest(conversations=items[start : start + 100], api_key_id=None)
        ]
    scoring_buffer.flush()
    return ids


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None when there is no such process or /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc (None where there is no /proc)."""
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_cpu_seconds(tmp: Path) -> float | None:
    """CPU time the embedded PostgreSQL has used so far: its postmaster with the backends it has reaped, and its
    live backends (None with --database-url, or where there is no /proc)."""
    try:
        postmaster = (tmp / "postgres" / "postmaster.pid").read_text().split()[0]
    except (OSError, IndexError):
        return None
    fields = _stat(postmaster)
    if fields is None:
        return None
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, and those of reaped children
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (child := _stat(entry.name)) is not None and child[1] == postmaster:
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_counting_cpu(done, total: int, pid: int, tmp: Path, timeout: float, what: str) -> dict:
    """Wait until done() == total; return the worker's and the database's CPU ms per conversation, counted from
    the worker's first conversation (None where they cannot be read).

    CPU time is what a busy machine does not distort much: wall-clock rates fall when other jobs share the
    cores, a process's own CPU time per conversation does not. The database's includes this benchmark's polls
    (a count of ~2 ms every 0.2 s).
    """
    deadline = time.monotonic() + timeout
    start: tuple[int, float | None, float | None] | None = None
    while time.monotonic() < deadline:
        count = done()
        if start is None and count:
            start = (count, _cpu_seconds(pid), _database_cpu_seconds(tmp))
        if count == total:
            end = (count, _cpu_seconds(pid), _database_cpu_seconds(tmp))
            figures = {}
            for i, name in ((1, "worker"), (2, "database")):
                known = start is not None and None not in (start[i], end[i]) and count > start[0]
                figures[f"{name}_cpu_ms_per_conversation"] = (
                    round(1000 * (end[i] - start[i]) / (count - start[0]), 3) if known else None
                )
            return figures
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not done within {timeout:.0f}s")


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not done within {timeout:.0f}s")


# The waits poll by the run's external-id prefix: an `id IN (3,000 ids)` count cost 50–60 ms of this process's
# CPU per poll, a quarter of a core taken from the worker and PostgreSQL on a 2-core machine.
def _scored(prefix: str) -> int:
    from conversations.models import Conversation

    return Conversation.objects.filter(external_id__startswith=f"{prefix}-", processing_state="scored").count()


def _embedded(prefix: str) -> int:
    from analytics.models import ConversationEmbedding

    return ConversationEmbedding.objects.filter(conversation__external_id__startswith=f"{prefix}-").count()


def _processed_span(prefix: str) -> tuple[datetime, datetime, int]:
    """First and last processed_at of the run, and how many conversations the first batch scored."""
    from django.db.models import Max, Min

    from conversations.models import Conversation

    rows = Conversation.objects.filter(external_id__startswith=f"{prefix}-")
    span = rows.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    return span["first"], span["last"], rows.filter(processed_at=span["first"]).count()


def _scoring_in_process(args) -> dict:
    """CPU time of the scoring code alone (what a worker spends per conversation before any SQL)."""
    from analytics.scoring import score_conversation

    items = _items(random.Random(args.seed), "cpu", args.conversations, datetime(2026, 11, 2, tzinfo=UTC))
    passes = []
    for _ in range(3):  # each pass runs VADER afresh: 24,000 distinct texts overflow its 4,096-entry cache
        started = time.process_time()
        for item in items:
            score_conversation(item["messages"], ended=False)
        passes.append(time.process_time() - started)
    return {
        "conversations": len(items),
        "cpu_ms_per_conversation": round(1000 * min(passes) / len(items), 3),
        "characters_per_conversation": round(sum(len(m["content"]) for i in items for m in i["messages"]) / len(items)),
    }


def _largest_conversation(args, typical: dict) -> dict:
    """CPU time of the scoring code on one conversation at the ingestion limits: INGEST_MAX_MESSAGES_PER_CONVERSATION
    messages of INGEST_MAX_CONTENT_CHARS characters (the benchmark's words). Its worker's batch waits that long.
    `vs_typical_per_char`: its CPU time per character against the benchmark's conversations' (above 1: the cost
    grows faster than the text)."""
    from django.conf import settings

    from analytics.scoring import score_conversation

    rng = random.Random(args.seed)
    size = settings.INGEST_MAX_CONTENT_CHARS
    messages = [
        {"role": ("user", "assistant")[i % 2], "content": " ".join(rng.choices(WORDS, k=size // 3))[:size]}
        for i in range(settings.INGEST_MAX_MESSAGES_PER_CONVERSATION)
    ]
    started = time.process_time()
    score_conversation(messages, ended=True)
    seconds = time.process_time() - started
    chars = sum(len(m["content"]) for m in messages)
    typical_per_char = typical["cpu_ms_per_conversation"] / 1000 / typical["characters_per_conversation"]
    return {
        "messages": len(messages),
        "characters": chars,
        "cpu_s": round(seconds, 2),
        "vs_typical_per_char": round(seconds / chars / typical_per_char, 2),
    }


def _model_speed() -> dict:
    """The precision the embedding model runs in here (as the worker loads it), and this CPU's matrix speed in
    it (the model's feed-forward shape, 512 tokens x 384 -> 1536, both threads): the embeddings-on rate follows
    them."""
    import torch

    from analytics.embeddings import embedder  # the worker's own: same settings by construction

    embedder().encode(["warm-up"])
    precision = embedder().precision_in_use
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    x, w = torch.randn(512, 384, dtype=dtype), torch.randn(1536, 384, dtype=dtype)
    with torch.inference_mode():
        for _ in range(3):
            torch.nn.functional.linear(x, w)
        started = time.perf_counter()
        for _ in range(50):
            torch.nn.functional.linear(x, w)
        seconds = (time.perf_counter() - started) / 50
    return {"model_precision": precision, "matmul_gflops": round(2 * 512 * 384 * 1536 / seconds / 1e9, 1)}


def _score_with_a_worker(prefix: str, total: int, env: dict, tmp: Path, log_name: str, args, what: str) -> dict:
    """Start a worker (embeddings off) on the queued tasks; the run's rate and CPU figures once all are scored."""
    worker = Worker({**env, "FEATURE_EMBEDDINGS": "false"}, tmp / log_name)
    try:
        cpu = _wait_counting_cpu(lambda: _scored(prefix), total, worker.process.pid, tmp, args.timeout, what)
    finally:
        worker.stop()
    # processed_at is one instant per batch, taken at the same point of each: from the first batch's to the
    # last's, the worker scored every batch but one.
    first, last, first_batch = _processed_span(prefix)
    seconds = (last - first).total_seconds()
    return {
        "conversations": total,
        "seconds": round(seconds, 3),
        "per_s": round((total - first_batch) / seconds, 1),
        **cpu,
    }


def _throughput_off(args, env: dict, tmp: Path, log) -> tuple[str, dict]:
    rng = random.Random(args.seed)
    prefix = f"off-{uuid.uuid4().hex[:6]}"
    items = _items(rng, prefix, args.conversations, datetime(2026, 11, 2, tzinfo=UTC))
    log(f"ingesting {len(items)} conversations with no worker running…")
    ids = _ingest(items)
    return prefix, _score_with_a_worker(prefix, len(ids), env, tmp, "worker-off.log", args, "scoring (embeddings off)")


def _final_scoring(prefix: str, args, env: dict, tmp: Path, log) -> dict:
    """The same conversations ended by the idle sweep and scored once more, as each conversation is at its end:
    same messages, so stored sentiments and the search document are reused."""
    from analytics.tasks import mark_idle_conversations_ended
    from conversations.models import Conversation

    log("ending the conversations (idle sweep) with no worker running…")
    while mark_idle_conversations_ended():  # at most 1,000 a call, as the periodic task
        pass
    ended = Conversation.objects.filter(external_id__startswith=f"{prefix}-", processing_state="pending").count()
    return _score_with_a_worker(prefix, ended, env, tmp, "worker-final.log", args, "final scoring")


def _throughput_on(args, env: dict, tmp: Path, log) -> dict:
    from django.db.models import Max

    from analytics.models import ConversationEmbedding

    rng = random.Random(args.seed + 1)
    worker = Worker({**env, "FEATURE_EMBEDDINGS": "true"}, tmp / "worker-on.log")
    try:
        warm = f"warm-{uuid.uuid4().hex[:6]}"
        _ingest(_items(rng, warm, 1, datetime(2026, 11, 3, tzinfo=UTC)))
        log("warming up the embedding worker (model load)…")
        _wait(lambda: _embedded(warm) == 1, args.timeout, "warm-up embedding")
        prefix = f"on-{uuid.uuid4().hex[:6]}"
        items = _items(rng, prefix, args.embedded_conversations, datetime(2026, 11, 4, tzinfo=UTC))
        log(f"scoring and embedding {len(items)} conversations…")
        queued = datetime.now(UTC)
        ids = _ingest(items)
        cpu = _wait_counting_cpu(
            lambda: _embedded(prefix), len(ids), worker.process.pid, tmp, args.timeout, "scoring + embedding"
        )
    finally:
        worker.stop()
    last = ConversationEmbedding.objects.filter(conversation__external_id__startswith=f"{prefix}-").aggregate(
        last=Max("updated_at")
    )["last"]
    seconds = (last - queued).total_seconds()
    log("encoding the same messages with the model alone (the baseline)…")
    alone = _model_alone(items)
    per_s = len(ids) / seconds
    return {
        "conversations": len(ids),
        "seconds": round(seconds, 3),
        "per_s": round(per_s, 1),
        # The model runs on every core (torch threads): the worker's is CPU time summed over them.
        **cpu,
        "model_alone_per_s": alone,
        "vs_model_alone": round(per_s / alone, 2),
    }


def _model_alone(items: list[dict]) -> float:
    """Conversations/s at which the embedding model alone encodes these conversations' messages, in this process
    and as the worker does (same Embedder settings, the model loaded first): the embeddings-on rate's baseline,
    measured in the same run. What the rate falls short of it is the pipeline's own work."""
    from analytics.embeddings import embedder  # the worker's own: same settings by construction

    embedder().encode(["warm-up"])
    texts = [message["content"] for item in items for message in item["messages"]]
    started = time.perf_counter()
    embedder().encode(texts)
    return round(len(items) / (time.perf_counter() - started), 1)


def _latency(args, env: dict, tmp: Path, log, *, embeddings: bool) -> dict:
    from accounts.services import api_key_create
    from conversations.models import Conversation

    _, key = api_key_create(name="bench-pipeline")
    mode = "on" if embeddings else "off"
    worker = Worker({**env, "FEATURE_EMBEDDINGS": str(embeddings).lower()}, tmp / f"worker-latency-{mode}.log")
    rng = random.Random(args.seed + 2)
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    try:
        with serve(env=env, log_path=tmp / "gunicorn.log", workers=2, threads=4) as url:
            port = int(url.rsplit(":", 1)[1])
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            # Warm-up: the key's argon2 check, the worker's first connection and, with embeddings, its model load.
            warm = [f"lat-warm-{run}-{i}" for i in range(3)]
            for external_id in warm:
                body = json.dumps(make_conversation(rng, external_id, datetime(2026, 11, 5, tzinfo=UTC)))
                connection.request("POST", "/api/v1/conversations/track", body=body, headers=headers)
                connection.getresponse().read()
            warmed = Conversation.objects.filter(external_id__in=warm, processing_state="scored")
            _wait(lambda: warmed.count() == len(warm), args.timeout, "latency warm-up")
            connection.close()  # idle past gunicorn's keep-alive meanwhile: the next request opens a new one
            log(f"sending {args.latency_requests} conversations one at a time to {url} (embeddings {mode})…")
            for i in range(args.latency_requests):
                external_id = f"lat-{run}-{i}"
                body = json.dumps(make_conversation(rng, external_id, datetime(2026, 11, 5, tzinfo=UTC)))
                sent[external_id] = time.time()
                connection.request("POST", "/api/v1/conversations/track", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 202:
                    raise RuntimeError(f"track answered {response.status}")
                time.sleep(rng.uniform(0.05, 0.15))
            rows = Conversation.objects.filter(external_id__in=list(sent))
            _wait(lambda: rows.filter(processing_state="scored").count() == len(sent), args.timeout, "latency run")
    finally:
        worker.stop()
    latencies = sorted(
        processed_at.timestamp() - sent[external_id]
        for external_id, processed_at in Conversation.objects.filter(external_id__in=list(sent)).values_list(
            "external_id", "processed_at"
        )
    )
    return {
        "requests": len(latencies),
        "p50_s": round(percentile(latencies, 0.5), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(latencies[-1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=3000, help="scored with embeddings off")
    parser.add_argument("--embedded-conversations", type=int, default=1000, help="scored and embedded")
    parser.add_argument("--latency-requests", type=int, default=200)
    parser.add_argument("--skip-embeddings", action="store_true", help="skip the embeddings-on run")
    parser.add_argument("--skip-latency", action="store_true", help="skip the ingest-to-scored latency run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="use this PostgreSQL instead of a fresh embedded one")
    args = parser.parse_args()

    log = logger_for(quiet=args.json)
    with isolated_product(prefix="convosensei-bench-pipeline-", database_url=args.database_url, log=log) as (tmp, env):
        result = {"scoring_in_process": _scoring_in_process(args)}
        result["largest_conversation"] = _largest_conversation(args, result["scoring_in_process"])
        prefix, result["embeddings_off"] = _throughput_off(args, env, tmp, log)
        # Same-run baseline: the rate the scoring code alone would allow; the rest is the database and the queue.
        alone_per_s = 1000 / result["scoring_in_process"]["cpu_ms_per_conversation"]
        result["embeddings_off"]["vs_scoring_alone"] = round(result["embeddings_off"]["per_s"] / alone_per_s, 2)
        result["final_scoring"] = _final_scoring(prefix, args, env, tmp, log)
        if not args.skip_embeddings:
            result["embeddings_on"] = _throughput_on(args, env, tmp, log)
        if not args.skip_latency:
            result["ingest_to_scored"] = _latency(args, env, tmp, log, embeddings=False)
            if not args.skip_embeddings:
                result["ingest_to_scored_embeddings_on"] = _latency(args, env, tmp, log, embeddings=True)

    result["machine"] = {**machine(), **({} if args.skip_embeddings else _model_speed())}
    result["targets"] = TARGETS
    print_figures(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
