"""Document bootstrap: resampling, percentile intervals, count-based replicates and paired differences."""

from __future__ import annotations

import numpy as np
import pytest
from eval_samples import (  # tests/eval_samples.py
    LABELS,
    random_pairs,
    without_token_overlaps,
)
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2
from xdd.eval.bootstrap import (
    paired_differences,
    percentile_interval,
    resample_weights,
    resampled_sums,
    totals,
)
from xdd.eval.counts import prf
from xdd.eval.ner_metrics import count_table, iob2_tags


def test_resample_weights_draw_each_resample_as_many_documents_as_the_corpus_has():
    weights = resample_weights(7, 500, seed=1)
    assert weights.shape == (500, 7)
    assert (weights.sum(axis=1) == 7).all()
    assert weights.min() >= 0


def test_resample_weights_are_reproducible_for_a_seed_and_differ_between_seeds():
    np.testing.assert_array_equal(resample_weights(5, 50, seed=3), resample_weights(5, 50, seed=3))
    assert not np.array_equal(resample_weights(5, 50, seed=3), resample_weights(5, 50, seed=4))


def test_resample_weights_reject_an_empty_corpus():
    with pytest.raises(ValueError, match="at least one document"):
        resample_weights(0, 10, seed=0)


def test_percentile_interval_is_the_2_5th_and_97_5th_percentile_as_plain_floats():
    low, high = percentile_interval(np.arange(1001, dtype=float))
    assert (low, high) == (25.0, 975.0)
    assert type(low) is float
    assert percentile_interval(np.full(10, 0.4)) == [0.4, 0.4]


def test_count_based_replicates_equal_seqeval_rerun_on_the_resampled_documents():
    pairs = without_token_overlaps(random_pairs(seed=11, n_docs=8))
    weights = resample_weights(len(pairs), 20, seed=5)
    replicated = prf(resampled_sums({"ner": count_table(pairs, LABELS)}, weights)["ner"])["micro.f1"]
    for b in range(len(weights)):
        chosen = [pair for i, pair in enumerate(pairs) for _ in range(weights[b, i])]
        y_true = [iob2_tags(g, g.entities) for g, _ in chosen]
        y_pred = [iob2_tags(p, p.entities) for _, p in chosen]
        assert replicated[b] == pytest.approx(f1_score(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0))


def _micro_f1(sums):
    return {"micro.f1": prf(sums["ner"])["micro.f1"]}


def test_paired_difference_of_a_run_with_itself_is_exactly_zero():
    table = {"ner": count_table(random_pairs(seed=2), LABELS)}
    result = paired_differences(table, table, _micro_f1, resample_weights(6, 200, seed=0))
    assert result["micro.f1"]["difference"] == 0.0
    assert result["micro.f1"]["ci95"] == [0.0, 0.0]


def test_paired_interval_excludes_zero_when_b_is_better_on_every_document():
    # A gets 1 of 2 entities right in every other document, B gets every entity right.
    a = np.array([[[1 + i % 2, 2, 2]] for i in range(10)])
    b = np.array([[[2, 2, 2]] for _ in range(10)])
    result = paired_differences({"ner": a}, {"ner": b}, _micro_f1, resample_weights(10, 500, seed=0))
    assert result["micro.f1"]["difference"] > 0
    assert result["micro.f1"]["ci95"][0] > 0


def test_totals_sum_each_table_over_documents():
    table = np.arange(12).reshape(3, 2, 2)
    np.testing.assert_array_equal(totals({"t": table})["t"], table.sum(axis=0))
