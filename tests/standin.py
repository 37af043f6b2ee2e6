"""A real HTTP(S) server on 127.0.0.1 for tests that talk to outside services (JWKS, Slack).

With `tls=True` it serves HTTPS with a certificate for 127.0.0.1 from a throwaway CA made for this test
run (trustme); clients verify it as they would any server, given that CA: `standin_ca_bundle()` is its
PEM file, for REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import functools
import json
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that hangs up (a timeout) or refuses the certificate is what some tests make happen.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class StandinServer:
    """Serves `respond(recorded_request) -> Reply` and records every request it receives."""

    def __init__(self, respond: Callable[[Recorded], Reply], *, tls: bool = False) -> None:
        self.respond = respond
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(self.command, self.path, dict(self.headers), self.rfile.read(length))
                server.requests.append(recorded)
                reply = server.respond(recorded)
                time.sleep(reply.delay)
                body = reply.body
                headers = dict(reply.headers)
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.tls = tls
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            _standin_ca().issue_cert("127.0.0.1").configure_cert(context)
            # The handshake happens in each request's own thread (on its first read), not in the accept loop.
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def netloc(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    def __enter__(self) -> StandinServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class SlackStandin(StandinServer):
    """Slack's incoming webhooks over HTTPS: each POST gets the next queued reply, else 200 "ok" as Slack's."""

    WEBHOOK_PATH = "/services/T0STANDIN/B0STANDIN/standin-webhook-secret"

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        super().__init__(lambda recorded: self.replies.pop(0) if self.replies else Reply(200, b"ok"), tls=True)

    @property
    def webhook_url(self) -> str:
        return self.url + self.WEBHOOK_PATH

    def texts(self) -> list[str]:
        """The `text` of every message posted so far."""
        return [recorded.json()["text"] for recorded in self.requests]

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()


@functools.cache
def _standin_ca() -> trustme.CA:
    return trustme.CA()


@functools.cache
def standin_ca_bundle() -> str:
    """The PEM file of the CA behind every TLS stand-in of this process (for REQUESTS_CA_BUNDLE)."""
    path = Path(tempfile.mkdtemp(prefix="convosensei-test-ca-")) / "ca.pem"
    _standin_ca().cert_pem.write_to_path(str(path))
    return str(path)
