"""Cross-validation aggregation: per-fold figures, mean ± std, pooled metrics with intervals."""

from __future__ import annotations

import math

import pytest
from xdd.eval.aggregate import aggregate_folds
from xdd.eval.corpus_io import load_gold
from xdd.eval.evaluate import evaluate
from xdd.models.document.corpus import read_documents
from xdd.models.errors import EvaluationError


@pytest.fixture(scope="module")
def fixture_folds():
    """Two folds of one document each: the hand-crafted pair of test_evaluate.py."""
    gold, scheme = load_gold("tests/fixtures/eval/gold.jsonl")
    pred = {p.id: p for p in read_documents("tests/fixtures/eval/predictions.jsonl")}
    return [([g], [pred[g.id]]) for g in gold], scheme


def test_pooled_metrics_are_the_evaluation_of_all_folds_predictions_together(fixture_folds):
    folds, scheme = fixture_folds
    metrics = aggregate_folds(folds, scheme=scheme, n_boot=200, seed=1)
    pooled = evaluate([d for g, _ in folds for d in g], [d for _, p in folds for d in p], scheme=scheme, n_boot=200, seed=1)
    assert {k: v for k, v in metrics.items() if k != "cv"} == pooled


def test_fold_summary_gives_hand_computed_mean_and_sample_std(fixture_folds):
    folds, scheme = fixture_folds
    cv = aggregate_folds(folds, scheme=scheme, n_boot=20)["cv"]
    assert cv["n_folds"] == 2
    # NER micro F1: fold 0 (document a) 1/3, fold 1 (document b) 2/5 (see test_evaluate.py).
    assert [f["figures"]["ner.micro.f1"] for f in cv["folds"]] == pytest.approx([1 / 3, 2 / 5])
    spread = cv["summary"]["ner.micro.f1"]
    assert spread["mean"] == pytest.approx(11 / 30)
    assert spread["std"] == pytest.approx((2 / 5 - 1 / 3) / math.sqrt(2))  # ddof=1 with two values
    assert (spread["min"], spread["max"]) == pytest.approx((1 / 3, 2 / 5))
    # Paragraph subset accuracy: 1/2 and 0.
    assert cv["summary"]["topics.paragraph.subset_accuracy.value"]["mean"] == pytest.approx(1 / 4)


def test_a_single_fold_has_zero_spread(fixture_folds):
    folds, scheme = fixture_folds
    summary = aggregate_folds(folds[:1], scheme=scheme, n_boot=20)["cv"]["summary"]
    assert summary["ner.micro.f1"]["std"] == 0.0


def test_a_document_in_two_test_folds_is_an_error_naming_it_and_the_folds(fixture_folds):
    folds, scheme = fixture_folds
    with pytest.raises(EvaluationError, match=r"document id 'a_cao-loc' is in the test set of folds 0 and 1"):
        aggregate_folds([folds[0], folds[0]], scheme=scheme, n_boot=20)


def test_aggregation_needs_at_least_one_fold(fixture_folds):
    _, scheme = fixture_folds
    with pytest.raises(EvaluationError, match="needs at least one fold"):
        aggregate_folds([], scheme=scheme)
