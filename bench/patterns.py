"""Usage-pattern analysis time on 10,000 conversations (target: under 2 minutes).

    .venv/bin/python bench/patterns.py [--json] [--conversations 10000] [--embeddings] [--workload demo]

Starts its own embedded PostgreSQL in a temporary directory (unless --database-url), migrates, stores a
seeded workload of --conversations conversations over one week (20 topics; each conversation is two
user requests on one topic, with an assistant reply between them, and in one of two a closing turn such as
"Thanks, that helps!", as users write whatever they asked about), then times `usage_patterns_analyze`
(what `manage.py analyze_patterns` and the weekly task run): reading the texts, vectors, k-means with the
silhouette choice of k, class-based TF-IDF labels, and storing patterns and memberships.

`--workload demo`: `make run`'s demo conversations instead (6 topics, several requests each, sharing words;
closing turns, complaints and requests for a human), --conversations of them over the week.

`purity`: the share of the clustered conversations whose pattern's most common topic is their own (1.0: no
pattern mixes topics; a pattern may still split one topic, as a topic's requests differ). `on_topic_labels`
(demo workload): the share of the words naming the patterns that occur in their topic's requests, not in the
complaints, corrections and requests for a human that any topic's conversations may hold.

Default: FEATURE_EMBEDDINGS off, so the vectors are TF-IDF (the fallback). With --embeddings the vectors
are the stored all-MiniLM-L6-v2 embeddings that the pipeline writes at ingest time; the bench writes them
first with the real model (not timed: bench/pipeline.py measures that cost), then times the analysis.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import isolated_product, logger_for, print_figures

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
CLOSINGS = ["Thanks, that helps!", "Great, thank you!", "Perfect, thanks.", "ok thanks", "Hello? Are you still there?"]


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
        if rng.random() < 0.5:
            turns += [("assistant", "Here is what I found."), ("user", rng.choice(CLOSINGS))]
        items.append(
            {
                "external_id": f"pattern-bench-{seed}-{i}",
                "environment": "bench",
                "user_id": "",
                "metadata": {"topic": a},
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


def _demo(args, until: datetime) -> list[dict]:
    """The demo data set's conversations (topic in their metadata), as the ingestion service takes them."""
    from conversations.demo import demo_conversations
    from ingestion.schemas import ConversationIn

    return [
        ConversationIn.model_validate(payload).model_dump()
        for payload in demo_conversations(count=args.conversations, days=7, seed=args.seed, now=until)
    ]


def _purity(patterns) -> float | None:
    """Share of the patterns' members whose pattern's most common topic is their own."""
    from collections import Counter

    from analytics.models import PatternConversation

    topics: dict = {}
    for pattern_id, topic in PatternConversation.objects.filter(pattern__in=patterns).values_list(
        "pattern_id", "conversation__metadata__topic"
    ):
        topics.setdefault(pattern_id, Counter())[topic] += 1
    members = sum(sum(counts.values()) for counts in topics.values())
    majority = sum(counts.most_common(1)[0][1] for counts in topics.values())
    return round(majority / members, 3) if members else None


def _on_topic_labels(patterns) -> float | None:
    """Demo workload: the share of the patterns' label words (the three that name a pattern) that occur in the
    requests of the pattern's most common topic, i.e. that say what people asked rather than how it went."""
    import re
    from collections import Counter

    from analytics.models import PatternConversation
    from conversations.demo import TOPICS

    topic_words = {
        topic: set(re.findall(r"[a-z]+", " ".join(question for question, _ in pairs).lower()))
        for topic, pairs in TOPICS.items()
    }
    on_topic = total = 0
    for pattern in patterns:
        topics = Counter(
            PatternConversation.objects.filter(pattern=pattern).values_list("conversation__metadata__topic", flat=True)
        )
        words = pattern.label.split(" / ")
        total += len(words)
        on_topic += sum(word in topic_words.get(topics.most_common(1)[0][0], set()) for word in words)
    return round(on_topic / total, 3) if total else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--embeddings", action="store_true", help="cluster stored embeddings instead of TF-IDF")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workload", choices=["synthetic", "demo"], default="synthetic")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of a fresh embedded one")
    args = parser.parse_args()
    log = logger_for(quiet=args.json)

    with isolated_product(
        prefix="convosensei-bench-patterns-", database_url=args.database_url, log=log,
        FEATURE_EMBEDDINGS="true" if args.embeddings else "false",
    ):  # fmt: skip
        from analytics.services import conversations_embed, usage_patterns_analyze
        from conversations.models import Conversation
        from ingestion.services import conversations_ingest

        since = datetime(2026, 11, 2, tzinfo=UTC)
        until = since + timedelta(days=7)
        log(f"storing {args.conversations} conversations…")
        items = _items(args.conversations, args.seed, since) if args.workload == "synthetic" else _demo(args, until)
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
        purity = _purity(analysis.patterns)
        on_topic = _on_topic_labels(analysis.patterns) if args.workload == "demo" else None

    result = {
        "workload": args.workload,
        "conversations": analysis.conversations,
        "vectors": analysis.space,
        "patterns": len(analysis.patterns),
        "seconds": round(seconds, 2),
        "target_seconds": 120,
        "purity": purity,
        "on_topic_labels": on_topic,
        "labels": [p.label for p in analysis.patterns],
        "cpus": os.cpu_count(),
    }
    print_figures(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
