"""Whether this database can store and search embeddings (pgvector present)."""

from functools import lru_cache

from django.db import connection


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
