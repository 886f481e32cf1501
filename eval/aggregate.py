"""Cross-validation: per-fold figures, mean ± std over folds, and pooled metrics.

The result has the same keys as one run's metrics.json (the *pooled* metrics:
every fold's test predictions scored together, with document-bootstrap
intervals) plus a ``cv`` block with each fold's headline figures and their mean,
sample standard deviation, minimum and maximum.  ``write_report`` renders both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdd.eval.evaluate import evaluate, point_figures
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import EvaluationError

Fold = tuple[Sequence[Document], Sequence[Document]]


def aggregate_folds(folds: Sequence[Fold], *, scheme: LabelScheme, n_boot: int = 1000, seed: int = 0) -> dict:
    """One metrics dict for a cross-validation run from each fold's ``(gold, predictions)``.

    Every document must be in the test set of exactly one fold (the pooled
    figures score each document once); a repeated id is an error naming the
    folds.
    """
    if not folds:
        raise EvaluationError("cross-validation aggregation needs at least one fold")
    _check_disjoint(folds)
    per_fold = [point_figures(gold, pred, scheme) for gold, pred in folds]
    pooled_gold = [doc for gold, _ in folds for doc in gold]
    pooled_pred = [doc for _, pred in folds for doc in pred]
    metrics = evaluate(pooled_gold, pooled_pred, scheme=scheme, n_boot=n_boot, seed=seed)
    metrics["cv"] = {
        "n_folds": len(folds),
        "folds": [
            {"fold": i, "n_documents": len(gold), "figures": figures}
            for i, ((gold, _), figures) in enumerate(zip(folds, per_fold))
        ],
        "summary": {name: _spread([f[name] for f in per_fold]) for name in per_fold[0]},
    }
    return metrics


def _spread(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0.0 for a single fold), minimum and maximum."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "min": float(array.min()), "max": float(array.max())}


def _check_disjoint(folds: Sequence[Fold]) -> None:
    seen: dict[str, int] = {}
    for i, (gold, _) in enumerate(folds):
        for doc in gold:
            if doc.id in seen:
                raise EvaluationError(
                    f"document id {doc.id!r} is in the test set of folds {seen[doc.id]} and {i}; "
                    "pooled cross-validation metrics need each document in exactly one fold"
                )
            seen[doc.id] = i
