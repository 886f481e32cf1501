"""ONNX export and the ONNX Runtime scorer: fused graph, same logits as PyTorch, dynamic axes, int8, devices, parity."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from xdd.models.document.corpus import read_documents
from xdd.models.errors import BundleError, ConfigError
from xdd.models.export.onnx import GraphReport, export_onnx, optimize_onnx, quantize_int8, write_onnx
from xdd.models.export.parity import parity_check
from xdd.models.nets.joint import JointModel
from xdd.models.predict.batching import pad_batch
from xdd.models.predict.onnx_backend import OnnxScorer, providers
from xdd.models.predict.torch_backend import TransformerPredictor


@pytest.fixture(scope="module")
def predictor(tiny_run_dir) -> TransformerPredictor:
    return TransformerPredictor.load(tiny_run_dir / "model")


@pytest.fixture(scope="module")
def written(predictor, tmp_path_factory) -> tuple:
    """The optimised graph as the export writes it, and its report."""
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return path, write_onnx(predictor.model, path)


@pytest.fixture(scope="module")
def onnx_path(written):
    return written[0]


@pytest.fixture(scope="module")
def unfused_path(predictor, tmp_path_factory):
    path = tmp_path_factory.mktemp("unfused") / "model.onnx"
    export_onnx(predictor.model, path)
    return path


def op_types(path) -> Counter:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


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


def test_the_written_graph_has_fused_attention_skip_layer_norm_and_gelu_and_reports_them(written, unfused_path):
    path, report = written
    ops = op_types(path)
    assert ops["Attention"] == 2 and ops["SkipLayerNormalization"] == 4 and ops["BiasGelu"] == 2  # 2 tiny layers
    assert {"Softmax", "Erf"}.isdisjoint(ops) and {"Softmax", "Erf"} <= set(op_types(unfused_path))
    assert report.optimized and report.missing_fusions == [] and report.fallback_reason is None
    assert report.fused_operators == {op: ops[op] for op in report.fused_operators}
    assert "fused: Attention ×2" in report.summary() and "onnxruntime 1." in report.optimizer


def test_the_fused_graph_scores_a_padded_batch_like_each_row_alone(onnx_path):
    lengths = [40, 7, 256, 3]
    ids, mask = batch(lengths, seed=3)
    scorer = OnnxScorer(onnx_path)
    together = scorer(ids, mask)
    for row, n in enumerate(lengths):
        alone = scorer(ids[row : row + 1, :n], mask[row : row + 1, :n])
        assert np.abs(alone["ner_logits"][0] - together["ner_logits"][row, :n]).max() < 1e-4
        assert np.abs(alone["topic_logits"][0] - together["topic_logits"][row]).max() < 1e-4


def test_export_leaves_the_model_in_eval_mode_with_its_own_attention_implementation(predictor, tmp_path):
    implementation = predictor.model.config._attn_implementation
    export_onnx(predictor.model, tmp_path / "model.onnx")
    assert not predictor.model.training and predictor.model.config._attn_implementation == implementation


def test_a_ner_only_model_exports_only_the_ner_output(predictor, tmp_path):
    model = JointModel(predictor.model.encoder, num_tags=5, num_topics=0)
    assert write_onnx(model, tmp_path / "ner.onnx").optimized
    ids, mask = batch([9, 4])
    assert list(OnnxScorer(tmp_path / "ner.onnx")(ids, mask)) == ["ner_logits"]


def test_int8_quantisation_of_the_fused_graph_quantises_its_attention_and_runs(predictor, onnx_path, tmp_path):
    quantize_int8(onnx_path, tmp_path / "model.int8.onnx")
    assert (tmp_path / "model.int8.onnx").stat().st_size < onnx_path.stat().st_size
    ops = op_types(tmp_path / "model.int8.onnx")
    assert ops["QAttention"] == 2 and "Attention" not in ops and ops["MatMulInteger"] > 0
    ids, mask = batch([20, 11])
    got = OnnxScorer(tmp_path / "model.int8.onnx")(ids, mask)
    real = mask.astype(bool)
    assert np.abs(got["ner_logits"][real] - predictor.numpy_scores(ids, mask)["ner_logits"][real]).max() < 0.1


def _raise(*args, **kwargs):
    raise RuntimeError("no fusion for you")


class _UnloadableGraph:
    """What a broken optimiser returns: it saves a file ONNX Runtime cannot load."""

    def save_model_to_file(self, path: str) -> None:
        Path(path).write_bytes(b"not onnx")


def _break_optimiser(monkeypatch, how: str) -> None:
    if how == "missing":
        monkeypatch.setitem(sys.modules, "onnxruntime.transformers.optimizer", None)
    else:
        optimize_model = _raise if how == "raises" else lambda *args, **kwargs: _UnloadableGraph()
        monkeypatch.setattr("onnxruntime.transformers.optimizer.optimize_model", optimize_model)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("raises", "RuntimeError: no fusion for you"),
        ("unloadable", "InvalidProtobuf"),
        ("missing", "ModuleNotFoundError"),
    ],
    ids=["optimiser raises", "its graph does not load", "optimiser missing"],
)
def test_when_the_optimiser_fails_the_unfused_graph_is_shipped_with_a_logged_and_recorded_reason(
    unfused_path, tmp_path, monkeypatch, caplog, how, reason
):
    _break_optimiser(monkeypatch, how)
    with caplog.at_level(logging.WARNING, logger="xdd.models.export.onnx"):
        report = optimize_onnx(unfused_path, tmp_path / "model.onnx", num_heads=2, hidden_size=64)
    assert not report.optimized and report.fused_operators == {} and reason in report.fallback_reason
    assert "shipping the unfused graph" in caplog.text and reason in caplog.text
    assert "UNFUSED graph: ONNX Runtime's optimiser failed" in report.summary()
    assert (tmp_path / "model.onnx").read_bytes() == unfused_path.read_bytes()


def test_fusions_the_optimiser_did_not_apply_are_recorded_and_logged(unfused_path, tmp_path, monkeypatch, caplog):
    import xdd.models.export.onnx

    monkeypatch.setattr(xdd.models.export.onnx, "_fuse", lambda *args: {"SkipLayerNormalization": 4, "BiasGelu": 2})
    with caplog.at_level(logging.WARNING, logger="xdd.models.export.onnx"):
        report = optimize_onnx(unfused_path, tmp_path / "model.onnx", num_heads=2, hidden_size=64)
    assert report == GraphReport(True, report.optimizer, {"SkipLayerNormalization": 4, "BiasGelu": 2}, ["attention"])
    assert "did not fuse attention" in caplog.text and "NOT fused: attention" in report.summary()


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
