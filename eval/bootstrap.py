"""Document-level bootstrap: percentile intervals and paired differences.

Documents, not tokens or paragraphs, are the resampling unit: errors within an
article are correlated (one author, one topic), so resampling smaller units
would give intervals that are too narrow.

Nothing is re-scored per resample.  Each metric family provides a per-document
count table (axis 0 = documents); a resample is a vector of how many times each
document was drawn, so the resampled sums of every table are one matrix
product, and the figures are recomputed from the sums by the same vectorised
function that gives the point estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

Tables = Mapping[str, np.ndarray]
Figures = Callable[[Tables], Mapping[str, np.ndarray]]

PERCENTILES = (2.5, 97.5)


def resample_weights(n_docs: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n_docs)`` draw counts: row ``b`` says how often each document is in resample ``b``.

    Each resample draws ``n_docs`` documents with replacement from a
    ``numpy.random.default_rng(seed)`` generator, so the same seed and corpus
    size always give the same resamples (which also makes two runs'
    intervals paired when they share the seed).
    """
    if n_docs < 1 or n_boot < 1:
        raise ValueError(f"bootstrap needs at least one document and one resample (got {n_docs}, {n_boot})")
    draws = np.random.default_rng(seed).integers(0, n_docs, size=(n_boot, n_docs))
    weights = np.zeros((n_boot, n_docs), dtype=np.int64)
    np.add.at(weights, (np.arange(n_boot)[:, None], draws), 1)
    return weights


def resampled_sums(tables: Tables, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each table summed over documents with each resample's weights: shape ``(n_boot, ...)``."""
    return {name: np.tensordot(weights, table, axes=(1, 0)) for name, table in tables.items()}


def totals(tables: Tables) -> dict[str, np.ndarray]:
    """Each table summed over all documents once (the point estimate's counts)."""
    return {name: table.sum(axis=0) for name, table in tables.items()}


def percentile_interval(values: np.ndarray) -> list[float]:
    """The 95% percentile interval ``[low, high]`` of bootstrap replicates, as plain floats."""
    low, high = np.percentile(values, PERCENTILES)
    return [float(low), float(high)]


def intervals(tables: Tables, figures: Figures, weights: np.ndarray) -> dict[str, list[float]]:
    """A 95% interval for every figure that ``figures`` computes from summed tables."""
    replicates = figures(resampled_sums(tables, weights))
    return {name: percentile_interval(values) for name, values in replicates.items()}


def paired_differences(
    tables_a: Tables, tables_b: Tables, figures: Figures, weights: np.ndarray
) -> dict[str, dict[str, float | list[float]]]:
    """Per figure: A, B, the difference B - A and its paired 95% interval.

    Both runs must have their tables rows in the same document order; each
    resample then draws the same documents for both, so the interval reflects
    only how the two systems differ on the same documents.
    """
    point_a, point_b = figures(totals(tables_a)), figures(totals(tables_b))
    reps_a, reps_b = figures(resampled_sums(tables_a, weights)), figures(resampled_sums(tables_b, weights))
    return {
        name: {
            "a": float(point_a[name]),
            "b": float(point_b[name]),
            "difference": float(point_b[name] - point_a[name]),
            "ci95": percentile_interval(reps_b[name] - reps_a[name]),
        }
        for name in point_a
    }
