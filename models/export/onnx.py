"""ONNX export of a :class:`~xdd.models.nets.joint.JointModel`: the traced graph, its fusions, its int8 copy.

**Trace.** The legacy TorchScript exporter (``dynamo=False``) is used: the
dynamo exporter of torch 2.13 needs ``onnxscript``, which this project does not
depend on, and the legacy one exports the encoder faithfully (the parity check
of :mod:`xdd.models.export.bundle` proves it for every bundle).  The example
input has a padded row, so that the traced graph keeps the attention-mask path
even for batches without padding.  Attention is traced in transformers'
``eager`` form: the default ``sdpa`` form decomposes into a pattern (with an
IsNaN/Where guard for fully masked rows) that ONNX Runtime's attention fusion
does not recognise.  PyTorch computes the same either way.

**Fusions.** :func:`write_onnx` runs ONNX Runtime's transformer optimiser
(``onnxruntime.transformers.optimizer``, model type ``bert``: RoBERTa/PhoBERT
layers are BERT layers) on the traced graph.  Each layer's self-attention
becomes one ``Attention`` op (Q, K and V in one MatMul), each residual
add + LayerNorm one ``SkipLayerNormalization``, each bias + erf-GELU one
``BiasGelu``.  ``EmbedLayerNormalization`` does not apply (RoBERTa's position
ids are a cumulative sum over the non-padding tokens) and is not expected.
``opt_level=1`` keeps the file free of hardware-specific rewrites; the session
applies those when it loads the graph on the machine that runs it.  The raw 2-D
attention mask is kept (not the BERT default, sequence lengths, which assumes
right padding), so the graph reads any mask exactly as PyTorch does.

The unfused trace is written to a temporary folder and never kept: nothing
reads it, since the fused graph is itself checked against PyTorch.  It is
shipped instead only when the optimiser is missing, raises, or writes a graph
ONNX Runtime cannot load: a warning is logged and the reason recorded in the
:class:`GraphReport`, because a graph without the fusions is better than no ONNX
bundle (it is as exact; whether it is slower depends on the CPU, docs/performance.md).

**int8.** ONNX Runtime's dynamic quantisation (weights int8, activations
quantised on the fly) of the optimised graph: MatMul becomes MatMulInteger and
the fused Attention becomes QAttention.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from xdd.models.predict.onnx_backend import HEAD_OUTPUTS, INPUT_NAMES

log = logging.getLogger(__name__)

OPSET = 17
OPT_LEVEL = 1
# What a fully fused encoder layer has, by kind: any one op of each kind counts.
EXPECTED_FUSIONS = {
    "attention": ("Attention", "MultiHeadAttention"),
    "skip layer norm": ("SkipLayerNormalization",),
    "gelu": ("Gelu", "BiasGelu", "FastGelu"),
}


@dataclass
class GraphReport:
    """What ``model.onnx`` is: the optimised graph and its fused ops, or the unfused one and why."""

    optimized: bool
    optimizer: str  # what ran (or was meant to), with its version
    fused_operators: dict[str, int] = field(default_factory=dict)  # op type → count, zero counts left out
    missing_fusions: list[str] = field(default_factory=list)  # EXPECTED_FUSIONS kinds absent from the graph
    fallback_reason: str | None = None  # why the unfused graph was shipped

    def summary(self) -> str:
        """One line for logs and the model card."""
        if not self.optimized:
            return f"UNFUSED graph: ONNX Runtime's optimiser failed ({self.fallback_reason})"
        fused = ", ".join(f"{op} ×{n}" for op, n in self.fused_operators.items()) or "nothing"
        missing = f"; NOT fused: {', '.join(self.missing_fusions)}" if self.missing_fusions else ""
        return f"graph optimised by ONNX Runtime's transformer optimiser (fused: {fused}{missing})"


def write_onnx(model: Any, path: str | Path) -> GraphReport:
    """Write ``model`` (a JointModel) to ``path`` as the optimised ONNX graph; falls back to the unfused one.

    The trace goes to a temporary folder beside ``path`` (the same disk as the
    result) and is removed afterwards.
    """
    path = Path(path)
    config = model.config
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".unfused-") as folder:
        unfused = Path(folder) / "model.onnx"
        export_onnx(model, unfused)
        return optimize_onnx(unfused, path, config.num_attention_heads, config.hidden_size)


def export_onnx(model: Any, path: str | Path, opset: int = OPSET) -> list[str]:
    """Write ``model`` (a JointModel) to ``path`` as the traced, unfused ONNX graph; returns its output names."""
    wrapper = _TupleOutputs(model).eval()  # export restores this module's mode: eval, not nn.Module's default
    outputs = wrapper.output_names
    ids = torch.full((2, 8), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    ids[1, 5:], mask[1, 5:] = model.config.pad_token_id or 0, 0
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes.update({name: {0: "batch", 1: "sequence"} if name == "ner_logits" else {0: "batch"} for name in outputs})
    with warnings.catch_warnings(), torch.no_grad(), _eager_attention(model.encoder):
        warnings.simplefilter("ignore")  # TracerWarnings about shapes fixed by the example; parity checks the graph
        torch.onnx.export(
            wrapper, (ids, mask), str(path), input_names=list(INPUT_NAMES), output_names=outputs,
            dynamic_axes=axes, opset_version=opset, dynamo=False,
        )  # fmt: skip
    return outputs


def optimize_onnx(source: str | Path, target: str | Path, num_heads: int, hidden_size: int) -> GraphReport:
    """ONNX Runtime's BERT fusions of ``source`` written to ``target``; on any failure ``source`` copied there."""
    import onnxruntime

    optimizer = f"onnxruntime {onnxruntime.__version__} transformers optimizer (bert, opt_level {OPT_LEVEL})"
    try:
        fused = _fuse(Path(source), Path(target), num_heads, hidden_size)
    except Exception as err:  # the optimiser raises anything (AssertionError, KeyError, onnx errors)
        reason = f"{type(err).__name__}: {err}"
        log.warning("ONNX graph optimisation failed (%s); shipping the unfused graph (as exact, without the fusions)",
                    reason)
        shutil.copyfile(source, target)
        return GraphReport(optimized=False, optimizer=optimizer, fallback_reason=reason)
    missing = [kind for kind, ops in EXPECTED_FUSIONS.items() if not any(fused.get(op) for op in ops)]
    report = GraphReport(optimized=True, optimizer=optimizer, fused_operators=fused, missing_fusions=missing)
    if missing:
        log.warning("ONNX Runtime's optimiser did not fuse %s: the graph works without those fusions", ", ".join(missing))
    log.info("ONNX %s", report.summary())
    return report


def _fuse(source: Path, target: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Run the optimiser, save its graph, check ONNX Runtime loads it; returns the non-zero fused-op counts."""
    import onnxruntime
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.use_raw_attention_mask(True)
    optimized = optimize_model(
        str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=OPT_LEVEL,
        optimization_options=options,
    )  # fmt: skip
    optimized.save_model_to_file(str(target))
    onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    return {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}


def quantize_int8(source: str | Path, target: str | Path) -> None:
    """A dynamically quantised (int8 weights) copy of the ONNX model ``source``.

    ``DefaultTensorType``: ONNX's shape inference cannot type the outputs of
    ONNX Runtime's fused ops (Attention, SkipLayerNormalization), and every
    tensor the quantiser asks about is float.
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "consider pre-processing" advice, irrelevant for dynamic quantisation
    try:
        types = {"DefaultTensorType": TensorProto.FLOAT}
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, extra_options=types)
    finally:
        quiet.setLevel(level)


@contextmanager
def _eager_attention(encoder: Any) -> Iterator[None]:
    """The encoder traced with transformers' eager attention (the form ONNX Runtime fuses), then restored."""
    previous = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        yield
    finally:
        encoder.set_attn_implementation(previous)


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
