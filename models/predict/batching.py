"""The one batched prediction path of transformer models, torch-free.

Windows of all documents in a call are sorted by length and batched (little
padding), run through a *scorer* (pure: padded token ids in, logits out), then
:func:`xdd.models.predict.decode.decode_document` turns the logits into
entities and topics on each original text.  The PyTorch scorer is
:meth:`xdd.models.predict.torch_backend.TransformerPredictor.numpy_scores`,
the ONNX Runtime one :class:`xdd.models.predict.onnx_backend.OnnxScorer`;
nothing here imports torch, so an ONNX deployment needs none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.checks import read_json
from xdd.models.errors import BundleError
from xdd.models.predict.decode import ScoredDocument, decode_document
from xdd.models.text.pipeline import EncodedDocument, TextPipeline, Window

MODEL_INFO_FILE = "xdd_model.json"  # a transformer model folder's labels and thresholds

# A scorer: padded ``input_ids`` and ``attention_mask`` (int64 numpy arrays,
# batch × tokens) in, ``{"ner_logits": batch × tokens × tags, "topic_logits":
# batch × topics}`` out (only the heads the model has).
Scorer = Callable[[np.ndarray, np.ndarray], Mapping[str, np.ndarray]]
WindowLogits = tuple[list[np.ndarray] | None, list[np.ndarray] | None]


def read_model_info(directory: str | Path) -> tuple[dict[str, Any], LabelScheme]:
    """A transformer model folder's ``xdd_model.json`` and its label scheme."""
    path = Path(directory) / MODEL_INFO_FILE
    info = read_json(path, BundleError, "transformer model description")
    try:
        return info, LabelScheme.from_json(info["labels"], source=str(path))
    except (KeyError, TypeError, ValueError) as err:
        raise BundleError(f"{path}: incomplete transformer model description ({err}); re-export") from err


def score_with(
    docs: Sequence[Document | str],
    pipeline: TextPipeline,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    window_logits: Callable[[Sequence[Window]], WindowLogits],
    conventions: bool = False,
) -> list[ScoredDocument]:
    """Encode ``docs``, score all their windows in one call of ``window_logits``, decode each document."""
    inputs = [d if isinstance(d, Document) else Document(id=str(i), text=d) for i, d in enumerate(docs)]
    encoded = [encoded_for(pipeline, d) for d in inputs]
    logits = window_logits([w for enc in encoded for w in enc.windows])
    return decode_all(inputs, encoded, logits, scheme=scheme, thresholds=thresholds, conventions=conventions)


def decode_all(
    inputs: Sequence[Document],
    encoded: Sequence[EncodedDocument],
    logits: WindowLogits,
    *,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    conventions: bool = False,
) -> list[ScoredDocument]:
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
                scheme=scheme, thresholds=thresholds, meta=doc.meta, conventions=conventions,
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


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest; returns int64 ``input_ids`` and ``attention_mask``."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def encoded_for(pipeline: TextPipeline, doc: Document) -> EncodedDocument:
    """Inputs for prediction: the document's own paragraphs (if any), no labels."""
    return pipeline.encode_document(Document(doc.id, doc.text, paragraphs=doc.paragraphs))
