"""Payloads as a client app sends them."""

from datetime import UTC, datetime, timedelta


def transcript(external_id: str = "conv-1", turns: int = 3, start: datetime | None = None) -> dict:
    """A conversation of `turns` user/assistant exchanges, as an app would send it."""
    start = start or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    messages = []
    for turn in range(turns):
        at = start + timedelta(minutes=turn)
        messages.append({"role": "user", "content": f"question {turn}", "timestamp": at.isoformat()})
        messages.append(
            {
                "role": "assistant",
                "content": f"answer {turn}",
                "timestamp": (at + timedelta(seconds=5)).isoformat(),
                "metadata": {"model": "gpt-test", "latency_ms": 812},
            }
        )
    return {"external_id": external_id, "messages": messages, "metadata": {"channel": "web"}, "environment": "prod"}
