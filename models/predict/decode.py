"""The one step that turns model scores into spans and topic labels, for every model kind.

Transformers (PyTorch and ONNX) and the baselines each produce, per
paragraph, the IOB2 tag of every word with its probability and the
probability of every topic; :func:`assemble_document` turns those into a
predicted :class:`Document`.  So entity spans, entity scores and the topic
decision (probability >= the topic's threshold, :data:`DEFAULT_THRESHOLD`
when a topic has none) are computed one way everywhere: training-time
evaluation, batch inference, the ONNX parity check.

For transformers, :func:`decode_document` first reads the window logits:

- NER: each word takes the logits of its first sub-word in the window that
  owns it; softmax; the arg-max IOB2 tag, scored by its probability.
- Topics: sigmoid of each window's topic logits, averaged over the windows of
  a paragraph (training labels every window with its paragraph's topics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.labels import LabelScheme
from xdd.models.predict.conventions import apply_conventions
from xdd.models.text.align import Word, merge_window_logits, tag_chunks
from xdd.models.text.pipeline import EncodedDocument

DEFAULT_THRESHOLD = 0.5  # a topic's cut-off when training tuned none for it


@dataclass
class ParagraphScores:
    """What a model says about one paragraph, before decoding.

    ``tags``/``tag_scores``: the IOB2 tag of each word and its probability
    (None for a model without an NER head); ``topic_probs``: one probability
    per topic of the scheme, in order (None without a topic head; a
    paragraph with no words has all-zero topic probabilities).
    """

    start: int
    end: int
    words: Sequence[Word]
    tags: Sequence[str] | None = None
    tag_scores: Sequence[float] | None = None
    topic_probs: Sequence[float] | None = None


@dataclass
class ScoredDocument:
    """A predicted document with the scores it was decoded from (for uncertainty, e.g. ``xdd suggest``)."""

    document: Document
    paragraphs: list[ParagraphScores]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def assemble_document(
    doc_id: str,
    text: str,
    paragraphs: Sequence[ParagraphScores],
    *,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    meta: dict[str, Any] | None = None,
    conventions: bool = False,
) -> Document:
    """The predicted :class:`Document`: entities from the word tags, topics from the probabilities.

    ``conventions`` (a model setting, saved in its bundle) then moves entity
    edges to the scheme's boundary conventions (:mod:`xdd.models.predict.conventions`).
    """
    doc = Document(id=doc_id, text=text, meta=dict(meta or {}))
    for scored in paragraphs:
        if scored.tags is not None:
            doc.entities.extend(entities_from_tags(text, scored.words, scored.tags, scored.tag_scores))
        doc.paragraphs.append(topic_decision(scored, scheme, thresholds))
    return apply_conventions(doc) if conventions and doc.entities else doc


def entities_from_tags(
    text: str, words: Sequence[Word], tags: Sequence[str], scores: Sequence[float] | None = None
) -> list[Entity]:
    """Entities on the original text from the IOB2 tags of one paragraph's words.

    An ``I-X`` that does not continue an ``X`` entity starts a new one.
    ``score`` is the mean of the words' scores when ``scores`` are given.
    """
    if len(tags) != len(words) or (scores is not None and len(scores) != len(words)):
        raise ValueError(f"{len(words)} words but {len(tags)} tags / {len(scores or [])} scores")
    entities = []
    for first, last, label in tag_chunks(tags):
        start, end = words[first].start, words[last - 1].end
        score = None if scores is None else float(sum(scores[first:last]) / (last - first))
        entities.append(Entity(start, end, label, text[start:end], score))
    return entities


def topic_decision(scored: ParagraphScores, scheme: LabelScheme, thresholds: dict[str, float]) -> Paragraph:
    """The paragraph with every topic whose probability reaches its threshold."""
    if not scheme.topics:
        return Paragraph(scored.start, scored.end, [])
    probs = scored.topic_probs if scored.topic_probs is not None else [0.0] * len(scheme.topics)
    scores = {topic: float(p) for topic, p in zip(scheme.topics, probs, strict=True)}
    labels = [t for t in scheme.topics if scores[t] >= thresholds.get(t, DEFAULT_THRESHOLD)]
    return Paragraph(scored.start, scored.end, labels, scores)


def decode_document(
    doc_id: str,
    text: str,
    encoded: EncodedDocument,
    ner_logits: Sequence[np.ndarray] | None,
    topic_logits: Sequence[np.ndarray] | None,
    *,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    meta: dict[str, Any] | None = None,
    conventions: bool = False,
) -> ScoredDocument:
    """A predicted :class:`Document` (and its scores) from per-window logits, one array per window of ``encoded``."""
    paragraphs = paragraph_scores(encoded, ner_logits, topic_logits, scheme)
    document = assemble_document(
        doc_id, text, paragraphs, scheme=scheme, thresholds=thresholds, meta=meta, conventions=conventions
    )
    return ScoredDocument(document, paragraphs)


def paragraph_scores(
    encoded: EncodedDocument,
    ner_logits: Sequence[np.ndarray] | None,
    topic_logits: Sequence[np.ndarray] | None,
    scheme: LabelScheme,
) -> list[ParagraphScores]:
    """Word tags with their probabilities and topic probabilities per paragraph, from the window logits."""
    window_ids: dict[int, list[int]] = {}
    for k, window in enumerate(encoded.windows):
        window_ids.setdefault(window.paragraph, []).append(k)
    paragraphs = []
    for p, (start, end) in enumerate(encoded.paragraphs):
        ks = window_ids.get(p, [])
        scored = ParagraphScores(start, end, encoded.words[p])
        if ner_logits is not None:
            scored.tags, scored.tag_scores = _word_tags(encoded, ks, ner_logits, p, scheme)
        if topic_logits is not None and ks:
            scored.topic_probs = sigmoid(np.stack([np.asarray(topic_logits[k], dtype=np.float64) for k in ks])).mean(0)
        paragraphs.append(scored)
    return paragraphs


def _word_tags(
    encoded: EncodedDocument, ks: list[int], ner_logits: Sequence[np.ndarray], p: int, scheme: LabelScheme
) -> tuple[list[str], list[float]]:
    """Arg-max tag and its probability for each word of paragraph ``p``, from the windows that own them."""
    words = encoded.words[p]
    if not words:
        return [], []
    word_logits = merge_window_logits([encoded.windows[k] for k in ks], [ner_logits[k] for k in ks], len(words))
    probs = softmax(word_logits.astype(np.float64))
    tags = scheme.bio_tags()
    return [tags[i] for i in probs.argmax(axis=-1)], probs.max(axis=-1).tolist()
