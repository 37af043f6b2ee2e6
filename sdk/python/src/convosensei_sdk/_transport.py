"""One keep-alive HTTP connection to the ConvoSensei server, standard library only."""

from __future__ import annotations

import gzip
import http.client
import ssl
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from ._version import VERSION

BATCH_PATH = "/api/v1/conversations/track/batch"


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes


class Transport:
    """POSTs batch bodies over one reused connection; network failures raise OSError/HTTPException.

    Not thread-safe: each consumer thread (and the caller's thread in sync mode) owns its own Transport.
    """

    def __init__(self, *, base_url: str, api_key: str, timeout: float, gzip_enabled: bool) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + BATCH_PATH
        # Where batches go, as an error about a wrong base_url names it (no credentials: the key is a header).
        self.url = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{self._path}"
        self._timeout = timeout
        self._gzip = gzip_enabled
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"convosensei-sdk-python/{VERSION}",
        }
        self._conn: Optional[http.client.HTTPConnection] = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def post_batch(self, body: bytes) -> HttpResult:
        """Send one JSON body; returns the response, raises on network errors (connection is then reset)."""
        headers = dict(self._headers)
        if self._gzip:
            # Level 5 keeps most of the ratio of 9 at a fraction of the CPU; conversations compress ~5-10x.
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        conn = self._connection()
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            result = HttpResult(
                status=response.status,
                headers={k.lower(): v for k, v in response.getheaders()},
                body=data,
            )
            if response.will_close:
                self.close()
            return result
        except BaseException:
            # A half-used connection cannot be trusted for the next request.
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
