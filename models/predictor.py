"""``Predictor``: a verified bundle, ready to predict.

::

    predictor = Predictor.load("models/xdd-phobert", backend="onnx")
    docs = predictor.predict(["Sáng 23/1, Ban Thường vụ Huyện uỷ Cao Lộc ..."])

Every bundle loads through here, transformer and baselines alike, after
:func:`models.bundle.verify_bundle` has checked its manifest.  Backends:

- ``"torch"``: the model in-process (PyTorch for a transformer, the CRF and
  TF-IDF model for baselines);
- ``"onnx"`` / ``"onnx-int8"``: the bundle's ``model.onnx`` /
  ``model.int8.onnx`` under ONNX Runtime (transformers exported with ``--onnx``).

Both transformer backends share the text pipeline, the length-sorted batching
and :func:`models.decode.decode_document`; only the forward pass differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from models.bundle import verify_bundle
from models.document import Document
from models.errors import BundleError, ConfigError
from models.labels import LabelScheme

BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
DEFAULT_BATCH_SIZE = 16


@dataclass
class Predictor:
    """Predicts :class:`~models.document.Document` objects with one bundle and one backend."""

    path: Path
    info: dict[str, Any]  # the bundle's bundle.json
    backend: str
    scheme: LabelScheme
    _predict: Callable[[Sequence[str | Document]], list[Document]]

    @classmethod
    def load(
        cls,
        path: str | Path,
        backend: str = "torch",
        device: str = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
    ) -> Predictor:
        """Verify the bundle at ``path`` and load it for ``backend`` on ``device``.

        ``batch_size``: windows per forward pass; ``threads``: ONNX Runtime
        intra-op threads (default: all cores).
        """
        if backend not in BACKENDS:
            raise ConfigError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size {batch_size!r}: expected an integer >= 1")
        path = Path(path)
        info = verify_bundle(path)
        scheme = LabelScheme.from_json(info["labels"], source=f"{path}/bundle.json: labels")
        if info["kind"] == "baselines":
            predict = _baselines(path, backend, device)
        elif backend == "torch":
            predict = _torch(path, device, batch_size)
        else:
            predict = _onnx(path, backend, device, batch_size, threads)
        return cls(path, info, backend, scheme, predict)

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def name(self) -> str:
        return self.info["name"]

    def predict(self, texts: Iterable[str | Document]) -> list[Document]:
        """One predicted document per text, in order.

        A plain text gets the id of its position (``"0"``, ``"1"``, ...); a
        :class:`Document` keeps its id and meta (its gold annotations are
        ignored; its paragraphs, if any, are the ones predicted).  Offsets
        index the original text; long texts are windowed, never truncated.
        """
        return self._predict(list(texts))


def _baselines(path: Path, backend: str, device: str) -> Callable[[Sequence[str | Document]], list[Document]]:
    from models.baseline_model import BaselineModel

    if backend != "torch":
        raise ConfigError(
            f"{path}: a baselines bundle (CRF + TF-IDF) has no ONNX model; use backend 'torch' (in-process)"
        )
    if device != "cpu":
        raise ConfigError(f"{path}: baselines run on the CPU only; use device 'cpu', not {device!r}")
    return BaselineModel.load(path).predict_documents


def _torch(path: Path, device: str, batch_size: int) -> Callable[[Sequence[str | Document]], list[Document]]:
    from models.transformer_predictor import TransformerPredictor

    return TransformerPredictor.load(path, device=_torch_device(device), batch_size=batch_size).predict_documents


def _torch_device(device: str) -> str:
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"device {device!r}: {err}; expected 'cpu', 'cuda' or 'cuda:N'") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: PyTorch sees no CUDA GPU here; use device 'cpu'")
    return device


def _onnx(
    path: Path, backend: str, device: str, batch_size: int, threads: int | None
) -> Callable[[Sequence[str | Document]], list[Document]]:
    from models.onnx_backend import OnnxScorer
    from models.text_pipeline import TextPipeline
    from models.transformer_predictor import MODEL_INFO_FILE, batched_window_logits, predict_with

    file = ONNX_FILES[backend]
    if not (path / file).is_file():
        raise BundleError(
            f"{path}: this bundle has no {file}; export it with `xdd export RUN --out {path} --onnx"
            f"{' --quantize int8' if backend == 'onnx-int8' else ''} --force`, or use backend 'torch'"
        )
    model_info = json.loads((path / MODEL_INFO_FILE).read_text(encoding="utf-8"))
    scheme = LabelScheme.from_json(model_info["labels"], source=str(path / MODEL_INFO_FILE))
    scorer = OnnxScorer(path / file, device=device, threads=threads)
    pipeline = TextPipeline.from_pretrained(path)
    window_logits = partial(
        batched_window_logits, score=scorer, pad_id=pipeline.tokenizer.pad_token_id, batch_size=batch_size
    )
    return partial(
        predict_with, pipeline=pipeline, scheme=scheme, thresholds=model_info["thresholds"], window_logits=window_logits
    )
