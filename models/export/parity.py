"""ONNX ↔ PyTorch parity: the same windows through both, compared as logits and as labels.

Both sides go through the one decoding step (:func:`xdd.models.predict.decode.decode_document`
via :func:`xdd.models.predict.batching.decode_all`), so "labels agree" means
what users would see agrees: every word's IOB2 tag (read back from the decoded
entities) and every paragraph's yes/no for every topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xdd.models.text.align import spans_to_tags
from xdd.models.document import Document
from xdd.models.text.pipeline import EncodedDocument
from xdd.models.predict.batching import Scorer, WindowLogits, batched_window_logits, decode_all, encoded_for
from xdd.models.predict.torch_backend import TransformerPredictor


def parity_check(
    predictor: TransformerPredictor, scorers: dict[str, Scorer], docs: Sequence[Document]
) -> dict[str, Any]:
    """Compare each scorer in ``scorers`` (by name) with ``predictor``'s PyTorch forward pass on ``docs``.

    Returns counts of what was compared and, per scorer, the maximum absolute
    logit difference and the fraction of word tags and paragraph topic labels
    that agree.
    """
    encoded = [encoded_for(predictor.pipeline, doc) for doc in docs]
    windows = [w for enc in encoded for w in enc.windows]
    pad = predictor.pipeline.tokenizer.pad_token_id
    reference = batched_window_logits(windows, predictor.numpy_scores, pad, predictor.batch_size)
    expected = _decode(predictor, docs, encoded, reference)
    heads = (reference[0] is not None, predictor.scheme.topics if reference[1] is not None else ())
    checks = {}
    for name, scorer in scorers.items():
        logits = batched_window_logits(windows, scorer, pad, predictor.batch_size)
        checks[name] = {
            "max_abs_logit_diff": _max_difference(reference, logits),
            **_agreement(expected, _decode(predictor, docs, encoded, logits), encoded, heads),
        }
    return {
        "documents": len(docs),
        "windows": len(windows),
        "words": sum(len(words) for enc in encoded for words in enc.words),
        "paragraphs": sum(len(enc.paragraphs) for enc in encoded),
        "checks": checks,
    }


def _decode(
    predictor: TransformerPredictor, docs: Sequence[Document], encoded: list[EncodedDocument], logits: WindowLogits
) -> list[Document]:
    scored = decode_all(
        docs, encoded, logits, scheme=predictor.scheme, thresholds=predictor.thresholds, conventions=predictor.conventions
    )
    return [s.document for s in scored]


def _max_difference(a: WindowLogits, b: WindowLogits) -> float:
    """The largest absolute difference between two sets of window logits (0.0 when there are none)."""
    worst = 0.0
    for mine, theirs in zip(a, b):
        if (mine is None) != (theirs is None):
            raise ValueError("the two scorers return different heads (ner_logits / topic_logits)")
        for x, y in zip(mine or [], theirs or []):
            worst = max(worst, float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)))))
    return worst


def _agreement(
    expected: list[Document],
    actual: list[Document],
    encoded: list[EncodedDocument],
    heads: tuple[bool, Sequence[str]],
) -> dict[str, Any]:
    """Fractions of equal word tags and equal paragraph topic decisions (None when there is nothing to compare).

    ``heads``: whether the model tags words, and the topics it predicts.
    """
    with_tags, topics = heads
    tags_same = tags_total = topics_same = topics_total = 0
    for want, got, enc in zip(expected, actual, encoded):
        for (start, end), words in zip(enc.paragraphs, enc.words) if with_tags else ():
            want_tags = spans_to_tags(words, [e for e in want.entities if start <= e.start < end])
            got_tags = spans_to_tags(words, [e for e in got.entities if start <= e.start < end])
            tags_same += sum(a == b for a, b in zip(want_tags, got_tags))
            tags_total += len(words)
        for p, q in zip(want.paragraphs, got.paragraphs):
            topics_same += sum((t in p.topics) == (t in q.topics) for t in topics)
            topics_total += len(topics)
    return {
        "tag_agreement": tags_same / tags_total if tags_total else None,
        "topic_agreement": topics_same / topics_total if topics_total else None,
        "tags_compared": tags_total,
        "topic_labels_compared": topics_total,
    }
