"""Predicting with a fine-tuned encoder: documents in, predicted documents out.

Windows of all documents in a call are sorted by length and batched (little
padding), run through a *scorer* (pure: padded token ids in, logits out), then
:func:`models.decode.decode_document` turns the logits into entities and
topics on each original text.  :func:`predict_with` and
:func:`batched_window_logits` are that one path; the PyTorch scorer is
:meth:`TransformerPredictor.numpy_scores`, the ONNX Runtime one lives in
:mod:`models.onnx_backend`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from models.decode import decode_document
from models.document import Document
from models.joint_model import JointModel
from models.labels import LabelScheme
from models.text_pipeline import EncodedDocument, TextPipeline, Window

MODEL_INFO_FILE = "xdd_model.json"

# A scorer: padded ``input_ids`` and ``attention_mask`` (batch × tokens) in,
# ``{"ner_logits": batch × tokens × tags, "topic_logits": batch × topics}`` out
# (only the heads the model has).
Scorer = Callable[[torch.Tensor, torch.Tensor], Mapping[str, np.ndarray]]
WindowLogits = tuple[list[np.ndarray] | None, list[np.ndarray] | None]


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
    ) -> None:
        self.model = model
        self.pipeline = pipeline
        self.scheme = scheme
        self.thresholds = dict(thresholds)
        self.batch_size = batch_size
        self.device = torch.device(device)

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu", batch_size: int = 16) -> TransformerPredictor:
        directory = Path(directory)
        info = json.loads((directory / MODEL_INFO_FILE).read_text(encoding="utf-8"))
        model = JointModel.load(directory, device=device)
        scheme = LabelScheme.from_json(info["labels"], source=str(directory / MODEL_INFO_FILE))
        return cls(model, TextPipeline.from_pretrained(directory), scheme, info["thresholds"], batch_size, device)

    def save(self, directory: str | Path, extra: dict | None = None) -> None:
        """Weights, tokenizer, text settings, labels and thresholds in one folder."""
        directory = Path(directory)
        self.model.save(directory)
        self.pipeline.tokenizer.save_pretrained(directory)
        self.pipeline.settings.save(directory)
        info = {"kind": "transformer", "labels": self.scheme.to_json(), "thresholds": self.thresholds, **(extra or {})}
        (directory / MODEL_INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", "utf-8")

    @torch.inference_mode()
    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pure forward pass: padded token ids → ``ner_logits`` and/or ``topic_logits``."""
        return self.model(input_ids=input_ids.to(self.device), attention_mask=attention_mask.to(self.device))

    def numpy_scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, np.ndarray]:
        """:meth:`scores` in eval mode, as float32 numpy arrays: the PyTorch :data:`Scorer`."""
        self.model.eval()
        return {name: value.float().cpu().numpy() for name, value in self.scores(input_ids, attention_mask).items()}

    def predict_documents(self, docs: Sequence[Document | str]) -> list[Document]:
        """Predictions for texts or documents (ids and meta carried over; gold annotations ignored)."""
        return predict_with(docs, self.pipeline, self.scheme, self.thresholds, self.window_logits)

    def window_logits(self, windows: Sequence[Window]) -> WindowLogits:
        """Per-window logits (``ner``: tokens × tags, ``topics``: topics), in the order of ``windows``."""
        return batched_window_logits(windows, self.numpy_scores, self.pipeline.tokenizer.pad_token_id, self.batch_size)


def predict_with(
    docs: Sequence[Document | str],
    pipeline: TextPipeline,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    window_logits: Callable[[Sequence[Window]], WindowLogits],
) -> list[Document]:
    """Encode ``docs``, score all their windows in one call of ``window_logits``, decode each document."""
    inputs = [d if isinstance(d, Document) else Document(id=str(i), text=d) for i, d in enumerate(docs)]
    encoded = [encoded_for(pipeline, d) for d in inputs]
    logits = window_logits([w for enc in encoded for w in enc.windows])
    return decode_all(inputs, encoded, logits, pipeline=pipeline, scheme=scheme, thresholds=thresholds)


def decode_all(
    inputs: Sequence[Document],
    encoded: Sequence[EncodedDocument],
    logits: WindowLogits,
    *,
    pipeline: TextPipeline,
    scheme: LabelScheme,
    thresholds: dict[str, float],
) -> list[Document]:
    """:func:`decode_document` for each input, given the logits of all their windows in order."""
    ner, topics = logits
    out, k = [], 0
    for doc, enc in zip(inputs, encoded):
        n = len(enc.windows)
        out.append(
            decode_document(
                doc.id, doc.text, enc,
                ner[k:k + n] if ner is not None else None,
                topics[k:k + n] if topics is not None else None,
                pipeline=pipeline, scheme=scheme, thresholds=thresholds, meta=doc.meta,
            )
        )  # fmt: skip
        k += n
    return out


def batched_window_logits(windows: Sequence[Window], score: Scorer, pad_id: int, batch_size: int) -> WindowLogits:
    """Run ``windows`` through ``score`` in length-sorted batches; logits come back in the order of ``windows``.

    A head's list is None when the scorer does not return that head's logits.
    """
    logits: dict[str, list[np.ndarray | None]] = {}
    for rows in length_batches([len(w.input_ids) for w in windows], batch_size):
        ids, mask = pad_batch([windows[i].input_ids for i in rows], pad_id)
        out = score(ids, mask)
        for name, values in out.items():
            kept = logits.setdefault(name, [None] * len(windows))
            for row, i in enumerate(rows):
                kept[i] = values[row, : len(windows[i].input_ids)] if name == "ner_logits" else values[row]
    return logits.get("ner_logits"), logits.get("topic_logits")  # type: ignore[return-value]


def length_batches(
    lengths: Sequence[int], batch_size: int, max_padding: float = 0.1, free_positions: int = 64
) -> list[list[int]]:
    """Indices of ``lengths`` in batches of at most ``batch_size``, shortest first, with little padding.

    A batch is closed early when taking the next (longer) window would make
    padding more than ``max_padding`` of its positions, unless the batch would
    still hold at most ``free_positions`` positions (tiny windows are cheaper
    batched than run one by one).  On CPU a padded position costs as much as a
    real token, and with a fixed count of 16 the last batch of a few documents
    mixes 60- and 240-token windows: 8-20 % of the model time went to padding
    (docs/performance.md, Benchmarks).
    """
    batches: list[list[int]] = []
    real = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        width, rows = lengths[i], (batches[-1] if batches else [])
        positions = (len(rows) + 1) * width
        too_padded = positions > (1 + max_padding) * (real + width) and positions > free_positions
        full = len(rows) >= batch_size or too_padded
        if not rows or full:
            batches.append([i])
            real = width
        else:
            rows.append(i)
            real += width
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists to the longest; returns ``input_ids`` and ``attention_mask``."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def encoded_for(pipeline: TextPipeline, doc: Document) -> EncodedDocument:
    """Inputs for prediction: the document's own paragraphs (if any), no labels."""
    return pipeline.encode_document(Document(doc.id, doc.text, paragraphs=doc.paragraphs))
