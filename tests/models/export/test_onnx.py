"""ONNX export and the ONNX Runtime scorer: same logits as PyTorch, dynamic axes, int8, devices, parity."""

from __future__ import annotations

import numpy as np
import pytest
from xdd.models.document.corpus import read_documents
from xdd.models.errors import BundleError, ConfigError
from xdd.models.export.onnx import export_onnx, quantize_int8
from xdd.models.export.parity import parity_check
from xdd.models.nets.joint import JointModel
from xdd.models.predict.batching import pad_batch
from xdd.models.predict.onnx_backend import OnnxScorer, providers
from xdd.models.predict.torch_backend import TransformerPredictor


@pytest.fixture(scope="module")
def predictor(tiny_run_dir) -> TransformerPredictor:
    return TransformerPredictor.load(tiny_run_dir / "model")


@pytest.fixture(scope="module")
def onnx_path(predictor, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(predictor.model, path)
    return path


def batch(lengths: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids framed by <s> … </s>, right-padded to the longest."""
    rng = np.random.default_rng(seed)
    rows = [[0, *rng.integers(4, 200, size=n - 2).tolist(), 2] for n in lengths]
    return pad_batch(rows, pad_id=1)


@pytest.mark.parametrize("lengths", [[12], [5, 5, 5], [40, 7, 256], [3, 130]], ids=str)
def test_onnx_logits_equal_pytorch_logits_for_any_batch_and_length(predictor, onnx_path, lengths):
    ids, mask = batch(lengths)
    want = predictor.numpy_scores(ids, mask)
    got = OnnxScorer(onnx_path)(ids, mask)
    assert set(got) == set(want) == {"ner_logits", "topic_logits"}
    real = mask.astype(bool)
    assert np.abs(got["ner_logits"][real] - want["ner_logits"][real]).max() < 1e-4
    assert np.abs(got["topic_logits"] - want["topic_logits"]).max() < 1e-4


def test_a_ner_only_model_exports_only_the_ner_output(predictor, tmp_path):
    model = JointModel(predictor.model.encoder, num_tags=5, num_topics=0)
    names = export_onnx(model, tmp_path / "ner.onnx")
    assert names == ["ner_logits"]
    ids, mask = batch([9, 4])
    assert list(OnnxScorer(tmp_path / "ner.onnx")(ids, mask)) == ["ner_logits"]


def test_int8_quantisation_writes_a_smaller_model_that_runs(onnx_path, tmp_path):
    quantize_int8(onnx_path, tmp_path / "model.int8.onnx")
    assert (tmp_path / "model.int8.onnx").stat().st_size < onnx_path.stat().st_size
    ids, mask = batch([20, 11])
    assert OnnxScorer(tmp_path / "model.int8.onnx")(ids, mask)["ner_logits"].shape[:2] == (2, 20)


def test_an_unreadable_onnx_file_is_a_bundle_error_naming_it(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(BundleError, match=r"model.onnx: ONNX Runtime cannot load this model"):
        OnnxScorer(tmp_path / "model.onnx")


def test_devices_map_to_execution_providers_or_say_what_is_missing():
    import onnxruntime as ort

    assert providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(ConfigError, match="expected 'cpu', 'cuda' or 'cuda:N'"):
        providers("tpu")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ConfigError, match="no CUDA provider.*onnxruntime-gpu"):
            providers("cuda")


def test_parity_check_reports_full_agreement_for_onnx_and_catches_a_wrong_scorer(
    predictor, onnx_path, model_corpus_path
):
    docs = read_documents(model_corpus_path)[:2]

    def wrong(ids, mask):
        out = OnnxScorer(onnx_path)(ids, mask)
        return {name: -values for name, values in out.items()}

    report = parity_check(predictor, {"fp32": OnnxScorer(onnx_path), "wrong": wrong}, docs)
    assert report["documents"] == 2 and report["words"] > 0
    assert report["checks"]["fp32"]["tag_agreement"] == 1.0 and report["checks"]["fp32"]["topic_agreement"] == 1.0
    assert report["checks"]["wrong"]["max_abs_logit_diff"] > 0.1
    assert report["checks"]["wrong"]["tag_agreement"] < 1.0 or report["checks"]["wrong"]["topic_agreement"] < 1.0
