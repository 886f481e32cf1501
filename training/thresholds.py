"""Per-topic decision thresholds tuned on dev paragraphs.

Multi-label heads output one probability per topic; a single 0.5 cut-off is
rarely right for rare topics.  For each topic we pick the threshold that
maximises that topic's F1 on dev; a topic with no positive dev paragraph keeps
0.5 (there is nothing to tune on).  Ties go to the threshold closest to 0.5.
"""

from __future__ import annotations

import numpy as np

from models.document import Document

DEFAULT_THRESHOLD = 0.5
GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def tune_thresholds(gold: list[Document], pred: list[Document], topics: tuple[str, ...]) -> dict[str, float]:
    """Thresholds per topic from paragraph scores in ``pred`` against ``gold`` topics."""
    truth, scores = _paragraph_matrices(gold, pred, topics)
    thresholds: dict[str, float] = {}
    for j, topic in enumerate(topics):
        positives = truth[:, j].sum()
        if positives == 0:
            thresholds[topic] = DEFAULT_THRESHOLD
            continue
        best = (-1.0, 0.0, DEFAULT_THRESHOLD)
        for cut in GRID:
            guess = scores[:, j] >= cut
            tp = float((guess & truth[:, j]).sum())
            f1 = 2 * tp / (guess.sum() + positives)
            key = (f1, -abs(cut - DEFAULT_THRESHOLD), float(cut))
            best = max(best, key)
        thresholds[topic] = best[2]
    return thresholds


def _paragraph_matrices(
    gold: list[Document], pred: list[Document], topics: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    by_id = {doc.id: doc for doc in pred}
    truth_rows: list[list[bool]] = []
    score_rows: list[list[float]] = []
    for doc in gold:
        predicted = by_id[doc.id]
        for g, p in zip(doc.paragraphs, predicted.paragraphs, strict=True):
            scores = p.scores or {}
            truth_rows.append([t in g.topics for t in topics])
            score_rows.append([scores.get(t, 0.0) for t in topics])
    shape = (len(truth_rows), len(topics))
    truth = np.array(truth_rows, dtype=bool).reshape(shape)
    return truth, np.array(score_rows, dtype=float).reshape(shape)
