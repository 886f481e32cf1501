"""ONNX export of a :class:`~models.joint_model.JointModel` and an ONNX Runtime scorer.

The exported graph takes ``input_ids`` and ``attention_mask`` (int64, batch ×
sequence, both axes dynamic) and returns the logits of the heads the model
has, under the names the PyTorch model uses (``ner_logits``: batch × sequence
× tags, ``topic_logits``: batch × topics).  :class:`OnnxScorer` is a
:data:`models.transformer_predictor.Scorer`, so ONNX predictions go through
the same batching and :func:`models.decode.decode_document` as PyTorch ones.

The legacy TorchScript exporter (``dynamo=False``) is used: the dynamo
exporter of torch 2.13 needs ``onnxscript``, which this project does not
depend on, and the legacy one exports the encoder faithfully (the parity check
of :mod:`models.export` proves it for every bundle).  The example input has a
padded row, so that the traced graph keeps the attention-mask path even for
batches without padding.

``int8``: ONNX Runtime's dynamic quantisation (weights int8, activations
quantised on the fly), the usual CPU speed-up for transformer encoders.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.errors import BundleError, ConfigError

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
HEAD_OUTPUTS = ("ner_logits", "topic_logits")


def export_onnx(model: Any, path: str | Path, opset: int = OPSET) -> list[str]:
    """Write ``model`` (a JointModel) to ``path`` as ONNX; returns the output names it has."""
    wrapper = _TupleOutputs(model.eval())
    outputs = wrapper.output_names
    ids = torch.full((2, 8), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    ids[1, 5:], mask[1, 5:] = model.config.pad_token_id or 0, 0
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes.update({name: {0: "batch", 1: "sequence"} if name == "ner_logits" else {0: "batch"} for name in outputs})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes fixed by the example; parity checks the graph
        torch.onnx.export(
            wrapper, (ids, mask), str(path), input_names=list(INPUT_NAMES), output_names=outputs,
            dynamic_axes=axes, opset_version=opset, dynamo=False,
        )  # fmt: skip
    return outputs


def quantize_int8(source: str | Path, target: str | Path) -> None:
    """A dynamically quantised (int8 weights) copy of the ONNX model ``source``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "consider pre-processing" advice, irrelevant for dynamic quantisation
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        quiet.setLevel(level)


class OnnxScorer:
    """An ONNX Runtime session as a scorer: padded ids and mask in, logits by head name out."""

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers(device))
        except Exception as err:  # onnxruntime raises its own exception types for unreadable graphs
            raise BundleError(f"{path}: ONNX Runtime cannot load this model: {err}; re-export the bundle") from err
        self.output_names = [o.name for o in self.session.get_outputs()]
        unknown = sorted(set(self.output_names) - set(HEAD_OUTPUTS))
        if unknown:
            raise BundleError(f"{path}: unexpected ONNX outputs {unknown}; expected {', '.join(HEAD_OUTPUTS)}")

    def __call__(self, input_ids: Any, attention_mask: Any) -> dict[str, np.ndarray]:
        values = (input_ids, attention_mask)
        feed = {name: np.asarray(value, dtype=np.int64) for name, value in zip(INPUT_NAMES, values)}
        return dict(zip(self.output_names, self.session.run(self.output_names, feed)))


def providers(device: str) -> list[str]:
    """ONNX Runtime execution providers for ``device`` ("cpu", "cuda", "cuda:N")."""
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.split(":")[0] == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError(
                f"device {device!r}: this onnxruntime has no CUDA provider (available: "
                f"{', '.join(ort.get_available_providers())}); install onnxruntime-gpu or use --device cpu"
            )
        index = device.split(":")[1] if ":" in device else "0"
        return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]  # type: ignore[list-item]
    raise ConfigError(f"device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


class _TupleOutputs(torch.nn.Module):
    """The JointModel with its dict output flattened into a tuple (ONNX outputs are positional)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        heads = (model.ner_head, model.topic_head)
        self.output_names = [name for name, head in zip(HEAD_OUTPUTS, heads) if head is not None]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return tuple(out[name] for name in self.output_names)
