"""Usage-pattern analysis time on 10,000 conversations (target: under 2 minutes).

    .venv/bin/python bench/patterns.py [--json] [--conversations 10000] [--embeddings]

Starts its own embedded PostgreSQL in a temporary directory (unless --database-url), migrates, stores a
seeded workload of --conversations conversations over one week (20 topics; each conversation is two
user requests on one topic, with an assistant reply between them), then times `usage_patterns_analyze`
(what `manage.py analyze_patterns` and the weekly task run): reading the texts, vectors, k-means with the
silhouette choice of k, class-based TF-IDF labels, and storing patterns and memberships.

Default: FEATURE_EMBEDDINGS off, so the vectors are TF-IDF (the fallback). With --embeddings the vectors
are the stored all-MiniLM-L6-v2 embeddings that the pipeline writes at ingest time; the bench writes them
first with the real model (not timed: bench/pipeline.py measures that cost), then times the analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOPICS = [
    ("refund", "money back"), ("password", "log in"), ("delivery", "parcel"), ("invoice", "billing"),
    ("subscription", "cancel"), ("upgrade", "plan"), ("address", "move"), ("warranty", "repair"),
    ("discount", "coupon"), ("account", "delete"), ("battery", "charge"), ("screen", "cracked"),
    ("booking", "table"), ("flight", "seat"), ("hotel", "room"), ("insurance", "claim"),
    ("recipe", "dinner"), ("weather", "rain"), ("exam", "grade"), ("loan", "interest"),
]  # fmt: skip
TEMPLATES = [
    "I have a question about my {a}, it is about the {b}",
    "Can you help me with the {a}? Something about {b}",
    "Why is the {a} not working, I need the {b} today",
    "What are the options for {a} and {b}",
    "My {a} has a problem with {b} again",
    "Please explain how {a} works with {b}",
]


def _items(count: int, seed: int, start: datetime) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for i in range(count):
        a, b = rng.choice(TOPICS)
        at = start + timedelta(seconds=rng.randrange(7 * 86_400))
        first, second = rng.sample(TEMPLATES, 2)
        turns = [
            ("user", first.format(a=a, b=b)),
            ("assistant", "Let me look into that."),
            ("user", second.format(a=a, b=b)),
        ]
        items.append(
            {
                "external_id": f"pattern-bench-{seed}-{i}",
                "environment": "bench",
                "user_id": "",
                "metadata": {},
                "messages": [
                    {
                        "role": role,
                        "content": text,
                        "timestamp": at + timedelta(seconds=10 * n),
                        "metadata": {},
                        "id": None,
                    }
                    for n, (role, text) in enumerate(turns)
                ],
            }
        )
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--embeddings", action="store_true", help="cluster stored embeddings instead of TF-IDF")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="use this PostgreSQL instead of a fresh embedded one")
    args = parser.parse_args()
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    with tempfile.TemporaryDirectory(prefix="convosensei-bench-patterns-") as tmp:
        os.environ.update(
            {
                "CONVOSENSEI_VAR_DIR": tmp,
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
                "REDIS_URL": "redis://127.0.0.1:9/0",  # never reached: the scoring buffer is not flushed here
                "REDIS_SOCKET_TIMEOUT": "0.05",
                "LOG_LEVEL": "WARNING",
                "FEATURE_EMBEDDINGS": "true" if args.embeddings else "false",
                "DJANGO_SETTINGS_MODULE": "convosensei.settings",
            }
        )
        if args.database_url:
            os.environ["DATABASE_URL"] = args.database_url
        import django

        django.setup()
        from django.core.management import call_command

        from analytics.services import conversations_embed, usage_patterns_analyze
        from conversations.models import Conversation
        from ingestion.services import conversations_ingest

        log("migrating…")
        call_command("migrate", verbosity=0)
        since = datetime(2026, 11, 2, tzinfo=UTC)
        until = since + timedelta(days=7)
        log(f"storing {args.conversations} conversations…")
        items = _items(args.conversations, args.seed, since)
        for start in range(0, len(items), 500):
            conversations_ingest(conversations=items[start : start + 500], api_key_id=None)
        if args.embeddings:
            log("embedding them with the real model (not timed)…")
            ids = [str(i) for i in Conversation.objects.values_list("id", flat=True)]
            for start in range(0, len(ids), 512):
                conversations_embed(conversation_ids=ids[start : start + 512])
        log("analysing…")
        began = time.perf_counter()
        analysis = usage_patterns_analyze(since=since, until=until)
        seconds = time.perf_counter() - began

    result = {
        "conversations": analysis.conversations,
        "vectors": analysis.space,
        "patterns": len(analysis.patterns),
        "seconds": round(seconds, 2),
        "target_seconds": 120,
        "labels": [p.label for p in analysis.patterns],
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            print(f"{name:<15} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
