"""Per-topic decision thresholds tuned on held-out paragraph scores, robustly on little data.

Multi-label heads output one probability per topic; a single 0.5 cut-off is
rarely right for rare topics.  For each topic, :func:`tune_threshold`:

1. takes the cut-off on :data:`GRID` that maximises the topic's F1 on the
   given scores (ties go to the cut-off closest to the prior);
2. shrinks it towards the prior (``prior``, 0.5 by default) by the number of
   positive paragraphs it rests on: ``t = (P * t_best + k * prior) / (P + k)``
   with ``P`` positives and ``k = prior_weight`` (a topic seen in 3
   paragraphs moves little from the prior, one seen in 30 mostly follows its
   F1 optimum; ``prior_weight: 0`` turns shrinking off);
3. never makes a topic that has positives unpredictable: the cut-off stays
   below the highest score of a positive paragraph (halfway between it and
   the next lower score when capped), so on the scores it was tuned on the
   topic is predicted at least once.  (When every positive
   scored 0, e.g. a topic absent from every model that scored it, there is
   nothing to go on and the prior is kept.)

A topic with no positive paragraph keeps the prior.  The scores are whatever
the caller trusts as held out: a dev split, or out-of-fold predictions pooled
over the training documents (``xdd.training.oof``).
"""

from __future__ import annotations

import logging

import numpy as np
from xdd.models.document import Document
from xdd.models.predict.decode import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)

GRID = np.round(np.arange(0.02, 0.981, 0.01), 2)
# Pseudo-count of positive paragraphs the prior is worth (see the module docstring).
DEFAULT_PRIOR_WEIGHT = 5.0


def tune_threshold(
    scores: np.ndarray,
    truth: np.ndarray,
    prior: float = DEFAULT_THRESHOLD,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> float:
    """One topic's threshold from paragraph ``scores`` and boolean ``truth`` (same length)."""
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    positives = int(truth.sum())
    if positives == 0:
        return float(prior)
    best = (-1.0, 0.0, prior)
    for cut in GRID:
        guess = scores >= cut
        f1 = 2 * float((guess & truth).sum()) / (guess.sum() + positives)
        best = max(best, (f1, -abs(cut - prior), float(cut)))
    chosen = round((positives * best[2] + prior_weight * prior) / (positives + prior_weight), 4)
    highest = float(scores[truth].max())
    if highest <= 0.0:
        return float(prior)
    if chosen < highest:
        return float(chosen)
    # Strictly below the highest positive score, halfway to the next score under it: a cut-off
    # sitting exactly on a score would flip with the last bit of float noise (ONNX vs PyTorch).
    below = scores[scores < highest]
    return float((highest + (below.max() if below.size else 0.0)) / 2)


def tune_thresholds(
    gold: list[Document],
    pred: list[Document],
    topics: tuple[str, ...],
    prior: float = DEFAULT_THRESHOLD,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> dict[str, float]:
    """Thresholds per topic from paragraph scores in ``pred`` against ``gold`` topics (see :func:`tune_threshold`)."""
    truth, scores = _paragraph_matrices(gold, pred, topics)
    thresholds = {}
    for j, topic in enumerate(topics):
        thresholds[topic] = tune_threshold(scores[:, j], truth[:, j], prior, prior_weight)
        if truth[:, j].any() and not (scores[truth[:, j], j] > 0).any():
            log.warning("topic %s: every positive paragraph scored 0; threshold left at the prior %s",
                        topic, prior)  # fmt: skip
    return thresholds


def _paragraph_matrices(
    gold: list[Document], pred: list[Document], topics: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean gold topics and predicted scores, one row per paragraph of ``gold`` (matched to ``pred`` by id)."""
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
