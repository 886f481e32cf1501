"""Precision, recall and F1 from count tables, vectorised over bootstrap resamples.

Every P/R/F1 figure of the harness (NER and topics, point estimates and
bootstrap replicates) comes from this one function, so the point estimate and
its interval can never disagree on a definition.  A count table has the shape
``(..., n_labels, 3)``; the last axis holds ``(tp, predicted, support)``.  Any
leading axes (resamples) are carried through.

Conventions, chosen to match ``seqeval.metrics.classification_report`` with
``zero_division=0``:

* a ratio with a zero denominator is 0.0 (never NaN);
* F1 is ``2PR / (P + R)``, 0.0 when ``P + R = 0``;
* micro averages pool the counts over labels;
* macro and weighted averages run over the labels *present* (in gold or in
  predictions); a label absent from both is listed with zeros but does not
  drag the averages down.  Weighted uses gold support as weights.
"""

from __future__ import annotations

import numpy as np

TP, PREDICTED, SUPPORT = 0, 1, 2


def safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with 0.0 where the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.zeros(numerator.shape, dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def f1_score(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    return safe_divide(2 * precision * recall, precision + recall)


def prf(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Per-label, micro, macro and weighted P/R/F1 from ``counts[..., label, (tp, predicted, support)]``.

    Keys: ``per_label.{precision,recall,f1}`` (shape ``(..., n_labels)``) and
    ``{micro,macro,weighted}.{precision,recall,f1}`` (shape ``(...)``).
    """
    counts = np.asarray(counts, dtype=float)
    tp, predicted, support = counts[..., TP], counts[..., PREDICTED], counts[..., SUPPORT]
    per_label = {"precision": safe_divide(tp, predicted), "recall": safe_divide(tp, support)}
    per_label["f1"] = f1_score(per_label["precision"], per_label["recall"])

    micro = {
        "precision": safe_divide(tp.sum(-1), predicted.sum(-1)),
        "recall": safe_divide(tp.sum(-1), support.sum(-1)),
    }
    micro["f1"] = f1_score(micro["precision"], micro["recall"])

    present = ((predicted + support) > 0).astype(float)
    out: dict[str, np.ndarray] = {}
    for name in ("precision", "recall", "f1"):
        out[f"per_label.{name}"] = per_label[name]
        out[f"micro.{name}"] = micro[name]
        out[f"macro.{name}"] = safe_divide((per_label[name] * present).sum(-1), present.sum(-1))
        out[f"weighted.{name}"] = safe_divide((per_label[name] * support).sum(-1), support.sum(-1))
    return out
