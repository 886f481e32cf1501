"""The one step that turns model scores into spans and topic labels.

Shared by training-time evaluation, batch inference (torch and ONNX) and the
ONNX parity check, so that every path reads scores the same way:

- NER: each word takes the logits of its first sub-word in the window that
  owns it; softmax; the arg-max IOB2 tag; entities from the tags on the
  original text, scored by the mean probability of their words.
- Topics: sigmoid of each window's topic logits, averaged over the windows of
  a paragraph (training labels every window with its paragraph's topics); a
  topic is predicted when its probability reaches the topic's threshold.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from models.document import Document, Paragraph
from models.labels import LabelScheme
from models.text_pipeline import EncodedDocument, TextPipeline, merge_window_logits


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def decode_document(
    doc_id: str,
    text: str,
    encoded: EncodedDocument,
    ner_logits: Sequence[np.ndarray] | None,
    topic_logits: Sequence[np.ndarray] | None,
    *,
    pipeline: TextPipeline,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    meta: dict[str, Any] | None = None,
) -> Document:
    """A predicted :class:`Document` from per-window logits (one array per window of ``encoded``)."""
    tags = scheme.bio_tags()
    doc = Document(id=doc_id, text=text, meta=dict(meta or {}))
    window_ids: dict[int, list[int]] = {}
    for k, window in enumerate(encoded.windows):
        window_ids.setdefault(window.paragraph, []).append(k)
    for p, (start, end) in enumerate(encoded.paragraphs):
        ks = window_ids.get(p, [])
        words = encoded.words[p]
        if ner_logits is not None and words:
            word_logits = merge_window_logits([encoded.windows[k] for k in ks], [ner_logits[k] for k in ks], len(words))
            probs = softmax(word_logits.astype(np.float64))
            best = probs.argmax(axis=-1)
            word_tags = [tags[i] for i in best]
            doc.entities.extend(pipeline.decode_entities(text, words, word_tags, probs.max(axis=-1).tolist()))
        window_topics = [topic_logits[k] for k in ks] if topic_logits is not None else []
        doc.paragraphs.append(_paragraph(start, end, window_topics, scheme, thresholds))
    return doc


def _paragraph(
    start: int, end: int, logits: list[np.ndarray], scheme: LabelScheme, thresholds: dict[str, float]
) -> Paragraph:
    if not scheme.topics:
        return Paragraph(start, end, [])
    if not logits:
        return Paragraph(start, end, [], {t: 0.0 for t in scheme.topics})
    probs = sigmoid(np.stack([np.asarray(x, dtype=np.float64) for x in logits])).mean(axis=0)
    scores = {t: float(probs[j]) for j, t in enumerate(scheme.topics)}
    labels = [t for t in scheme.topics if scores[t] >= thresholds.get(t, 0.5)]
    return Paragraph(start, end, labels, scores)
