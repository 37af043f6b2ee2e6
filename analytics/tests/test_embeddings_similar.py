"""Stored conversation vectors: the similar-conversations selector and its HNSW index (hand-made vectors)."""

import numpy as np
import pytest
from django.db import connection, transaction

from analytics.models import EMBEDDING_DIMENSIONS, ConversationEmbedding
from analytics.selectors import conversation_embeddings_nearest, conversation_similar
from analytics.tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def _unit(*weights: float) -> np.ndarray:
    vector = np.zeros(EMBEDDING_DIMENSIONS, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


class _RolledBack(Exception):
    pass


def _embedded(vector: np.ndarray):
    conversation = ConversationFactory()
    ConversationEmbedding.objects.create(
        conversation=conversation, model_name="test", embedding=vector, content_hash="h"
    )
    return conversation


def test_similar_conversations_come_closest_first_without_the_conversation_itself():
    query = _embedded(_unit(1, 0, 0))
    near, middle, far = _embedded(_unit(0.9, 0.1, 0)), _embedded(_unit(0.5, 0.5, 0)), _embedded(_unit(0, 0, 1))
    found = [c.id for c, _ in conversation_similar(conversation_id=query.id, limit=10)]
    assert found == [near.id, middle.id, far.id]


def test_similar_conversations_are_limited_to_the_number_asked():
    query = _embedded(_unit(1, 0))
    for i in range(5):
        _embedded(_unit(1, i + 1))
    assert len(conversation_similar(conversation_id=query.id, limit=3)) == 3


def test_a_conversation_without_an_embedding_has_no_similar_conversations():
    _embedded(_unit(1, 0))
    assert conversation_similar(conversation_id=ConversationFactory().id) == []


def test_the_similarity_search_walks_the_hnsw_cosine_index():
    for i in range(20):
        _embedded(_unit(1, i))
    with connection.cursor() as cursor:
        # A table this small would be read whole, or joined then sorted, otherwise (by the statistics other
        # tests left): the question is whether the query *can* walk the index in distance order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plan = conversation_embeddings_nearest(vector=_unit(1, 0))[:5].explain()
    assert "conv_embeddings_hnsw_cosine" in plan


def test_similar_conversations_are_found_past_closer_rows_that_were_deleted():
    # Deleted rows stay in the HNSW index until a vacuum: 60 of them closer than the live ones fill the 40
    # candidates a plain index scan looks at, and it would return nothing. Rows of rolled-back transactions near
    # the query make even an iterative scan come back empty (pgvector issue #549): the rows below were enough.
    for rolled_back in ([_unit(1, 0), _unit(0.9, 0.1), _unit(0, 1)], [_unit(1, 0), _unit(0.5, 0.5), _unit(0, 0, 1)]):
        with pytest.raises(_RolledBack), transaction.atomic():
            for vector in rolled_back:
                _embedded(vector)
            raise _RolledBack
    query = _embedded(_unit(1, 0))
    deleted = [_embedded(_unit(1, 0.001 * (i + 1))) for i in range(60)]
    live = [_embedded(_unit(1, 1)), _embedded(_unit(0, 1))]
    ConversationEmbedding.objects.filter(conversation__in=deleted).delete()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the index, as on a table of millions of rows
    found = [c.id for c, _ in conversation_similar(conversation_id=query.id, limit=5)]
    assert found == [c.id for c in live]
