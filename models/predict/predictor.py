"""``Predictor``: a verified bundle, ready to predict.

::

    predictor = Predictor.load("bundles/xdd-phobert", backend="onnx")
    docs = predictor.predict(["Sáng 23/1, Ban Thường vụ Huyện uỷ Cao Lộc ..."])

Every bundle loads through here, transformer and baselines alike, after
:func:`xdd.models.document.bundle.verify_bundle` has checked its manifest.  Backends:

- ``"torch"``: the model in-process (PyTorch for a transformer, the CRF and
  TF-IDF model for baselines);
- ``"onnx"`` / ``"onnx-int8"``: the bundle's ``model.onnx`` /
  ``model.int8.onnx`` under ONNX Runtime (transformers exported with ``--onnx``).

Every backend ends in the one decoding step of :mod:`xdd.models.predict.decode`;
both transformer backends also share the text pipeline and the length-sorted
batching of :mod:`xdd.models.predict.batching`; only the forward pass differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from xdd.models.document.bundle import verify_bundle
from xdd.models.document import Document
from xdd.models.errors import BundleError, ConfigError
from xdd.models.predict.decode import ScoredDocument
from xdd.models.document.labels import LabelScheme

BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
DEFAULT_BATCH_SIZE = 16


@dataclass
class Predictor:
    """Predicts :class:`~xdd.models.document.Document` objects with one bundle and one backend."""

    path: Path
    info: dict[str, Any]  # the bundle's bundle.json
    backend: str
    scheme: LabelScheme
    _score: Callable[[Sequence[str | Document]], list[ScoredDocument]]

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
        intra-op threads (default: all cores).  Everything
        :func:`check_bundle` refuses is refused before a model is built.
        """
        path = Path(path)
        info = check_bundle(path, backend, device, batch_size)
        scheme = _label_scheme(path, info)
        if info["kind"] == "baselines":
            score = _baselines(path)
        elif backend == "torch":
            score = _torch(path, device, batch_size)
        else:
            score = _onnx(path, backend, device, batch_size, threads)
        return cls(path, info, backend, scheme, score)

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
        return [scored.document for scored in self.score(texts)]

    def score(self, texts: Iterable[str | Document]) -> list[ScoredDocument]:
        """:meth:`predict`, each document with the scores it was decoded from: every word's tag and its
        probability, every paragraph's topic probabilities (for uncertainty sampling, calibration checks)."""
        return self._score(list(texts))


def check_bundle(
    path: str | Path, backend: str = "torch", device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, Any]:
    """Everything :meth:`Predictor.load` checks before it builds the model; returns the bundle's ``bundle.json``.

    The options, the manifest (:func:`verify_bundle`), the label scheme and
    that the bundle has what ``backend`` needs; what only building can tell
    (PyTorch installed, a CUDA GPU present, a model that loads) is left to
    :meth:`Predictor.load`.  Ray's driver calls only this: its workers build
    the model, on machines that may have what the driver lacks, so a second
    copy in the driver would only delay the run (2.4 s for a phobert-base
    ONNX bundle, docs/performance.md).
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size {batch_size!r}: expected an integer >= 1")
    path = Path(path)
    info = verify_bundle(path)
    _label_scheme(path, info)
    if info["kind"] == "baselines":
        if backend != "torch":
            raise ConfigError(
                f"{path}: a baselines bundle (CRF + TF-IDF) has no ONNX model; use backend 'torch' (in-process)"
            )
        if device != "cpu":
            raise ConfigError(f"{path}: baselines run on the CPU only; use device 'cpu', not {device!r}")
    elif backend in ONNX_FILES and not (path / ONNX_FILES[backend]).is_file():
        raise BundleError(
            f"{path}: this bundle has no {ONNX_FILES[backend]}; export it with `xdd export RUN --out {path} --onnx"
            f"{' --quantize int8' if backend == 'onnx-int8' else ''} --force`, or use backend 'torch'"
        )
    return info


def _label_scheme(path: Path, info: dict[str, Any]) -> LabelScheme:
    return LabelScheme.from_json(info["labels"], source=f"{path}/bundle.json: labels")


def _baselines(path: Path) -> Callable[[Sequence[str | Document]], list[ScoredDocument]]:
    from xdd.models.predict.baseline import BaselineModel

    return BaselineModel.load(path).score_documents


def _torch(path: Path, device: str, batch_size: int) -> Callable[[Sequence[str | Document]], list[ScoredDocument]]:
    try:
        from xdd.models.predict.torch_backend import TransformerPredictor
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
        raise ConfigError(
            f"{path}: backend 'torch' of a transformer bundle needs PyTorch, which is not installed; "
            "install it (`pip install torch` then `pip install 'xdd[train]'`), or use backend 'onnx' "
            "with a bundle exported with --onnx"
        ) from None
    return TransformerPredictor.load(path, device=_torch_device(device), batch_size=batch_size).score_documents


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
) -> Callable[[Sequence[str | Document]], list[ScoredDocument]]:
    """The ONNX Runtime backend: the same pipeline, batching and decoding as torch, without importing torch."""
    from xdd.models.predict.batching import batched_window_logits, read_model_info, score_with
    from xdd.models.predict.onnx_backend import OnnxScorer
    from xdd.models.text.pipeline import TextPipeline

    model_info, scheme = read_model_info(path)
    scorer = OnnxScorer(path / ONNX_FILES[backend], device=device, threads=threads)
    pipeline = TextPipeline.from_pretrained(path)
    window_logits = partial(
        batched_window_logits, score=scorer, pad_id=pipeline.tokenizer.pad_token_id, batch_size=batch_size
    )
    return partial(
        score_with, pipeline=pipeline, scheme=scheme, thresholds=model_info["thresholds"], window_logits=window_logits,
        conventions=model_info.get("conventions", False),
    )
