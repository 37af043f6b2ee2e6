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


class TlsError(Exception):
    """A TLS handshake that no retry can fix: the server does not speak TLS there, or its certificate is not
    trusted. The message names the server and what is wrong, never the key."""


def _tls_problem(error: BaseException) -> Optional[str]:
    """What is wrong, if `error` is a TLS failure that lasts; None for anything a retry may get past."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({error.verify_message})"
    if isinstance(error, ssl.SSLError) and error.reason == "WRONG_VERSION_NUMBER":
        # The first bytes back were not a TLS record: most often a plain-HTTP server's "400 Bad Request".
        return "the server does not speak TLS on this port (is base_url http://?)"
    # Anything else (the connection closed or reset mid-handshake, a timeout) may pass, and is retried.
    return None


class Transport:
    """POSTs batch bodies over one reused connection; network failures raise OSError/HTTPException, and a
    TLS handshake that cannot succeed raises TlsError.

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
        self.origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        self.url = self.origin + self._path
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
        except BaseException as error:
            # A half-used connection cannot be trusted for the next request.
            self.close()
            problem = _tls_problem(error)
            if problem is not None:
                raise TlsError(f"TLS handshake with {self.origin} failed: {problem}") from error
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
