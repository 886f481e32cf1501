"""The ONNX Runtime backend: a bundle's ``model.onnx`` as a scorer, without PyTorch.

The exported graph (:mod:`xdd.models.export.onnx`) takes ``input_ids`` and
``attention_mask`` (int64, batch × sequence, both axes dynamic) and returns the
logits of the heads the model has, under the names the PyTorch model uses
(``ner_logits``: batch × sequence × tags, ``topic_logits``: batch × topics).
:class:`OnnxScorer` is a :data:`xdd.models.predict.batching.Scorer`, so ONNX
predictions go through the same batching and
:func:`xdd.models.predict.decode.decode_document` as PyTorch ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from xdd.models.errors import BundleError, ConfigError

INPUT_NAMES = ("input_ids", "attention_mask")
HEAD_OUTPUTS = ("ner_logits", "topic_logits")


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
