"""Figures from interleaved rounds: per-round ratios and shares, reported as median [min-max].

Every row runs once per round, all rows of a round back to back (see
:class:`xdd.bench.runner.RowRunner`), so another job on a shared machine slows
the rows of the same round alike.  A ratio is therefore taken within each
round first (this round's peer time over this round's time of ours; this
round's achieved GFLOP/s over this round's matmul limit) and only then
summarised over the rounds: its median, with the smallest and largest round
beside it so that a figure that wobbles shows it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

TASKS = ("ner", "topics")


def spread(values: Sequence[float]) -> dict[str, Any]:
    """``{"median", "min", "max", "rounds"}`` of per-round values (the rounds kept, in order)."""
    if not values:
        raise ValueError("a spread needs at least one round")
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "rounds": list(values)}


def per_round(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """``numerators[k] / denominators[k]`` for every round ``k`` (both lists cover the same rounds)."""
    if len(numerators) != len(denominators):
        raise ValueError(f"rounds differ: {len(numerators)} against {len(denominators)}")
    return [a / b for a, b in zip(numerators, denominators)]


def seconds_of(rounds: Sequence[dict[str, Any]], task: str | None = None) -> list[float]:
    """Each round's seconds: both tasks, or one task of a peer that times its tasks apart."""
    return [r["seconds"] if task is None else r["task_seconds"][task] for r in rounds]


def row_figures(rounds: Sequence[dict[str, Any]], documents: int, tokens: int, flops: int,
                limits: Sequence[float]) -> dict[str, Any]:  # fmt: skip
    """Speed, achieved GFLOP/s and share of the SAME round's matmul limit of a row measured in ``rounds``.

    docs/s and tokens/s come from the median round's seconds; FLOPs count
    real tokens only (:mod:`xdd.bench.flops`).
    """
    seconds = seconds_of(rounds)
    achieved = [flops / s / 1e9 for s in seconds]
    median = statistics.median(seconds)
    return {
        "seconds": median,
        "docs_per_s": documents / median,
        "tokens_per_s": tokens / median,
        "gflop": flops / 1e9,
        "achieved_gflops": spread(achieved),
        "fraction_of_limit": spread(per_round(achieved, limits)),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
        "rounds": list(rounds),
    }


def versus(ours: Sequence[dict[str, Any]], peer: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """How many times faster ours is than ``peer``, per round: both tasks, and each task of the peer alone.

    Our one pass serves both tasks, so "ner" compares it with the peer doing
    NER only (and "topics" with the peer doing topics only).
    """
    mine = seconds_of(ours)
    ratios = {"both": spread(per_round(seconds_of(peer), mine))}
    ratios.update({task: spread(per_round(seconds_of(peer, task), mine)) for task in TASKS})
    return ratios
