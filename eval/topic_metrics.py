"""Multi-label topic scoring at paragraph and document level.

Gold and predicted paragraphs are paired by position (``evaluate.pair_documents``
has already checked that their ``(start, end)`` agree).  A document's topics
are the union of its paragraphs' topics (the annotation scheme's rule); its
topic score is the maximum of its paragraphs' scores.

Per-document count tables feed the bootstrap:

* ``labels``: ``[doc, topic, (tp, predicted, support)]``, summed over the
  document's paragraphs (paragraph level) or over the one document row;
* ``rows``: ``[doc, (rows, exact_rows, wrong_cells)]`` for subset accuracy
  (``exact_rows / rows``) and Hamming loss (``wrong_cells / (rows * n_topics)``).

Average precision (scikit-learn) needs a score for every topic of every
predicted paragraph; without them it is ``None`` (null in JSON) and the report
says so.  It is also ``None`` for a topic with no gold positive, where it is
undefined.  It is a point figure only (no bootstrap interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score
from xdd.eval.counts import safe_divide
from xdd.models.document import Document

LEVELS = ("paragraph", "document")


@dataclass(frozen=True)
class Matrices:
    """Binary gold/predicted topic matrices of one level, one row per paragraph or document."""

    gold: np.ndarray
    pred: np.ndarray
    scores: np.ndarray | None
    doc_rows: list[np.ndarray]  # for each document, the row indices that belong to it


@dataclass(frozen=True)
class ParagraphError:
    """A paragraph whose predicted topic set differs from the gold one."""

    doc_id: str
    start: int
    end: int
    gold: tuple[str, ...]
    pred: tuple[str, ...]
    scores: dict[str, float] | None


def scores_available(pairs: Sequence[tuple[Document, Document]], topics: Sequence[str]) -> bool:
    """True when every predicted paragraph has a score for every topic."""
    return all(
        p.scores is not None and all(t in p.scores for t in topics) for _, pred in pairs for p in pred.paragraphs
    )


def _indicator(labels: Sequence[str], topics: Sequence[str]) -> np.ndarray:
    return np.array([t in labels for t in topics], dtype=bool)


def paragraph_matrices(pairs: Sequence[tuple[Document, Document]], topics: Sequence[str]) -> Matrices:
    """One row per paragraph of the corpus, in document order."""
    with_scores = scores_available(pairs, topics)
    gold_rows, pred_rows, score_rows, doc_rows = [], [], [], []
    for gold, pred in pairs:
        first = len(gold_rows)
        for g, p in zip(gold.paragraphs, pred.paragraphs):
            gold_rows.append(_indicator(g.topics, topics))
            pred_rows.append(_indicator(p.topics, topics))
            if with_scores:
                score_rows.append([float(p.scores[t]) for t in topics])  # type: ignore[index]
        doc_rows.append(np.arange(first, len(gold_rows)))
    return Matrices(
        gold=np.array(gold_rows, dtype=bool).reshape(len(gold_rows), len(topics)),
        pred=np.array(pred_rows, dtype=bool).reshape(len(pred_rows), len(topics)),
        scores=np.array(score_rows, dtype=float).reshape(len(score_rows), len(topics)) if with_scores else None,
        doc_rows=doc_rows,
    )


def document_matrices(paragraphs: Matrices) -> Matrices:
    """Collapse paragraph rows to one row per document: union of topics, maximum score."""
    n_docs, n_topics = len(paragraphs.doc_rows), paragraphs.gold.shape[1]
    gold = np.array([paragraphs.gold[rows].any(0) for rows in paragraphs.doc_rows], dtype=bool)
    pred = np.array([paragraphs.pred[rows].any(0) for rows in paragraphs.doc_rows], dtype=bool)
    scores = None
    if paragraphs.scores is not None:
        scores = np.array(
            [paragraphs.scores[rows].max(0) if len(rows) else np.zeros(n_topics) for rows in paragraphs.doc_rows]
        ).reshape(n_docs, n_topics)
    doc_rows = [np.array([i]) for i in range(n_docs)]
    return Matrices(gold.reshape(n_docs, n_topics), pred.reshape(n_docs, n_topics), scores, doc_rows)


def count_tables(matrices: Matrices) -> tuple[np.ndarray, np.ndarray]:
    """Per-document ``labels`` ``[doc, topic, (tp, predicted, support)]`` and ``rows`` ``[doc, 3]`` tables."""
    n_docs, n_topics = len(matrices.doc_rows), matrices.gold.shape[1]
    labels = np.zeros((n_docs, n_topics, 3), dtype=np.int64)
    rows = np.zeros((n_docs, 3), dtype=np.int64)
    for doc, index in enumerate(matrices.doc_rows):
        gold, pred = matrices.gold[index], matrices.pred[index]
        labels[doc, :, 0] = (gold & pred).sum(0)
        labels[doc, :, 1] = pred.sum(0)
        labels[doc, :, 2] = gold.sum(0)
        rows[doc] = (len(index), (gold == pred).all(1).sum(), (gold != pred).sum())
    return labels, rows


def row_figures(rows: np.ndarray, n_topics: int) -> dict[str, np.ndarray]:
    """Subset accuracy and Hamming loss from summed ``rows`` counts ``[..., (rows, exact_rows, wrong_cells)]``."""
    return {
        "subset_accuracy.value": safe_divide(rows[..., 1], rows[..., 0]),
        "hamming_loss.value": safe_divide(rows[..., 2], rows[..., 0] * n_topics),
    }


def average_precisions(matrices: Matrices) -> list[float | None]:
    """Average precision per topic; ``None`` without scores or without a gold positive."""
    if matrices.scores is None:
        return [None] * matrices.gold.shape[1]
    gold, scores = matrices.gold, matrices.scores
    return [
        float(average_precision_score(gold[:, k], scores[:, k])) if gold[:, k].any() else None
        for k in range(gold.shape[1])
    ]


def paragraph_errors(pairs: Sequence[tuple[Document, Document]], topics: Sequence[str]) -> list[ParagraphError]:
    """Every paragraph whose predicted topic set differs from the gold one, in document order."""
    out = []
    for gold, pred in pairs:
        for g, p in zip(gold.paragraphs, pred.paragraphs):
            if set(g.topics) != set(p.topics):
                out.append(
                    ParagraphError(
                        gold.id, g.start, g.end, _ordered(g.topics, topics), _ordered(p.topics, topics), p.scores
                    )
                )
    return out


def _ordered(labels: Sequence[str], topics: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for t in topics if t in labels)
