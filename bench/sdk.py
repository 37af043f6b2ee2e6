"""Benchmark the Python SDK: the cost of track() in the caller's thread, and sustained delivery.

    sdk/python/.venv/bin/python bench/sdk.py [--json] [--calls N] [--rate R] [--seconds S]

1. track() latency: N calls with a realistic message (a ~300-character user turn with metadata), in
   bursts of 1,000 so the queue never fills, with the consumer thread running and sending. Targets:
   median <= 20 us, p99 <= 200 us.
2. Throughput: R messages/s for S seconds (default 10,000/s for 10 s, one message per track() call,
   paced every 10 ms), then a bounded flush; every message must reach the stand-in exactly once.

The ingestion stand-in runs in a separate process on 127.0.0.1 so that its request handling does not
compete with the measured process for the GIL, as a real server would not. Loopback only, every loop
bounded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "sdk" / "python"
sys.path.insert(0, str(SDK / "src"))

from convosensei_sdk import Client  # noqa: E402

API_KEY = "cs_bench_secret"
TARGET_MEDIAN_US = 20.0
TARGET_P99_US = 200.0

USER_TEXT = (
    "Hi, I ordered the blue running shoes last Tuesday (order #48213) and the tracking page has said "
    "'label created' for five days now. Can you tell me whether it has actually shipped, and if not, "
    "can I switch to express delivery or cancel and get a refund? I need them before the race on the 14th."
)


def start_standin() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(SDK / "tests" / "ingest_standin.py"), "--api-key", API_KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def standin_stats(url: str) -> dict[str, int]:
    # The URL is the loopback stand-in this script started, never user input.
    with urllib.request.urlopen(f"{url}/_standin/stats", timeout=5) as response:  # noqa: S310
        return json.loads(response.read())


def bench_track_latency(url: str, calls: int) -> dict[str, Any]:
    client = Client(api_key=API_KEY, base_url=url, flush_interval=0.2)
    metadata = {"channel": "web", "locale": "en-GB", "page": "/orders/48213"}
    samples: list[int] = []
    clock = time.perf_counter_ns
    burst = 1_000
    for start in range(0, calls, burst):
        for i in range(start, min(start + burst, calls)):
            msg = {"role": "user", "content": USER_TEXT, "metadata": metadata}
            t0 = clock()
            client.track(conversation_id=f"lat-{i % 200}", messages=[msg], user_id="user-17")
            samples.append(clock() - t0)
        client.flush(timeout=10)
    client.shutdown(timeout=10)
    samples.sort()
    us = [s / 1000 for s in samples]
    stats = client.stats()
    return {
        "calls": calls,
        "median_us": round(statistics.median(us), 2),
        "p90_us": round(us[int(len(us) * 0.90)], 2),
        "p99_us": round(us[int(len(us) * 0.99)], 2),
        "max_us": round(us[-1], 2),
        "sent": stats.sent,
        "dropped": stats.dropped,
    }


def bench_throughput(url: str, rate: int, seconds: int) -> dict[str, Any]:
    before = standin_stats(url)
    client = Client(api_key=API_KEY, base_url=url, flush_interval=0.2)
    tick = 0.01
    per_tick = rate // 100
    conversations = 2_000
    sent = 0
    started = time.perf_counter()
    for t in range(int(seconds / tick)):
        for _ in range(per_tick):
            client.track(
                conversation_id=f"tp-{sent % conversations}",
                messages=[{"role": "user" if sent % 2 else "assistant", "content": USER_TEXT}],
            )
            sent += 1
        # Pace against the schedule, not the previous tick, so slow ticks are caught up.
        delay = started + (t + 1) * tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    produce_s = time.perf_counter() - started
    flushed = client.flush(timeout=30)
    drain_s = time.perf_counter() - started - produce_s
    client.shutdown(timeout=5)
    after = standin_stats(url)
    distinct = after["distinct_messages"] - before["distinct_messages"]
    deliveries = after["message_deliveries"] - before["message_deliveries"]
    stats = client.stats()
    return {
        "messages": sent,
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(sent / produce_s),
        "produce_s": round(produce_s, 2),
        "drain_after_produce_s": round(drain_s, 2),
        "flushed": flushed,
        "distinct_received": distinct,
        "deliveries": deliveries,
        "requests": after["requests"] - before["requests"],
        "dropped": stats.dropped,
        "failed": stats.failed,
        "all_delivered_once": flushed and distinct == sent and deliveries == sent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=10_000, help="messages per second")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    proc, url = start_standin()
    try:
        latency = bench_track_latency(url, args.calls)
        throughput = bench_throughput(url, args.rate, args.seconds)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    result = {
        "python": sys.version.split()[0],
        "track_latency": latency,
        "throughput": throughput,
        "targets": {"median_us": TARGET_MEDIAN_US, "p99_us": TARGET_P99_US},
        "meets_targets": latency["median_us"] <= TARGET_MEDIAN_US
        and latency["p99_us"] <= TARGET_P99_US
        and throughput["all_delivered_once"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"track() in the caller's thread ({latency['calls']:,} calls, consumer running)")
        print(f"  {'median':<8}{latency['median_us']:>10.2f} us   (target <= {TARGET_MEDIAN_US:.0f} us)")
        print(f"  {'p90':<8}{latency['p90_us']:>10.2f} us")
        print(f"  {'p99':<8}{latency['p99_us']:>10.2f} us   (target <= {TARGET_P99_US:.0f} us)")
        print(f"  {'max':<8}{latency['max_us']:>10.2f} us")
        print(f"sustained delivery ({throughput['target_rate_per_s']:,} messages/s for {args.seconds} s)")
        for key in (
            "messages",
            "achieved_rate_per_s",
            "drain_after_produce_s",
            "distinct_received",
            "deliveries",
            "requests",
            "dropped",
            "failed",
            "all_delivered_once",
        ):
            print(f"  {key:<24}{throughput[key]!s:>12}")
        print(f"meets targets: {result['meets_targets']}")
    return 0 if result["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
