"""The ConvoSensei client: a bounded queue drained by a daemon thread that batches, compresses and retries.

track() only validates, copies and enqueues, so it never blocks on the network and never raises into the
caller's code; everything slow (JSON encoding, gzip, HTTP, backoff) happens on the consumer thread.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import json
import logging
import os
import queue
import random
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Optional

from . import _env
from ._transport import HttpResult, TlsError, Transport

logger = logging.getLogger("convosensei_sdk")
# A library does not decide where logs go; without app logging config, stats() and on_error still tell.
logger.addHandler(logging.NullHandler())


def _log(level: int, event: str, **fields: Any) -> None:
    """One record per event: its name, then its fields as `name=value`, in the text (all a plain logging setup
    such as `logging.basicConfig` prints), and as the record's attributes (for a structured formatter)."""
    if logger.isEnabledFor(level):
        text = " ".join([event, *(f"{name}={value!r}" for name, value in fields.items())])
        logger.log(level, text, extra=fields)


ROLES = frozenset({"user", "assistant", "system", "tool"})

# Server limits: 100 conversations and 5 MiB per request. The byte budget is kept under the limit so the
# JSON envelope and a proxy's own accounting never tip a full batch over it.
SERVER_MAX_CONVERSATIONS = 100
SERVER_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
# The server rejects a conversation entry with more than 1,000 messages, so merging stops there.
MAX_MERGED_MESSAGES = 1000
# The status of a conversation refused inside a batch: what the server answers for it sent alone
# (POST /api/v1/conversations/track), not the batch's 202, which reads as success.
REFUSED_CONVERSATION_STATUS = 400

ErrorCallback = Callable[[Exception, list[dict[str, Any]]], None]


class ConvoSenseiError(Exception):
    """Base class of the errors handed to on_error; the SDK never raises these into application code."""


class QueueFullError(ConvoSenseiError):
    """The queue was full, so the conversation was dropped rather than block the caller."""


class InvalidTrackError(ConvoSenseiError):
    """track() was called with input that cannot be sent (the call was dropped and counted)."""


class DeliveryError(ConvoSenseiError):
    """The server refused a batch (or one conversation of it) for good, or retries ran out.

    `details` is the server's error envelope's details as sent; `field_errors` its reasons by field path
    (`{"messages.0.timestamp": ["The timestamp is before 2000-01-01T00:00:00Z."]}`), which end the message.
    `status` is the refusal's HTTP status: for one conversation of a 202, 400 (never 202);
    None for a TLS failure and when retries run out.
    """

    def __init__(
        self, message: str, *, status: Optional[int] = None, code: Optional[str] = None, details: Any = None
    ) -> None:
        self.field_errors = _field_errors(details)
        super().__init__(message + _describe(self.field_errors))
        self.status = status
        self.code = code
        self.details = details


# How many fields a DeliveryError's message and a log event name; the attribute keeps them all.
_FIELDS_SHOWN = 5
_FIELDS_LOGGED = 20


def _field_errors(details: Any) -> dict[str, list[str]]:
    """The envelope's field errors (`{"messages": {"0": {"role": ["..."]}}}`) flattened to dotted paths."""
    flat: dict[str, list[str]] = {}

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, str):
            flat.setdefault(".".join(path), []).append(node)
        elif isinstance(node, list) and all(isinstance(reason, str) for reason in node):
            flat.setdefault(".".join(path), []).extend(node)
        # Anything else (a batch's per-conversation results) is not a field error.

    walk(details, [])
    return flat


def _describe(field_errors: dict[str, list[str]]) -> str:
    first = itertools.islice(field_errors.items(), _FIELDS_SHOWN)
    shown = [f"{path}: {' '.join(reasons)}" for path, reasons in first]
    if not shown:
        return ""
    more = len(field_errors) - len(shown)
    return " " + "; ".join(shown) + (f"; and {more} more fields" if more else "")


@dataclass(frozen=True)
class Stats:
    """Counts of track() calls (one conversation entry each) since the client started in this process."""

    queued: int  # waiting in the queue now
    sent: int  # accepted by the server
    failed: int  # refused for good by the server, or retries exhausted
    dropped: int  # not enqueued because the queue was full or the client was shut down
    invalid: int  # rejected by track() for bad input
    retries: int  # HTTP attempts that were retried


class _FlushMarker:
    """Put in the queue by flush(); set once everything enqueued before it has been handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()

# How often a consumer that has started a batch looks for more items (flush() and shutdown() wake it).
_POLL_INTERVAL = 0.02

# Every live client, so that one atexit hook and one fork hook can reach them without keeping them alive.
_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _iso(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        # A naive datetime is taken as UTC: the server must never guess a local zone.
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    raise InvalidTrackError(f"timestamp must be an ISO-8601 str or a datetime, got {type(value).__name__}")


def _copy_message(
    message: Any, now: str, new_id: Callable[[], str], stable_id: Callable[[str, str, str], str]
) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise InvalidTrackError(f"each message must be a mapping, got {type(message).__name__}")
    role = message.get("role")
    if role not in ROLES:
        raise InvalidTrackError(f"message role must be user, assistant, system or tool, got {role!r}")
    content = message.get("content")
    if not isinstance(content, str):
        raise InvalidTrackError(f"message content must be a str, got {type(content).__name__}")
    ts = message.get("timestamp")
    timestamp = now if ts is None else _iso(ts)
    message_id = message.get("id")
    if message_id is not None:
        message_id = str(message_id)
    elif ts is None:
        # Assigned now, once, so a retried batch carries the same ids and the server dedupes it.
        message_id = new_id()
    else:
        # The caller's own timestamp: the same message tracked again (a transcript re-sent on every turn)
        # hashes to the same id, so the server adds it once.
        message_id = stable_id(role, timestamp, content)
    out: dict[str, Any] = {"role": role, "content": content, "timestamp": timestamp, "id": message_id}
    metadata = message.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise InvalidTrackError("message metadata must be a mapping")
        # A shallow copy: the caller may reuse its dict after track() returns.
        out["metadata"] = dict(metadata)
    return out


class Client:
    """Sends conversations to a ConvoSensei server from a background thread.

    Construction raises ValueError/TypeError for programming errors (missing or malformed api_key, bad
    base_url, nonsensical sizes); after that no method raises into the caller's code.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        environment: Optional[str] = None,
        *,
        sync_mode: Optional[bool] = None,
        disabled: Optional[bool] = None,
        gzip: Optional[bool] = None,
        max_queue_size: Optional[int] = None,
        batch_size: int = SERVER_MAX_CONVERSATIONS,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        flush_interval: Optional[float] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 300.0,
        shutdown_timeout: Optional[float] = None,
        on_error: Optional[ErrorCallback] = None,
    ) -> None:
        self.disabled = bool(_pick(disabled, _env.env_bool("CONVOSENSEI_DISABLED"), False))
        api_key = _pick(api_key, _env.env_str("CONVOSENSEI_API_KEY"), None)
        if not self.disabled:
            if not api_key:
                raise ValueError("api_key is required (or set CONVOSENSEI_API_KEY, or disabled=True)")
            if not (api_key.startswith("cs_") and api_key.count("_") >= 2):
                # Catches a pasted prefix or an LLM provider key before it is sent to the wrong server.
                raise ValueError("api_key must look like cs_<prefix>_<secret>")
        self.base_url: str = _pick(base_url, _env.env_str("CONVOSENSEI_BASE_URL"), "http://localhost:8000")
        self.environment: Optional[str] = _pick(environment, _env.env_str("CONVOSENSEI_ENVIRONMENT"), None)
        self.sync_mode = bool(_pick(sync_mode, _env.env_bool("CONVOSENSEI_SYNC_MODE"), False))
        self.gzip = bool(_pick(gzip, _env.env_bool("CONVOSENSEI_GZIP"), True))
        self.max_queue_size = int(_pick(max_queue_size, _env.env_int("CONVOSENSEI_MAX_QUEUE_SIZE"), 10_000))
        self.flush_interval = float(_pick(flush_interval, _env.env_float("CONVOSENSEI_FLUSH_INTERVAL"), 0.5))
        self.timeout = float(_pick(timeout, _env.env_float("CONVOSENSEI_TIMEOUT"), 10.0))
        self.max_retries = int(_pick(max_retries, _env.env_int("CONVOSENSEI_MAX_RETRIES"), 10))
        self.shutdown_timeout = float(
            _pick(shutdown_timeout, _env.env_float("CONVOSENSEI_SHUTDOWN_TIMEOUT"), 5.0)
        )
        if not 1 <= batch_size <= SERVER_MAX_CONVERSATIONS:
            raise ValueError(f"batch_size must be between 1 and {SERVER_MAX_CONVERSATIONS}")
        if not 1024 <= max_batch_bytes <= SERVER_MAX_BYTES:
            raise ValueError(f"max_batch_bytes must be between 1024 and {SERVER_MAX_BYTES}")
        if self.max_queue_size < 1 or self.flush_interval <= 0 or self.timeout <= 0 or self.max_retries < 0:
            raise ValueError("max_queue_size, flush_interval and timeout must be positive, max_retries >= 0")
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.on_error = on_error
        self._api_key = api_key or ""
        if not self.disabled:
            # Validates base_url now, at init, where a mistake is a programming error.
            Transport(base_url=self.base_url, api_key=self._api_key, timeout=self.timeout, gzip_enabled=False)
        self._reset_process_state()
        _clients.add(self)

    # ----------------------------------------------------------------------------------------- state

    def _reset_process_state(self) -> None:
        """Fresh queue, locks, counters and no thread: used at init and in a forked child."""
        self._queue: queue.Queue[Any] = queue.Queue(self.max_queue_size)
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        # Message ids: a random per-process prefix plus a counter. Unique like a uuid4 (80 random bits
        # per process), but without os.urandom in track(), whose syscall releases the GIL and lets the
        # consumer thread cut in front of the caller. Reset in a forked child, so ids never collide.
        self._id_prefix = os.urandom(10).hex()
        self._id_counter = itertools.count()
        self._shutdown_deadline: Optional[float] = None
        self._sent = self._failed = self._dropped = self._invalid = self._retries = 0
        self._sync_transport: Optional[Transport] = None
        self._sync_lock = threading.Lock()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def _report(self, error: Exception, items: list[dict[str, Any]]) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(error, items)
        except Exception:
            logger.exception("convosensei.on_error_callback_failed")

    # ----------------------------------------------------------------------------------------- public

    def track(
        self,
        *,
        conversation_id: str,
        messages: Sequence[Mapping[str, Any]],
        metadata: Optional[Mapping[str, Any]] = None,
        user_id: Optional[str] = None,
        environment: Optional[str] = None,
    ) -> bool:
        """Enqueue messages of one conversation; returns True if enqueued (or sent, in sync mode).

        Each message is {"role", "content", "timestamp"?, "id"?, "metadata"?}; a missing timestamp gets
        now, and a missing id a hash of the conversation id, role, timestamp and content when the caller
        gave the timestamp (so a re-sent transcript is deduped), else a fresh unique id. Never raises: bad
        input is logged, counted as invalid and dropped.
        """
        if self.disabled:
            return False
        try:
            item = self._build_item(conversation_id, messages, metadata, user_id, environment)
        except Exception as exc:
            self._count("_invalid")
            _log(logging.WARNING, "convosensei.track_invalid", error=str(exc))
            self._report(exc if isinstance(exc, InvalidTrackError) else InvalidTrackError(str(exc)), [])
            return False
        if self._closed:
            self._count("_dropped")
            _log(logging.WARNING, "convosensei.track_after_shutdown", conversation_id=conversation_id)
            return False
        if self.sync_mode:
            return self._send_sync(item)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self._dropped += 1
                dropped = self._dropped
            if dropped == 1 or dropped % 1000 == 0:
                # Rate-limited: a saturated queue must not turn into a logging storm in the hot path.
                limit = self.max_queue_size
                _log(logging.WARNING, "convosensei.queue_full", max_queue_size=limit, dropped=dropped)
            self._report(QueueFullError(f"queue full ({self.max_queue_size} items); dropped"), [item])
            return False
        if self._thread is None:
            self._start_consumer()
        return True

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything tracked so far has been sent or given up; returns False on timeout.

        timeout defaults to shutdown_timeout; it bounds the wait even while the server is down.
        """
        if self.disabled or self.sync_mode:
            return True
        timeout = self.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self._queue.unfinished_tasks == 0:
            return True
        if self._thread is None or not self._thread.is_alive():
            # Possible at interpreter exit or after the thread died: drain in the calling thread instead.
            return self._drain_inline(deadline)
        marker = _FlushMarker()
        try:
            self._queue.put(marker, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            return False
        self._wake.set()
        return marker.done.wait(max(0.0, deadline - time.monotonic()))

    def shutdown(self, timeout: Optional[float] = None) -> bool:
        """Stop accepting, flush for at most `timeout` seconds, stop the thread.

        Returns False if it timed out with conversations still pending (they are lost and logged).
        """
        if self._closed:
            return True
        timeout = self.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._shutdown_deadline = deadline
        flushed = self.flush(timeout)
        self._closed = True
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:  # sync mode has no thread to take the marker off the queue
            with contextlib.suppress(queue.Full):  # the thread also watches _stopping
                self._queue.put_nowait(_STOP)
            if thread is not threading.current_thread():
                thread.join(max(0.1, deadline - time.monotonic()))
        with self._queue.mutex:  # conversations only, not a stop or flush marker still queued
            undelivered = sum(
                1 for item in self._queue.queue if item is not _STOP and not isinstance(item, _FlushMarker)
            )
        if undelivered:
            _log(logging.WARNING, "convosensei.shutdown_undelivered", count=undelivered)
        if self._sync_transport is not None:
            self._sync_transport.close()
        return flushed

    def stats(self) -> Stats:
        """A snapshot of the counters for this process."""
        with self._lock:
            return Stats(
                queued=self._queue.qsize(),
                sent=self._sent,
                failed=self._failed,
                dropped=self._dropped,
                invalid=self._invalid,
                retries=self._retries,
            )

    # ------------------------------------------------------------------------------------ building

    def _build_item(
        self,
        conversation_id: Any,
        messages: Any,
        metadata: Any,
        user_id: Any,
        environment: Any,
    ) -> dict[str, Any]:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise InvalidTrackError("conversation_id must be a non-empty str")
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
            raise InvalidTrackError("messages must be a non-empty list of message mappings")
        now = _utc_now_iso()
        repeats: dict[str, int] = {}

        def stable_id(role: str, timestamp: str, content: str) -> str:
            key = "\x1f".join((conversation_id, role, timestamp, content))
            # A message repeated at one timestamp ("ok", "ok") is counted: each repeat has an id of its own.
            repeat = repeats[key] = repeats.get(key, -1) + 1
            return hashlib.sha256(f"{key}\x1f{repeat}".encode("utf-8", "surrogatepass")).hexdigest()[:32]

        item: dict[str, Any] = {
            "external_id": conversation_id,
            "messages": [_copy_message(m, now, self._new_message_id, stable_id) for m in messages],
        }
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise InvalidTrackError("metadata must be a mapping")
            item["metadata"] = dict(metadata)
        env = environment if environment is not None else self.environment
        if env is not None:
            item["environment"] = str(env)
        if user_id is not None:
            item["user_id"] = str(user_id)
        return item

    def _new_message_id(self) -> str:
        # next() on itertools.count is atomic under the GIL, so concurrent track() calls never share an id.
        return f"{self._id_prefix}{next(self._id_counter):012x}"

    # ------------------------------------------------------------------------------------ consumer

    def _start_consumer(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="convosensei-consumer", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                # "can't create new thread at interpreter shutdown": the atexit flush drains inline.
                return
            self._thread = thread

    def _run(self) -> None:
        transport = self._new_transport()
        carry: list[Any] = []
        try:
            while True:
                stop = self._consume_once(transport, carry, deadline=None)
                if stop:
                    return
        except Exception:
            # A bug here must not take the application down; the next track() cannot restart us,
            # so say so loudly.
            logger.exception("convosensei.consumer_crashed")
        finally:
            transport.close()

    def _drain_inline(self, deadline: float) -> bool:
        transport = self._new_transport()
        carry: list[Any] = []
        try:
            while self._queue.unfinished_tasks and time.monotonic() < deadline:
                self._consume_once(transport, carry, deadline=deadline)
            for item in carry:
                # Taken off the queue but out of time: counted, so nothing vanishes silently.
                self._give_up([item], DeliveryError("shutdown before delivery"))
                self._queue.task_done()
        finally:
            transport.close()
        return self._queue.unfinished_tasks == 0

    def _new_transport(self) -> Transport:
        return Transport(
            base_url=self.base_url, api_key=self._api_key, timeout=self.timeout, gzip_enabled=self.gzip
        )

    def _consume_once(self, transport: Transport, carry: list[Any], deadline: Optional[float]) -> bool:
        """Collect one batch (by count, bytes and flush_interval), deliver it; returns True to stop."""
        batch: list[tuple[dict[str, Any], bytes]] = []
        markers: list[_FlushMarker] = []
        size = 0
        stop = False
        batch_deadline = 0.0
        while len(batch) < self.batch_size:
            if carry:
                item = carry.pop()
            else:
                try:
                    if batch or deadline is not None:
                        item = self._queue.get_nowait()
                    else:
                        item = self._queue.get(timeout=self.flush_interval)
                except queue.Empty:
                    if deadline is not None or self._stopping.is_set():
                        stop = not batch and self._stopping.is_set()
                        break
                    if not batch:
                        continue
                    remaining = batch_deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    # Poll instead of blocking in get(): a blocked get() is woken by every put(), which
                    # hands the GIL to this thread once per track() and shows up in the caller's p99.
                    self._wake.wait(min(remaining, _POLL_INTERVAL))
                    self._wake.clear()
                    continue
            if item is _STOP:
                self._queue.task_done()
                stop = True
                break
            if isinstance(item, _FlushMarker):
                self._queue.task_done()
                markers.append(item)
                break
            encoded = self._encode(item)
            if encoded is None:
                continue
            if batch and size + len(encoded) > self.max_batch_bytes:
                # Put it back in front for the next batch; it was already taken off the queue.
                carry.append(item)
                break
            if not batch:
                # The interval runs from the first item, so a quiet spell does not make the next batch tiny.
                batch_deadline = time.monotonic() + self.flush_interval
            batch.append((item, encoded))
            size += len(encoded)
        if batch:
            self._deliver(transport, batch, deadline)
            for _ in batch:
                self._queue.task_done()
        for marker in markers:
            marker.done.set()
        return stop

    def _encode(self, item: dict[str, Any]) -> Optional[bytes]:
        """A queued item encoded for a batch; None (given up and marked done) if it cannot be sent."""
        encoded = self._encode_or_give_up(item)
        if encoded is not None and len(encoded) > self.max_batch_bytes:
            self._give_up([item], DeliveryError("conversation larger than max_batch_bytes", status=413))
            encoded = None
        if encoded is None:
            self._queue.task_done()
        return encoded

    def _encode_or_give_up(self, item: dict[str, Any]) -> Optional[bytes]:
        try:
            return _dumps(item)
        except Exception as exc:
            self._give_up([item], DeliveryError(f"could not encode conversation: {exc}"))
            return None

    # ------------------------------------------------------------------------------------ delivery

    def _send_sync(self, item: dict[str, Any]) -> bool:
        encoded = self._encode_or_give_up(item)
        if encoded is None:
            return False
        # One connection, one request at a time: sync mode is for scripts and jobs, not hot paths. Retries
        # are bounded by shutdown_timeout so a down server cannot hold the caller for minutes.
        with self._sync_lock:
            if self._sync_transport is None:
                self._sync_transport = self._new_transport()
            try:
                deadline = time.monotonic() + self.shutdown_timeout
                return self._deliver(self._sync_transport, [(item, encoded)], deadline)
            except Exception:
                logger.exception("convosensei.sync_send_failed")
                return False

    def _deliver(
        self,
        transport: Transport,
        batch: list[tuple[dict[str, Any], bytes]],
        deadline: Optional[float] = None,
    ) -> bool:
        """Send one batch, retrying transient failures; every item ends up counted as sent or failed.

        Returns True when the server accepted every conversation of the batch.
        """
        entries, entry_items = _merge_same_conversation(batch)
        body = b'{"conversations":[' + b",".join(entries) + b"]}"
        items = [item for item, _ in batch]
        attempt = 0
        while True:
            error: Exception
            retry_after: Optional[float] = None
            try:
                result = transport.post_batch(body)
            except TlsError as exc:
                # A wrong base_url or an untrusted certificate: retries would only delay the news.
                self._give_up(items, DeliveryError(str(exc)))
                return False
            except Exception as exc:  # network errors: refused, reset, timeout, DNS
                error = exc
                _log(logging.INFO, "convosensei.send_network_error", error=repr(exc), attempt=attempt)
            else:
                if 200 <= result.status < 300:
                    return self._account_results(result, len(batch), entries_items=entry_items)
                if result.status == 413 and len(batch) > 1:
                    half = len(batch) // 2
                    first_ok = self._deliver(transport, batch[:half], deadline)
                    return self._deliver(transport, batch[half:], deadline) and first_ok
                error = _delivery_error(result, url=transport.url)
                if not _is_transient(result.status):
                    _log(
                        logging.ERROR,
                        "convosensei.batch_rejected",
                        status=result.status,
                        code=error.code,
                        reason=str(error),
                        conversations=len(items),
                        field_errors=_logged(error.field_errors),
                    )
                    results = error.details.get("results") if isinstance(error.details, Mapping) else None
                    if isinstance(results, list):
                        # No conversation was valid: each is refused for its own reasons, as in a 202.
                        rejected = _rejections(results, len(entry_items))
                        every = {index: rejected.get(index, error) for index in range(len(entry_items))}
                        for reason, refused in _first_refusals(every, entry_items):
                            self._give_up(refused, reason)
                    else:
                        self._give_up(items, error)
                    return False
                retry_after = _retry_after_seconds(result.headers.get("retry-after"))
            attempt += 1
            if attempt > self.max_retries:
                self._give_up(items, DeliveryError(f"gave up after {self.max_retries} retries: {error}"))
                return False
            delay = self._backoff(attempt, retry_after)
            limit = min(d for d in (deadline, self._shutdown_deadline, float("inf")) if d is not None)
            if time.monotonic() + delay > limit:
                # Shutting down (or a sync-mode call out of time) and the next attempt could not happen
                # in time: say so now, not never.
                reason = (
                    f"sync mode: gave up within shutdown_timeout ({self.shutdown_timeout:g} s)"
                    if self.sync_mode
                    else "shutdown before delivery"
                )
                self._give_up(items, DeliveryError(f"{reason}: {error}"))
                return False
            self._count("_retries")
            _log(logging.INFO, "convosensei.send_retry", attempt=attempt, delay_s=round(delay, 3))
            # Interruptible: shutdown() wakes the wait so the exit path makes one last attempt at most.
            self._stopping.wait(delay)

    def _backoff(self, attempt: int, retry_after: Optional[float]) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        # "Equal jitter": never less than half the exponential step, so retries from many processes
        # spread out without collapsing to zero delay.
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            # The server's Retry-After is a floor, capped so one odd header cannot stall the queue for hours.
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def _account_results(
        self, result: HttpResult, total: int, entries_items: list[list[dict[str, Any]]]
    ) -> bool:
        try:
            results = json.loads(result.body or b"{}").get("results")
        except Exception:
            results = None
        if not isinstance(results, list):
            # A 2xx without per-conversation results is taken as all accepted.
            self._count("_sent", total)
            return True
        failed = 0
        rejected = _rejections(results, len(entries_items))
        for error, refused in _first_refusals(rejected, entries_items):
            failed += len(refused)
            self._report(error, refused)
        with self._lock:
            self._sent += total - failed
            self._failed += failed
        return failed == 0

    def _give_up(self, items: list[dict[str, Any]], error: Exception) -> None:
        self._count("_failed", len(items))
        _log(logging.ERROR, "convosensei.delivery_failed", conversations=len(items), error=str(error))
        self._report(error, items)


def _dumps(item: Mapping[str, Any]) -> bytes:
    """One conversation entry as compact UTF-8 JSON, as it goes on the wire."""
    # default=str: metadata values the caller could not know are unserialisable still get through.
    # backslashreplace: a lone surrogate (a text cut inside an emoji) has no UTF-8 form; it can only sit
    # inside a JSON string, where its `\udXXX` escape is what ensure_ascii would write (the server stores
    # U+FFFD for it, as for the JS SDK).
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace")


def _pick(explicit: Any, from_env: Any, default: Any) -> Any:
    if explicit is not None:
        return explicit
    if from_env is not None:
        return from_env
    return default


def _is_transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _retry_after_seconds(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _rejections(results: list[Any], entries: int) -> dict[int, DeliveryError]:
    """The conversations a response's `results` mark "error", by index, with the server's reasons (logged).

    Each error's status is REFUSED_CONVERSATION_STATUS.
    """
    rejected: dict[int, DeliveryError] = {}
    for entry in results:
        if not isinstance(entry, Mapping) or entry.get("status") != "error":
            continue
        index = entry.get("index")
        if not isinstance(index, int) or not 0 <= index < entries:
            continue
        envelope = entry.get("error")
        envelope = envelope if isinstance(envelope, Mapping) else entry
        error = DeliveryError(
            str(envelope.get("message") or "conversation rejected"),
            status=REFUSED_CONVERSATION_STATUS,
            code=envelope.get("code"),
            details=envelope.get("details"),
        )
        _log(
            logging.ERROR,
            "convosensei.conversation_rejected",
            index=index,
            code=error.code,
            reason=str(error),
            field_errors=_logged(error.field_errors),
        )
        rejected[index] = error
    return rejected


def _logged(field_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # The server's reasons name fields and limits, never what was sent; a long list is cut for the log.
    return dict(itertools.islice(field_errors.items(), _FIELDS_LOGGED))


def _delivery_error(result: HttpResult, *, url: str) -> DeliveryError:
    message, code, details = f"HTTP {result.status}", None, None
    try:
        envelope = json.loads(result.body)
        if isinstance(envelope, Mapping):
            message = str(envelope.get("message") or message)
            code = envelope.get("code")
            details = envelope.get("details")
    except Exception:
        pass
    if result.status in (404, 405):  # nothing takes batches there: mostly a base_url with a path of its own
        message += f" (POST {url}: base_url is the server's root, such as https://convosensei.example.com)"
    return DeliveryError(message, status=result.status, code=code, details=details)


def _merge_same_conversation(
    batch: list[tuple[dict[str, Any], bytes]],
) -> tuple[list[bytes], list[list[dict[str, Any]]]]:
    """One entry per conversation: the server upserts by external_id, and one request that names a
    conversation twice is both wasteful and a conflict risk for a bulk upsert. An entry holds at most
    MAX_MERGED_MESSAGES: a longer track() goes out in parts, entries the server stores one after the other.

    Returns the encoded entries and, per entry, the track() calls (items) it carries.
    """
    index_of: dict[str, int] = {}
    merged: dict[int, dict[str, Any]] = {}
    entries: list[bytes] = []
    items: list[list[dict[str, Any]]] = []
    for item, encoded in batch:
        key = item["external_id"]
        messages = item["messages"]
        if len(messages) > MAX_MERGED_MESSAGES:
            for start in range(0, len(messages), MAX_MERGED_MESSAGES):
                part = {**item, "messages": messages[start : start + MAX_MERGED_MESSAGES]}
                index_of[key] = len(entries)
                merged[len(entries)] = part
                entries.append(_dumps(part))
                items.append([item])
            continue
        index = index_of.get(key)
        if index is not None and len(merged[index]["messages"]) + len(item["messages"]) > MAX_MERGED_MESSAGES:
            index = None  # past the server's per-conversation message limit: a second entry instead
        if index is None:
            index_of[key] = len(entries)
            entries.append(encoded)
            items.append([item])
            # Kept aside in case a later item names the same conversation.
            merged[len(entries) - 1] = item
            continue
        combined = merged[index]
        if len(items[index]) == 1:  # still the caller's item (or a part of it): merged into a copy
            combined = {**combined, "messages": list(combined["messages"])}
            merged[index] = combined
        combined["messages"].extend(item["messages"])
        for field in ("environment", "user_id"):
            if field in item:
                combined[field] = item[field]
        if "metadata" in item:
            combined["metadata"] = {**combined.get("metadata", {}), **item["metadata"]}
        items[index].append(item)
    for index, carried in enumerate(items):
        if len(carried) > 1:
            entries[index] = _dumps(merged[index])
    return entries, items


def _first_refusals(
    rejected: dict[int, DeliveryError], entries_items: list[list[dict[str, Any]]]
) -> list[tuple[DeliveryError, list[dict[str, Any]]]]:
    """Per refused entry, its error and the track() calls an earlier refused entry did not carry: a call sent
    in parts fails (and is reported) once, for its first refused part."""
    refused: set[int] = set()
    out = []
    for index in sorted(rejected):
        items = [item for item in entries_items[index] if id(item) not in refused]
        refused.update(id(item) for item in items)
        if items:
            out.append((rejected[index], items))
    return out


def _shutdown_all_at_exit() -> None:
    for client in list(_clients):
        try:
            client.shutdown()
        except Exception:
            logger.exception("convosensei.atexit_shutdown_failed")


def _reset_all_after_fork() -> None:
    # The parent's thread does not exist in the child and its locks may be held forever; the parent
    # still owns (and will send) what it had queued, so each child client starts empty.
    for client in list(_clients):
        client._reset_process_state()


atexit.register(_shutdown_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)
