"""Fork safety: a child process gets its own queue and thread, and never resends the parent's data."""

from __future__ import annotations

import os

from conftest import message


def _in_child(fn) -> int:
    """Run fn in a forked child; returns its exit status (0 = fn returned True)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if fn() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_forked_child_delivers_its_own_conversations(make_client, ingest):
    client = make_client()
    client.track(conversation_id="parent", messages=[message("from parent")])
    client.flush(timeout=5)

    def child() -> bool:
        client.track(conversation_id="child", messages=[message("from child")])
        return client.flush(timeout=5)

    assert _in_child(child) == 0
    assert sorted(m["content"] for m in ingest.messages.values()) == ["from child", "from parent"]


def test_a_forked_child_does_not_resend_what_the_parent_had_queued(make_client, ingest):
    client = make_client(flush_interval=1.0)
    client.track(conversation_id="parent", messages=[message("queued in parent")])

    def child() -> bool:
        return client.stats().queued == 0 and client.flush(timeout=2)

    assert _in_child(child) == 0
    client.flush(timeout=5)
    assert ingest.message_deliveries == 1
