"""Per-round figures: ratios and shares taken in each round, then median [min-max]."""

from __future__ import annotations

import pytest
from xdd.bench.figures import per_round, row_figures, spread, versus
from xdd.bench.runner import rotated


def test_a_spread_is_the_median_with_the_smallest_and_largest_round():
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "rounds": [3.0, 1.0, 2.0]}
    assert spread([4.0, 1.0])["median"] == 2.5  # an even count: the mean of the middle two


def test_a_spread_of_no_rounds_is_refused():
    with pytest.raises(ValueError, match="at least one round"):
        spread([])


def test_ratios_are_taken_within_each_round_not_between_medians():
    ours = [{"seconds": s} for s in (10.0, 11.0, 12.0)]
    peer = [{"seconds": s, "task_seconds": {"ner": s / 2, "topics": s / 2}} for s in (30.0, 36.0, 30.0)]
    both = versus(ours, peer)["both"]
    assert both["rounds"] == pytest.approx([3.0, 36 / 11, 2.5])
    assert (both["median"], both["min"], both["max"]) == pytest.approx((3.0, 2.5, 36 / 11))
    assert 30.0 / 11.0 != both["median"]  # the ratio of the medians would say 2.73
    assert versus(ours, peer)["ner"]["rounds"] == pytest.approx([1.5, 18 / 11, 1.25])


def test_rounds_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="rounds differ: 2 against 3"):
        per_round([1.0, 2.0], [1.0, 2.0, 3.0])


def test_the_share_of_the_limit_uses_the_same_rounds_limit():
    rounds = [{"seconds": 2.0, "peak_rss_mb": 100.0}, {"seconds": 4.0, "peak_rss_mb": 120.0}]
    figures = row_figures(rounds, documents=6, tokens=60, flops=400 * 10**9, limits=[400.0, 50.0])
    assert figures["achieved_gflops"]["rounds"] == [200.0, 100.0]
    assert figures["fraction_of_limit"]["rounds"] == [0.5, 2.0]  # 200 / 400 in round 1, 100 / 50 in round 2
    assert (figures["seconds"], figures["docs_per_s"], figures["tokens_per_s"]) == (3.0, 2.0, 20.0)
    assert figures["peak_rss_mb"] == 120.0 and figures["rounds"] == rounds


def test_each_round_starts_one_row_later():
    names = ["limit", "a", "b"]
    assert [rotated(names, k) for k in range(4)] == [names, ["a", "b", "limit"], ["b", "limit", "a"], names]
