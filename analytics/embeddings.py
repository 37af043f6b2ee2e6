"""Conversation embeddings: whether they are on, what text a conversation is embedded from, the model.

The model (all-MiniLM-L6-v2 through `analytics.scoring.embedder.Embedder`) is loaded once per process,
on first use, so a worker that never embeds never pays for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from django.conf import settings
from django.db import connection

from analytics.scoring.embedder import MODEL_NAME, Embedder

# The text of a conversation is what its users asked: enough to say what it is about, and the model
# reads at most 128 tokens of it anyway (Embedder.max_seq_length). Cutting here keeps hashing cheap.
MAX_TEXT_CHARS = 2000

_embedder: Embedder | None = None


@lru_cache(maxsize=1)
def embeddings_available() -> bool:
    """True when conversation_embeddings.embedding is a pgvector column (see migration 0002)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass('conversation_embeddings') AND attname = 'embedding'"
        )
        row = cursor.fetchone()
    return bool(row and row[0].startswith("vector"))


def embeddings_enabled() -> bool:
    """FEATURE_EMBEDDINGS is on and this database can store vectors."""
    return settings.FEATURE_EMBEDDINGS and embeddings_available()


def embedder() -> Embedder:
    """This process's embedder (the model itself loads on the first encode)."""
    global _embedder
    if _embedder is None:
        _embedder = Embedder()
    return _embedder


def conversation_text(messages: Sequence[tuple[str, str]]) -> str:
    """The text a conversation is embedded and clustered by: its user turns, else all turns, in order.

    `messages` are (role, content) pairs in conversation order.
    """
    user_turns = [content for role, content in messages if role == "user" and content.strip()]
    turns = user_turns or [content for _, content in messages if content.strip()]
    return "\n".join(turns)[:MAX_TEXT_CHARS]


def content_hash(text: str) -> str:
    """What decides whether a stored vector is still the vector of this text (model name included)."""
    return hashlib.sha256(f"{MODEL_NAME}\x1f{text}".encode()).hexdigest()
