"""P/R/F1 from count tables: zero-division conventions and vectorisation over resamples."""

from __future__ import annotations

import numpy as np
import pytest
from xdd.eval.counts import prf, safe_divide


def test_safe_divide_gives_zero_for_a_zero_denominator_and_never_nan():
    np.testing.assert_array_equal(safe_divide(np.array([1, 0, 3]), np.array([2, 0, 0])), [0.5, 0.0, 0.0])


def test_prf_of_a_label_with_predictions_but_no_gold_is_all_zero():
    figures = prf(np.array([[0, 3, 0]]))
    assert [figures[f"per_label.{n}"][0] for n in ("precision", "recall", "f1")] == [0.0, 0.0, 0.0]


def test_macro_average_skips_labels_absent_from_gold_and_predictions():
    # label 0: tp 1 of 1 predicted, 2 gold -> P 1, R 1/2, F 2/3; label 1 absent from both.
    figures = prf(np.array([[1, 1, 2], [0, 0, 0]]))
    assert figures["macro.f1"] == pytest.approx(2 / 3)
    assert figures["weighted.recall"] == pytest.approx(1 / 2)


def test_weighted_average_is_zero_when_there_is_no_gold_at_all():
    figures = prf(np.array([[0, 2, 0]]))
    assert (figures["weighted.precision"], figures["weighted.f1"]) == (0.0, 0.0)


def test_prf_carries_leading_resample_axes_through():
    one = np.array([[1, 2, 2], [0, 1, 1]])
    batch = np.stack([one, one * 2, np.zeros_like(one)])
    figures = prf(batch)
    assert figures["micro.f1"].shape == (3,)
    assert figures["per_label.f1"].shape == (3, 2)
    assert figures["micro.f1"][0] == figures["micro.f1"][1] == pytest.approx(prf(one)["micro.f1"])
    assert figures["micro.f1"][2] == 0.0
