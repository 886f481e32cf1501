"""The PyTorch backend: a fine-tuned :class:`~xdd.models.nets.joint.JointModel` as a scorer.

:meth:`TransformerPredictor.numpy_scores` is the PyTorch
:data:`~xdd.models.predict.batching.Scorer`; batching and decoding are the
torch-free :mod:`xdd.models.predict.batching` path that ONNX shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.nets.joint import JointModel
from xdd.models.predict.batching import MODEL_INFO_FILE, WindowLogits, batched_window_logits, read_model_info, score_with
from xdd.models.predict.decode import ScoredDocument
from xdd.models.text.pipeline import TextPipeline, Window


class TransformerPredictor:
    """A :class:`JointModel` with the text pipeline, labels and thresholds it was trained with."""

    def __init__(
        self,
        model: JointModel,
        pipeline: TextPipeline,
        scheme: LabelScheme,
        thresholds: dict[str, float],
        batch_size: int = 16,
        device: str | torch.device = "cpu",
        conventions: bool = False,
    ) -> None:
        self.model = model
        self.pipeline = pipeline
        self.scheme = scheme
        self.thresholds = dict(thresholds)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.conventions = conventions  # the scheme's boundary conventions after decoding (saved)

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu", batch_size: int = 16) -> TransformerPredictor:
        info, scheme = read_model_info(directory)
        model = JointModel.load(directory, device=device)
        pipeline = TextPipeline.from_pretrained(directory)
        return cls(model, pipeline, scheme, info["thresholds"], batch_size, device, info.get("conventions", False))

    def save(self, directory: str | Path, extra: dict | None = None) -> None:
        """Weights, tokenizer, text settings, labels and thresholds in one folder."""
        directory = Path(directory)
        self.model.save(directory)
        self.pipeline.tokenizer.save_pretrained(directory)
        self.pipeline.settings.save(directory)
        info = {"kind": "transformer", "labels": self.scheme.to_json(), "thresholds": self.thresholds,
                "conventions": self.conventions, **(extra or {})}  # fmt: skip
        (directory / MODEL_INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", "utf-8")

    @torch.inference_mode()
    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pure forward pass: padded token ids → ``ner_logits`` and/or ``topic_logits``."""
        return self.model(input_ids=input_ids.to(self.device), attention_mask=attention_mask.to(self.device))

    def numpy_scores(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`scores` in eval mode on numpy inputs and outputs (float32): the PyTorch scorer."""
        self.model.eval()
        out = self.scores(torch.as_tensor(input_ids), torch.as_tensor(attention_mask))
        return {name: value.float().cpu().numpy() for name, value in out.items()}

    def predict_documents(self, docs: Sequence[Document | str]) -> list[Document]:
        """Predictions for texts or documents (ids, meta and paragraphs carried over; gold annotations ignored)."""
        return [scored.document for scored in self.score_documents(docs)]

    def score_documents(self, docs: Sequence[Document | str]) -> list[ScoredDocument]:
        """:meth:`predict_documents` with the word and topic probabilities each prediction was decoded from."""
        return score_with(docs, self.pipeline, self.scheme, self.thresholds, self.window_logits, self.conventions)

    def window_logits(self, windows: Sequence[Window]) -> WindowLogits:
        """Per-window logits (``ner``: tokens × tags, ``topics``: topics), in the order of ``windows``."""
        return batched_window_logits(windows, self.numpy_scores, self.pipeline.tokenizer.pad_token_id, self.batch_size)
