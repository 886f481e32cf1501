"""ONNX export of a :class:`~xdd.models.nets.joint.JointModel`, and its int8 copy.

The legacy TorchScript exporter (``dynamo=False``) is used: the dynamo
exporter of torch 2.13 needs ``onnxscript``, which this project does not
depend on, and the legacy one exports the encoder faithfully (the parity check
of :mod:`xdd.models.export.bundle` proves it for every bundle).  The example
input has a padded row, so that the traced graph keeps the attention-mask path
even for batches without padding.

``int8``: ONNX Runtime's dynamic quantisation (weights int8, activations
quantised on the fly), the usual CPU speed-up for transformer encoders.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from xdd.models.predict.onnx_backend import HEAD_OUTPUTS, INPUT_NAMES

OPSET = 17


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
