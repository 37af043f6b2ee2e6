"""Embeddings: whether they are on, what text a conversation is embedded from, the model, message vectors.

The model (all-MiniLM-L6-v2 through `analytics.scoring.embedder.Embedder`) is loaded once per process,
on first use, so a worker that never embeds never pays for it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.db import connection

from analytics import patterns
from analytics.scoring.embedder import MODEL_NAME, Embedder

# The text a conversation is labelled by (usage patterns' distinctive terms) is what its users asked, cut here:
# enough to say what it is about.
MAX_TEXT_CHARS = 2000

_embedder: Embedder | None = None

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def embeddings_available() -> bool:
    """True when conversation_embeddings.embedding is a pgvector column (see migration 0002)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass('conversation_embeddings') AND attname = 'embedding'"
        )
        row = cursor.fetchone()
    available = bool(row and row[0].startswith("vector"))
    if settings.FEATURE_EMBEDDINGS and not available:
        # Once per process (cached): turned on, the feature would otherwise only be missing from the pages.
        detail = "FEATURE_EMBEDDINGS is on, but this database has no pgvector: no conversation is embedded"
        logger.warning("embeddings.pgvector_missing", extra={"detail": detail})
    return available


def embeddings_missing_because() -> str | None:
    """Why the features that need embeddings are off, for the pages to say: "off" (FEATURE_EMBEDDINGS), "no_pgvector"
    (turned on, but the database cannot store vectors), or None when they are on."""
    if not settings.FEATURE_EMBEDDINGS:
        return "off"
    if not embeddings_available():
        return "no_pgvector"
    return None


def embeddings_enabled() -> bool:
    """FEATURE_EMBEDDINGS is on and this database can store vectors."""
    return embeddings_missing_because() is None


def embedder() -> Embedder:
    """This process's embedder (the model itself loads on the first encode)."""
    global _embedder
    if _embedder is None:
        _embedder = Embedder()
    return _embedder


def embedded_turns(messages: Sequence[tuple[str, str]]) -> list[int]:
    """Indexes of the turns a conversation is embedded, clustered and labelled by: what its users asked.

    Its user turns that say what they are about (`patterns.topical`: not only "Thanks, that helps!" or "Hello?",
    nor only a complaint, a correction or a request for a person), else all its user turns, else all its turns.
    `messages` are (role, content) pairs in conversation order; blank turns never count. A "Thanks, that helps!"
    weighs as much in the mean vector as the request it follows, and is alike in every conversation:
    `bench/patterns.py --workload demo --embeddings`, three runs, puts 84–90% of the conversations in a pattern
    of their own topic with such turns in, 98–100% without.
    """
    texts = [i for i, (_, content) in enumerate(messages) if content.strip()]
    users = [i for i in texts if messages[i][0] == "user"]
    return [i for i in users if patterns.topical(messages[i][1])] or users or texts


def conversation_text(messages: Sequence[tuple[str, str]]) -> str:
    """The text a conversation is labelled by (usage patterns' terms): its embedded turns, in order, cut short."""
    return "\n".join(messages[i][1] for i in embedded_turns(messages))[:MAX_TEXT_CHARS]


def conversation_vector(turn_vectors: Sequence[np.ndarray]) -> np.ndarray:
    """A conversation's vector: the normalised mean of its embedded turns' vectors.

    Each turn is read whole (up to the model's 128 tokens) and counts once, so a long conversation is not
    reduced to its first few turns, and the turns' vectors are the ones scoring computed already
    (analytics.services.conversations_score), so embedding a scored conversation costs no model run.
    """
    mean = np.mean(turn_vectors, axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm else mean).astype(np.float32)


def content_hash(texts: Iterable[str]) -> str:
    """What decides whether a stored vector is still the vector of these turns (model and method included)."""
    digest = hashlib.sha256(f"{MODEL_NAME}\x1fmean of turns".encode())
    for text in texts:
        digest.update(b"\x1e" + text.encode())
    return digest.hexdigest()


Encode = Callable[[list[str]], np.ndarray]  # texts -> one normalised row each (Embedder.encode)


class MessageVectors:
    """Vectors of the message texts seen lately: a growing conversation is scored again at each message that
    arrives, so only the new message goes through the model; and a bot's stock phrases ("Is there anything
    else I can help with?") go through it once, whatever conversation they are in.

    Kept by a digest of the text (so a message is never given the vector of other text), bounded (least
    recently used out first), thread-safe. `hits` and `encoded` count what it saved and what the model computed.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.encoded = 0
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, messages: Iterable[tuple[int, str]], encode: Encode) -> dict[int, np.ndarray]:
        """{message id: vector} for (id, text) pairs; texts not seen lately are encoded, each once, in one call."""
        keyed = [
            (message_id, hashlib.blake2b(text.encode(), digest_size=16).digest(), text) for message_id, text in messages
        ]
        found: dict[bytes, np.ndarray] = {}
        todo: dict[bytes, str] = {}
        with self._lock:
            for _, key, text in keyed:
                vector = self._vectors.get(key)
                if vector is not None:
                    self._vectors.move_to_end(key)
                    found[key] = vector
                    self.hits += 1
                elif key not in todo:
                    todo[key] = text
        if todo:
            vectors = encode(list(todo.values()))  # outside the lock: the model takes milliseconds a message
            with self._lock:
                for key, vector in zip(todo, vectors, strict=True):
                    found[key] = self._vectors[key] = vector
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
                self.encoded += len(todo)
        return {message_id: found[key] for message_id, key, _ in keyed}


# 20,000 vectors of 384 float32 are 30 MB: the messages of a few thousand conversations in progress.
message_vector_cache = MessageVectors(20_000)


def message_vectors(messages: Iterable[tuple[int, str]]) -> dict[int, np.ndarray]:
    """{message id: vector} of (id, text) pairs, through this process's cache and model."""
    return message_vector_cache.get(messages, embedder().encode)
