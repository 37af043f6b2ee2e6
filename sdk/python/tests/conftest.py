"""Shared fixtures: real HTTP stand-ins on 127.0.0.1 and SDK clients that are always shut down."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ingest_standin import IngestStandIn
from llm_standin import LLMStandIn

from convosensei_sdk import Client

API_KEY = "cs_test_secret"


@pytest.fixture
def ingest() -> Iterator[IngestStandIn]:
    with IngestStandIn(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def untrusted_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server-side TLS context with a new self-signed certificate for 127.0.0.1, which no client trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on PATH")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1"
    command += f" -addext subjectAltName=IP:127.0.0.1 -keyout {key} -out {cert}"
    subprocess.run(command.split(), check=True, capture_output=True, timeout=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def llm() -> Iterator[LLMStandIn]:
    with LLMStandIn() as server:
        yield server


@pytest.fixture
def sdk(make_client: Callable[..., Client]) -> Client:
    """The SDK client that the provider wrapper tests record through."""
    return make_client(flush_interval=0.5)


@pytest.fixture
def make_client(ingest: IngestStandIn) -> Iterator[Callable[..., Client]]:
    """Build clients pointed at the ingest stand-in with test-friendly timings; all shut down afterwards."""
    clients: list[Client] = []

    def make(**options: Any) -> Client:
        settings: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": ingest.url,
            "flush_interval": 0.05,
            "backoff_base": 0.05,
            "backoff_max": 0.5,
            "timeout": 5.0,
            "shutdown_timeout": 2.0,
        }
        settings.update(options)
        client = Client(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown(timeout=2.0)


def message(content: str = "hello", role: str = "user", **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


def recorded_messages(sdk: Client, ingest: IngestStandIn) -> list[dict[str, Any]]:
    """Everything the stand-in received once `sdk` has flushed, in conversation order (user before reply)."""
    assert sdk.flush(timeout=5)
    return sorted(ingest.messages.values(), key=lambda m: (m["timestamp"], m["role"] != "user"))
