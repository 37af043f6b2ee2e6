"""Read API latency at 100,000 conversations, served as in production, beside each endpoint's SQL alone.

    .venv/bin/python bench/read.py [--json] [--conversations 100000] [--requests 100]

Starts its own PostgreSQL (embedded, in a temporary directory, unless --database-url) and Redis,
migrates, and loads a seeded data set with COPY: --conversations conversations over 90 days with 8
messages each, 30% of --conversations failures, 20 usage patterns of the latest analysis (and 20 of
the one before), and embeddings for --embedded conversations. Then it serves the app with gunicorn
on 127.0.0.1 (DEBUG off, FEATURE_EMBEDDINGS on, a real HS256 Supabase token as the credential) and
drives every read endpoint from a separate load process, one request at a time, --requests times
each after a warm-up, and prints p50/p95 per endpoint beside the time of the endpoint's SQL alone
(the statements the endpoint's selector runs, captured in-process and re-run with psycopg).
Every loop is bounded by its request count; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import secrets
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import WORDS, isolated_product, logger_for, percentile, random_words, run_load, serve

RARE_WORD = "chargeback"  # in about 1 message in 200: what a real search for a specific problem finds
FAILURE_TYPES = ["loop", "refusal", "apology", "escalation", "error", "frustration", "abandon", "repeat", "timeout"]
SEVERITIES = ["low", "medium", "high"]
STATUSES = ["open"] * 6 + ["ack"] * 3 + ["resolved"]
ROLES = ("user", "assistant")
ENVIRONMENTS = ["production"] * 16 + ["staging"] * 3 + ["development"]
BREAKDOWN = {
    "health": 0,
    "formula": "health = 100 - sum(points); points = 100 * weight * value",
    "components": {
        name: {"value": 0.2, "weight": 0.2, "points": 4.0, "evidence_indexes": [1], "detail": {}}
        for name in ("dissatisfaction", "failures", "sentiment", "resolution", "effort")
    },
}


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _texts(rng: random.Random, count: int) -> list[str]:
    texts = []
    for index in range(count):
        words = random_words(rng, rng.randint(40, 400))
        if index % 200 == 0:
            words.insert(rng.randrange(len(words)), RARE_WORD)
        texts.append(" ".join(words))
    return texts


def load_data(args: argparse.Namespace, log) -> dict:
    """COPY the seeded data set into the migrated database; returns ids the load process uses."""
    from django.db import connection

    from conversations.models import SEARCH_DOCUMENT_SQL

    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    texts = _texts(rng, 5000)
    conversations = []
    for index in range(args.conversations):
        last = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
        health = None if rng.random() < 0.05 else round(min(100.0, max(0.0, rng.gauss(72, 18))), 2)
        conversations.append((_uuid(rng), f"bench-{index}", rng.choice(ENVIRONMENTS), last, health))

    failures = []
    failing: dict[int, int] = {}
    seen = set()
    while len(failures) < int(args.conversations * 0.3):
        index = rng.randrange(args.conversations)
        kind = rng.choice(FAILURE_TYPES)
        position = rng.randrange(1, 8, 2)
        if (index, kind, position) in seen:
            continue
        seen.add((index, kind, position))
        failing[index] = failing.get(index, 0) + 1
        detected = conversations[index][3] + timedelta(seconds=rng.uniform(5, 120))
        status = rng.choice(STATUSES)
        failures.append(
            (_uuid(rng), index, index * 8 + position + 1, kind, rng.choice(SEVERITIES), status, min(detected, now))
        )

    log(f"COPY {args.conversations} conversations, {args.conversations * 8} messages, {len(failures)} failures…")
    breakdown = json.dumps(BREAKDOWN)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY conversations (id, external_id, environment, end_user_id, started_at, last_message_at,"
            " message_count, health_score, health_breakdown, sentiment_summary, has_failures, failure_count,"
            " processing_state, processed_at, metadata, created_at, updated_at) FROM STDIN"
        ) as copy:
            for index, (conversation_id, external_id, environment, last, health) in enumerate(conversations):
                count = failing.get(index, 0)
                copy.write_row(
                    (conversation_id, external_id, environment, f"user-{index % 5000}", last - timedelta(minutes=3),
                     last, 8, health, breakdown if health is not None else "{}", "{}", count > 0, count,
                     "scored" if health is not None else "pending", last if health is not None else None, "{}",
                     last, last)
                )  # fmt: skip
        with raw.copy(
            "COPY messages (id, conversation_id, position, role, content, timestamp, sentiment_score, metadata,"
            " dedupe_key, created_at) FROM STDIN"
        ) as copy:
            for index, (conversation_id, _, _, last, _) in enumerate(conversations):
                start = last - timedelta(minutes=3)
                for position in range(8):
                    copy.write_row(
                        (index * 8 + position + 1, conversation_id, position, ROLES[position % 2],
                         texts[rng.randrange(len(texts))], start + timedelta(seconds=20 * position),
                         round(rng.uniform(-1, 1), 3), "{}", f"h:{position}", last)
                    )  # fmt: skip
        cursor.execute("SELECT setval(pg_get_serial_sequence('messages', 'id'), %s)", [args.conversations * 8])
        log("search documents of the scored conversations, as their analysis writes them…")
        cursor.execute(
            f"UPDATE conversations AS c SET search = {SEARCH_DOCUMENT_SQL} WHERE processing_state = 'scored'"
        )
        with raw.copy(
            "COPY failures (id, conversation_id, message_id, type, severity, description, evidence, status,"
            " detected_at, updated_at, resolved_at) FROM STDIN"
        ) as copy:
            for failure_id, index, message_id, kind, severity, status, detected in failures:
                copy.write_row(
                    (failure_id, conversations[index][0], message_id, kind, severity, f"{kind} detected",
                     json.dumps({"message_index": (message_id - 1) % 8}), status, detected, detected,
                     detected if status == "resolved" else None)
                )  # fmt: skip

        log("usage patterns…")
        patterns = []
        for run_index, (period_end, run) in enumerate([(now - timedelta(days=7), _uuid(rng)), (now, _uuid(rng))]):
            for number in range(20):
                pattern_id = _uuid(rng)
                members = rng.sample(range(args.conversations), min(args.conversations, rng.randint(200, 2500)))
                patterns.append(pattern_id)
                cursor.execute(
                    "INSERT INTO usage_patterns (id, lineage_id, label, keywords, description, size, avg_health,"
                    " failure_rate, size_change, period_start, period_end, analysis_run, centroid, created_at)"
                    " VALUES (%s, %s, %s, %s, '', %s, %s, %s, %s, %s, %s, %s, '[]', %s)",
                    [pattern_id, _uuid(rng), f"pattern {number}", json.dumps(rng.sample(WORDS, 4)), len(members),
                     round(rng.uniform(40, 90), 2), round(rng.uniform(0, 0.5), 3),
                     None if run_index == 0 else round(rng.uniform(-0.5, 0.5), 3), period_end - timedelta(days=7),
                     period_end, run, now],
                )  # fmt: skip
                with raw.copy(
                    "COPY pattern_conversations (pattern_id, conversation_id, similarity) FROM STDIN"
                ) as copy:
                    for member in members:
                        copy.write_row((pattern_id, conversations[member][0], round(rng.uniform(0.5, 1), 3)))

        log(f"embeddings for {args.embedded} conversations…")
        with raw.copy(
            "COPY conversation_embeddings (conversation_id, model_name, embedding, content_hash, created_at,"
            " updated_at) FROM STDIN"
        ) as copy:
            for conversation_id, *_ in conversations[: args.embedded]:
                vector = "[" + ",".join(f"{rng.gauss(0, 1):.4f}" for _ in range(384)) + "]"
                copy.write_row((conversation_id, "bench", vector, conversation_id.hex, now, now))
        cursor.execute(
            "INSERT INTO saved_views (id, name, scope, config, created_at, updated_at)"
            " VALUES (%s, 'Unhappy', 'conversations', %s, now(), now())",
            [_uuid(rng), json.dumps({"health_max": 40})],
        )
        cursor.execute(
            "INSERT INTO app_settings (id, slack_webhook_url, alert_on_new_failures, alert_min_severity,"
            " health_alert_threshold, features, updated_at) VALUES (1, '', true, 'high', 40, '{}', now())"
        )
    log("VACUUM ANALYZE…")
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.set_autocommit(autocommit)

    by_recency = sorted(range(args.conversations), key=lambda i: conversations[i][3], reverse=True)
    deep = conversations[by_recency[int(args.conversations * 0.9)]]
    return {
        "conversation_ids": [str(conversations[i][0]) for i in rng.sample(range(args.embedded), 200)],
        "pattern_id": str(patterns[-1]),
        "deep_cursor_values": [deep[3].isoformat(), str(deep[0])],
    }


PAGES_DOC = """Dashboard page server time at 100,000 conversations (bench/pages.py: the data and harness of read.py).
"""

# --- the endpoints ------------------------------------------------------------------------------------------


def endpoints(ids: dict) -> list[tuple[str, str]]:
    """(name, path with query) of every read endpoint; `{id}` is replaced by a different conversation each time."""
    from conversations.selectors import _cursor_encode

    deep_cursor = _cursor_encode("-last_message_at", ids["deep_cursor_values"])
    conversations = "/api/v1/conversations"
    return [
        ("conversations", conversations),
        ("conversations deep page (row 90,000)", f"{conversations}?cursor={deep_cursor}"),
        ("conversations timeframe=7d has_failures", f"{conversations}?timeframe=7d&has_failures=true"),
        ("conversations health_max=40 by health", f"{conversations}?health_max=40&ordering=health_score"),
        ("conversations by -health_score", f"{conversations}?ordering=-health_score"),
        ("conversations by message_count", f"{conversations}?ordering=message_count"),
        ("conversations failure_type=loop", f"{conversations}?failure_type=loop"),
        ("conversations environment=staging", f"{conversations}?environment=staging"),
        ("conversations pattern", f"{conversations}?pattern={ids['pattern_id']}"),
        (f"conversations q={RARE_WORD}", f"{conversations}?q={RARE_WORD}"),
        ("conversations q=refund password", f"{conversations}?q=refund+password"),
        ("conversations/{id}", f"{conversations}/{{id}}"),
        ("conversations/{id}/messages", f"{conversations}/{{id}}/messages"),
        ("conversations/{id}/health", f"{conversations}/{{id}}/health"),
        ("conversations/{id}/failures", f"{conversations}/{{id}}/failures"),
        ("conversations/{id}/similar", f"{conversations}/{{id}}/similar"),
        ("conversations/export 24h csv", "/api/v1/conversations/export?timeframe=24h"),
        ("analytics/summary 7d", "/api/v1/analytics/summary?timeframe=7d"),
        ("analytics/summary 30d", "/api/v1/analytics/summary?timeframe=30d"),
        ("analytics/patterns", "/api/v1/analytics/patterns"),
        ("analytics/failures/trends 30d", "/api/v1/analytics/failures/trends"),
        ("analytics/failures/trends 7d hourly", "/api/v1/analytics/failures/trends?timeframe=7d&bucket=hour"),
        ("failures", "/api/v1/failures"),
        ("failures status=open severity=high", "/api/v1/failures?status=open&severity=high"),
        ("saved-views", "/api/v1/saved-views"),
        ("settings", "/api/v1/settings"),
    ]


def page_endpoints(ids: dict) -> list[tuple[str, str]]:
    """(name, path with query) of every dashboard page (bench/pages.py); `{id}` as in endpoints()."""
    return [
        ("overview 7d", "/"),
        ("overview 30d", "/?timeframe=30d"),
        ("conversations", "/conversations/"),
        ("conversations health<=40 by health", "/conversations/?health_max=40&ordering=health_score"),
        (f"conversations q={RARE_WORD}", f"/conversations/?q={RARE_WORD}"),
        ("conversation detail", "/conversations/{id}/"),
        ("failures (open)", "/failures/"),
        ("patterns", "/patterns/"),
        ("pattern", f"/patterns/{ids['pattern_id']}/"),
        ("settings", "/settings/"),
    ]


def _client(credential: dict):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", headers=credential.get("headers", {}))
    for name, value in credential.get("cookies", {}).items():
        client.cookies[name] = value
    return client


def sql_alone(path: str, conversation_ids: list[str], runs: int, credential: dict) -> float:
    """Median milliseconds of the SQL the endpoint's view runs (captured in-process, re-run with psycopg)."""
    import psycopg
    from django.db import connection, transaction

    captured: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    # The export has PostgreSQL write its file with COPY, which Django's execute wrappers don't see.
    copies: list[tuple[str, object]] = []
    psycopg_copy = psycopg.Cursor.copy

    def copy_recorded(self, statement, params=None, **kwargs):
        copies.append((statement, params))
        return psycopg_copy(self, statement, params, **kwargs)

    client = _client(credential)
    client.get("/api/v1/me")  # the user row exists; its lookup is not the endpoint's SQL
    concrete = path.replace("{id}", conversation_ids[0])
    psycopg.Cursor.copy = copy_recorded
    try:
        with connection.execute_wrapper(capture):
            response = client.get(concrete)
            if response.streaming:
                b"".join(response.streaming_content)  # the export's SQL runs while it streams
    finally:
        psycopg.Cursor.copy = psycopg_copy
    statements = [
        (sql, params)
        for sql, params in captured
        if not any(table in sql for table in ("auth_user", "user_profiles", "django_session"))
    ]
    timings = []
    with connection.cursor() as cursor:
        for run in range(runs):
            concrete_ids = conversation_ids[run % len(conversation_ids)]
            started = time.perf_counter()
            # In a transaction, as a selector's savepoints and SET LOCAL need one; only queries return rows.
            with transaction.atomic():
                for sql, params in statements:
                    cursor.execute(sql, _swap_id(params, conversation_ids[0], concrete_ids))
                    if cursor.description is not None:
                        cursor.fetchall()
            for sql, params in copies:
                with cursor.cursor.copy(sql, params) as copy:
                    for _ in copy:
                        pass
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def _swap_id(params, old: str, new: str):
    if params is None:
        return params
    return tuple(uuid.UUID(new) if str(value) == old else value for value in params)


# --- the load process ----------------------------------------------------------------------------------------


def load_main(args: argparse.Namespace) -> None:
    host, port = args.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = dict([args.header.split(": ", 1)])
    plan = json.loads(Path(args.plan).read_text())
    results = {}
    for name, path in plan["endpoints"]:
        latencies, statuses = [], {}
        for index in range(args.warmup + args.requests):
            concrete = path.replace("{id}", plan["conversation_ids"][index % len(plan["conversation_ids"])])
            started = time.perf_counter()
            connection.request("GET", concrete, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if index >= args.warmup:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        latencies.sort()
        results[name] = {
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "statuses": statuses,
        }
    connection.close()
    print(json.dumps(results))


# --- the orchestrator ------------------------------------------------------------------------------------------


def main(*, pages: bool = False) -> int:
    """The read API's endpoints (bench/read.py), or with `pages` the dashboard's pages (bench/pages.py)."""
    target_ms = 150 if pages else 30
    parser = argparse.ArgumentParser(description=(PAGES_DOC if pages else __doc__).splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--embedded", type=int, default=20_000, help="conversations with an embedding")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests per endpoint first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="use this (empty) PostgreSQL instead of a fresh embedded one")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--header", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_main(args)
        return 0

    import jwt

    log = logger_for(quiet=args.json)
    jwt_secret = secrets.token_urlsafe(48)
    now = int(time.time())
    token = jwt.encode(
        {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 7200},
        jwt_secret,
        algorithm="HS256",
    )
    with isolated_product(
        prefix="convosensei-bench-read-", database_url=args.database_url, log=log,
        SUPABASE_JWT_SECRET=jwt_secret, FEATURE_EMBEDDINGS="true",
    ) as (tmp, env):  # fmt: skip
        began = time.perf_counter()
        ids = load_data(args, log)
        load_seconds = round(time.perf_counter() - began, 1)
        if pages:
            from django.contrib.auth import get_user_model
            from django.core.management import call_command

            call_command("collectstatic", "--no-input", verbosity=0)  # pages link hashed static names

            admin = get_user_model().objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(16))
            login = _client({})
            login.force_login(admin)
            session = login.cookies["sessionid"].value
            credential = {"cookies": {"sessionid": session}}
            header = f"Cookie: sessionid={session}"
        else:
            credential = {"headers": {"Authorization": f"Bearer {token}"}}
            header = f"Authorization: Bearer {token}"
        plan = {
            "endpoints": page_endpoints(ids) if pages else endpoints(ids),
            "conversation_ids": ids["conversation_ids"],
        }
        plan_path = tmp / "plan.json"
        plan_path.write_text(json.dumps(plan))

        with serve(env=env, log_path=tmp / "gunicorn.log", workers=args.workers) as url:
            log(f"driving {url} from a separate load process…")
            figures = run_load(
                __file__, url=url, env=env,
                args=["--header", header, "--plan", str(plan_path), "--requests", str(args.requests),
                      "--warmup", str(args.warmup)],
            )  # fmt: skip
        log("timing each endpoint's SQL alone…")
        for name, path in plan["endpoints"]:
            figures[name]["sql_ms"] = sql_alone(
                path, ids["conversation_ids"], runs=max(20, args.requests // 2), credential=credential
            )

    over = [name for name, figure in figures.items() if figure["p95_ms"] > target_ms]
    result = {
        "conversations": args.conversations,
        "messages": args.conversations * 8,
        "failures": int(args.conversations * 0.3),
        "embedded_conversations": args.embedded,
        "load_seconds": load_seconds,
        "gunicorn": f"{args.workers} sync workers",
        "endpoints": figures,
        f"p95_over_{target_ms}ms": over,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("conversations", "messages", "failures", "embedded_conversations", "load_seconds", "gunicorn"):
            print(f"{name:<24}{result[name]}")
        width = max(len(name) for name in figures)
        print(f"\n{'endpoint':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'SQL ms':>8}  statuses")
        for name, figure in figures.items():
            print(
                f"{name:<{width}}  {figure['p50_ms']:>8}  {figure['p95_ms']:>8}  {figure['sql_ms']:>8}  "
                f"{figure['statuses']}"
            )
        print(f"\np95 over {target_ms} ms: {over or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
