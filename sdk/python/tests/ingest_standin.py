"""A stand-in for the ConvoSensei batch ingestion endpoint, on 127.0.0.1, for the SDK's tests and bench.

It behaves like the server where the SDK can tell: bearer auth, gzip bodies, the 100-conversation,
1,000-message and 5 MiB limits, per-conversation results (a conversation's field errors in the server's error
envelope, and a 400 when none is valid), dedupe by client message id, and scripted failures.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional

from llm_standin import LoopbackStandIn

BATCH_PATH = "/api/v1/conversations/track/batch"
STATS_PATH = "/_standin/stats"
MAX_CONVERSATIONS = 100
MAX_MESSAGES = 1000  # per conversation entry, the server's INGEST_MAX_MESSAGES_PER_CONVERSATION default
MAX_BYTES = 5 * 1024 * 1024
ROLES = {"user", "assistant", "system", "tool"}
MAX_CLOCK_SKEW = timedelta(seconds=300)  # the server's INGEST_MAX_CLOCK_SKEW_SECONDS default


@dataclass
class ReceivedRequest:
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]
    wire_bytes: int
    body: Optional[dict[str, Any]]
    status: int


@dataclass
class Scripted:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


class IngestStandIn(LoopbackStandIn):
    """Start with .start() (or as a context manager); .url is the base_url to give the SDK."""

    def __init__(
        self, *, api_key: str = "cs_test_secret", port: int = 0, tls: Optional[ssl.SSLContext] = None
    ) -> None:
        super().__init__(port=port, tls=tls)
        self.api_key = api_key
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._script: deque[Scripted] = deque()
        self.requests: list[ReceivedRequest] = []
        self.messages: dict[str, dict[str, Any]] = {}  # by client message id, like the server's dedupe
        self.message_deliveries = 0  # every accepted message, duplicates included
        self.keep_bodies = True  # the bench turns this off: a 100k-message run need not hold every body

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self._port}"

    # ------------------------------------------------------------------------ scripting and reading

    def respond_next(
        self,
        status: int,
        *,
        times: int = 1,
        headers: Optional[dict[str, str]] = None,
        body: Optional[dict[str, Any]] = None,
    ) -> None:
        """The next `times` requests get this response instead of being processed."""
        with self._lock:
            for _ in range(times):
                self._script.append(Scripted(status, headers or {}, body or {}))

    def distinct_message_ids(self) -> set[str]:
        with self._lock:
            return set(self.messages)

    def accepted_requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until `count` requests (accepted or not) have arrived, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(remaining)
            return True

    # ------------------------------------------------------------------------ the endpoint

    def _handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        # Counters for a stand-in running in another process (the bench keeps it out of the
        # measured process so its threads do not compete for the GIL).
        with self._lock:
            counts = {
                "distinct_messages": len(self.messages),
                "message_deliveries": self.message_deliveries,
                "requests": len(self.requests),
            }
        self._send_json(handler, 200 if handler.path == STATS_PATH else 404, counts)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        status, payload, extra_headers, parsed = self._process(handler.path, headers, raw)
        with self._arrived:
            kept = parsed if self.keep_bodies else None
            self.requests.append(ReceivedRequest(arrived, headers, len(raw), kept, status))
            self._arrived.notify_all()
        self._send_json(handler, status, payload, extra_headers)

    def _process(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str], Optional[dict[str, Any]]]:
        def error(status: int, code: str, message: str) -> tuple[int, dict[str, Any], dict[str, str], None]:
            return status, {"message": message, "code": code, "details": {}}, {}, None

        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            body = scripted.body or {"message": "scripted", "code": "scripted", "details": {}}
            return scripted.status, body, scripted.headers, None
        if path != BATCH_PATH:
            return error(404, "not_found", "no such endpoint")
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "authentication_failed", "invalid API key")
        if headers.get("content-encoding") == "gzip":
            try:
                raw = gzip.decompress(raw)
            except OSError:
                return error(400, "bad_gzip", "body is not valid gzip")
        if len(raw) > MAX_BYTES:
            return error(413, "payload_too_large", "request body over 5 MiB")
        try:
            body = json.loads(raw)
        except ValueError:
            return error(400, "invalid_json", "body is not JSON")
        conversations = body.get("conversations") if isinstance(body, dict) else None
        if not isinstance(conversations, list) or not conversations:
            return error(400, "invalid", "conversations must be a non-empty list")
        if len(conversations) > MAX_CONVERSATIONS:
            return error(400, "too_many_conversations", "at most 100 conversations per request")
        results = []
        with self._arrived:
            for index, conversation in enumerate(conversations):
                problem = _problem(conversation)
                if problem:
                    error = {"message": "The conversation has invalid fields.", "code": "validation_error"}
                    results.append(
                        {"index": index, "status": "error", "error": {**error, "details": problem}}
                    )
                    continue
                for message in conversation["messages"]:
                    self.message_deliveries += 1
                    key = (
                        message.get("id") or f"{message['role']}|{message['timestamp']}|{message['content']}"
                    )
                    self.messages.setdefault(key, {**message, "external_id": conversation["external_id"]})
                results.append({"index": index, "status": "ok", "external_id": conversation["external_id"]})
            self._arrived.notify_all()
        if all(result["status"] == "error" for result in results):
            envelope = {"message": "No conversation in the batch is valid.", "code": "validation_error"}
            return 400, {**envelope, "details": {"results": results}}, {}, body
        return 202, {"results": results}, {}, body


def _problem(conversation: Any) -> Optional[dict[str, Any]]:
    """The server's field errors for a conversation entry (its envelope's `details`); None if it is valid."""
    if not isinstance(conversation, dict):
        return {"non_field_errors": ["Must be an object."]}
    if not isinstance(conversation.get("external_id"), str):
        return {"external_id": ["Must be a string."]}
    messages = conversation.get("messages")
    if not isinstance(messages, list) or not messages:
        return {"messages": ["A conversation needs at least one message."]}
    if len(messages) > MAX_MESSAGES:
        return {"messages": [f"At most {MAX_MESSAGES} messages per conversation."]}
    for index, message in enumerate(messages):
        problem = _message_problem(message)
        if problem:
            return {"messages": {str(index): problem}}
    return None


def _message_problem(message: Any) -> Optional[dict[str, list[str]]]:
    if not isinstance(message, dict):
        return {"non_field_errors": ["Must be an object."]}
    if message.get("role") not in ROLES:
        return {"role": ["Must be one of user, assistant, system or tool."]}
    if not isinstance(message.get("content"), str):
        return {"content": ["Must be a string."]}
    try:
        at = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
    except (KeyError, TypeError, AttributeError, ValueError):
        return {"timestamp": ["Must be an ISO-8601 date and time such as 2026-11-26T09:00:00Z."]}
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    if at > datetime.now(timezone.utc) + MAX_CLOCK_SKEW:
        return {"timestamp": ["The timestamp is more than 300 seconds ahead of the server's clock."]}
    return None


def main() -> None:
    """Run the stand-in in its own process: prints the port on stdout, serves until stdin closes."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Run the ingestion stand-in on 127.0.0.1.")
    parser.add_argument("--api-key", default="cs_test_secret")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with IngestStandIn(api_key=args.api_key, port=args.port) as server:
        server.keep_bodies = False
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
