"""A stand-in LLM provider on 127.0.0.1: enough of OpenAI's and Anthropic's HTTP APIs for their real Python
SDKs to talk to it, so wrappers are tested end to end without the network.

Standard library only, so other test suites (the Django server's integration tests) can import it too:

    from llm_standin import LLMStandIn
    with LLMStandIn() as llm:
        openai.OpenAI(api_key="x", base_url=llm.openai_base_url)
        anthropic.Anthropic(api_key="x", base_url=llm.anthropic_base_url)

Endpoints: POST /v1/chat/completions, /v1/responses, /v1/messages, each with `"stream": true` (SSE).
Replies are deterministic: "Echo <n>: <last user text>"; token counts are word counts.
`fail_next(status)` makes the next request fail with the provider's own error envelope.
Run `python llm_standin.py --port 8765` to keep one up by hand.
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, TypeVar

__all__ = ["LLMStandIn", "LoopbackStandIn"]

_S = TypeVar("_S", bound="LoopbackStandIn")


def _words(text: str) -> int:
    return len(text.split())


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


# The shared base of the stand-ins lives here rather than in a module of its own because the Django suite
# loads this file by path (without this directory on sys.path), so it must import nothing beside it.
class LoopbackStandIn:
    """An HTTP/1.1 server on 127.0.0.1 in a daemon thread; subclasses answer POSTs in _handle.

    Start with .start() (or as a context manager); port 0 picks a free port, .port tells which.
    """

    def __init__(self, *, port: int = 0, tls: Optional[ssl.SSLContext] = None) -> None:
        self._port = port
        self._tls = tls  # a server-side context: HTTPS instead of HTTP
        self._server: Optional[ThreadingHTTPServer] = None

    def start(self: _S) -> _S:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs reuse their connections
            disable_nagle_algorithm = True  # headers and body are separate writes; don't wait on delayed ACKs

            def do_POST(self) -> None:
                standin._handle(self)

            def do_GET(self) -> None:
                standin._handle_get(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _handle_get(self, h: BaseHTTPRequestHandler) -> None:
        # What BaseHTTPRequestHandler answers for a method it has no do_<METHOD> for.
        h.send_error(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method ('GET')")

    def _send_json(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Mapping[str, Any],
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)


class LLMStandIn(LoopbackStandIn):
    def __init__(self, *, port: int = 0, chunk_delay: float = 0.0) -> None:
        super().__init__(port=port)
        self.chunk_delay = chunk_delay  # seconds between stream events, to make latency visible
        self._lock = threading.Lock()
        self._failures: deque[tuple[int, str]] = deque()
        self._count = 0
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "body"} per request

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def fail_next(self, status: int = 400, message: str = "stand-in failure") -> None:
        """The next request gets this HTTP error in the provider's error format."""
        with self._lock:
            self._failures.append((status, message))

    # ------------------------------------------------------------------------ dispatch

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(length) or b"{}")
        with self._lock:
            self.requests.append({"path": h.path, "headers": dict(h.headers.items()), "body": body})
            failure = self._failures.popleft() if self._failures else None
            self._count += 1
            n = self._count
        if failure is not None:
            self._send_error(h, *failure)
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/messages": self._messages,
        }
        route = routes.get(h.path.split("?")[0])
        if route is None:
            self._send_json(h, 404, {"error": {"message": "not found", "type": "not_found_error"}})
            return
        route(h, body, n)

    def _reply_text(self, n: int, last_user: str) -> str:
        return f"Echo {n}: {last_user}".strip()

    # ------------------------------------------------------------------------ OpenAI chat completions

    def _chat(self, h: BaseHTTPRequestHandler, body: dict[str, Any], n: int) -> None:
        messages = body.get("messages", [])
        last_user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        reply = self._reply_text(n, last_user)
        prompt_tokens = sum(_words(_text(m.get("content"))) for m in messages)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _words(reply),
            "total_tokens": prompt_tokens + _words(reply),
        }
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "created": int(time.time()),
            "model": body.get("model"),
        }
        if not body.get("stream"):
            self._send_json(
                h,
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "logprobs": None,
                            "message": {"role": "assistant", "content": reply, "refusal": None},
                        }
                    ],
                    "usage": usage,
                },
            )
            return
        chunk = {**base, "object": "chat.completion.chunk"}
        events = [
            {
                **chunk,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            }
        ]
        for i, word in enumerate(reply.split(" ")):
            piece = word if i == 0 else " " + word
            events.append(
                {**chunk, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            )
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk, "choices": [], "usage": usage})
        self._send_sse(h, [(None, json.dumps(e)) for e in events] + [(None, "[DONE]")])

    # ------------------------------------------------------------------------ OpenAI responses

    def _responses(self, h: BaseHTTPRequestHandler, body: dict[str, Any], n: int) -> None:
        value = body.get("input")
        items = [{"role": "user", "content": value}] if isinstance(value, str) else list(value or [])
        last_user = next((_text(i.get("content")) for i in reversed(items) if i.get("role") == "user"), "")
        reply = self._reply_text(n, last_user)
        input_tokens = sum(_words(_text(i.get("content"))) for i in items) + _words(
            body.get("instructions") or ""
        )
        response_id = f"resp_{uuid.uuid4().hex[:12]}"
        message_id = f"msg_{uuid.uuid4().hex[:12]}"

        def response(status: str, text: Optional[str]) -> dict[str, Any]:
            output = []
            if text is not None:
                output.append(
                    {
                        "type": "message",
                        "id": message_id,
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                )
            return {
                "id": response_id,
                "object": "response",
                "created_at": int(time.time()),
                "status": status,
                "model": body.get("model"),
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "error": None,
                "incomplete_details": None,
                "instructions": body.get("instructions"),
                "metadata": {},
                "temperature": 1.0,
                "top_p": 1.0,
                "usage": None
                if text is None
                else {
                    "input_tokens": input_tokens,
                    "output_tokens": _words(reply),
                    "total_tokens": input_tokens + _words(reply),
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            }

        if not body.get("stream"):
            self._send_json(h, 200, response("completed", reply))
            return
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": response("in_progress", None)}
        ]
        for i, word in enumerate(reply.split(" ")):
            events.append(
                {
                    "type": "response.output_text.delta",
                    "item_id": message_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word if i == 0 else " " + word,
                    "logprobs": [],
                }
            )
        events.append(
            {
                "type": "response.output_text.done",
                "item_id": message_id,
                "output_index": 0,
                "content_index": 0,
                "text": reply,
                "logprobs": [],
            }
        )
        events.append({"type": "response.completed", "response": response("completed", reply)})
        for seq, event in enumerate(events):
            event["sequence_number"] = seq
        self._send_sse(h, [(e["type"], json.dumps(e)) for e in events])

    # ------------------------------------------------------------------------ Anthropic messages

    def _messages(self, h: BaseHTTPRequestHandler, body: dict[str, Any], n: int) -> None:
        messages = body.get("messages", [])
        last_user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        reply = self._reply_text(n, last_user)
        input_tokens = sum(_words(_text(m.get("content"))) for m in messages) + _words(
            _text(body.get("system"))
        )
        message = {
            "id": f"msg_{uuid.uuid4().hex[:12]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": _words(reply)},
        }
        if not body.get("stream"):
            self._send_json(h, 200, message)
            return
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ]
        for i, word in enumerate(reply.split(" ")):
            events.append(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word if i == 0 else " " + word},
                }
            )
        events += [
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": _words(reply)},
            },
            {"type": "message_stop"},
        ]
        self._send_sse(h, [(e["type"], json.dumps(e)) for e in events])

    # ------------------------------------------------------------------------ wire helpers

    def _send_error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> None:
        if h.path.startswith("/v1/messages"):
            payload = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        else:
            payload = {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "standin_failure",
                }
            }
        self._send_json(h, status, payload)

    def _send_json(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Mapping[str, Any],
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        # Both providers answer every request with a request id, which their SDKs read.
        super()._send_json(
            h, status, payload, {"request-id": f"req_{uuid.uuid4().hex[:12]}", **(headers or {})}
        )

    def _send_sse(self, h: BaseHTTPRequestHandler, events: list[tuple[Optional[str], str]]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        # No Content-Length: the body ends when the connection closes, as a plain SSE stream may.
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        for name, data in events:
            frame = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            try:
                h.wfile.write(frame.encode())
                h.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client closed the stream early
            if self.chunk_delay:
                time.sleep(self.chunk_delay)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the stand-in LLM provider on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args()
    with LLMStandIn(port=args.port) as standin:
        print(f"OpenAI base_url: {standin.openai_base_url}  Anthropic base_url: {standin.anthropic_base_url}")
        time.sleep(args.seconds)


if __name__ == "__main__":
    main()
