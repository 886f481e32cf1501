"""Per-topic threshold tuning on synthetic scores: F1 optimum, shrinking towards the prior, never unpredictable."""

from __future__ import annotations

import numpy as np
import pytest
from xdd.models.document import Document, Paragraph
from xdd.models.errors import ConfigError
from xdd.training.config import load_config
from xdd.training.thresholds import GRID, tune_threshold, tune_thresholds


def separable(n_pos: int, n_neg: int, pos: float = 0.8, neg: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    scores = np.array([pos] * n_pos + [neg] * n_neg)
    truth = np.array([True] * n_pos + [False] * n_neg)
    return scores, truth


def f1_at(cut: float, scores: np.ndarray, truth: np.ndarray) -> float:
    guess = scores >= cut
    return 2 * float((guess & truth).sum()) / (guess.sum() + truth.sum())


def test_without_shrinking_the_threshold_maximises_f1_and_ties_go_to_the_prior():
    scores, truth = separable(10, 30, pos=0.9, neg=0.1)
    cut = tune_threshold(scores, truth, prior=0.5, prior_weight=0)
    assert f1_at(cut, scores, truth) == 1.0 and cut == 0.5  # every cut in (0.1, 0.9] is perfect: the prior wins


def test_the_f1_optimum_is_found_when_it_is_far_from_the_prior():
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.2
    scores = np.where(truth, rng.uniform(0.10, 0.30, 400), rng.uniform(0.0, 0.12, 400))
    cut = tune_threshold(scores, truth, prior_weight=0)
    best = max(f1_at(c, scores, truth) for c in GRID)
    assert f1_at(cut, scores, truth) == best and cut < 0.15


def test_few_positives_shrink_the_threshold_towards_the_prior_many_barely_move_it():
    # F1 is 1 for every cut in (0.6, 0.8]; ties go to the prior's side: 0.61.
    scores, truth = np.array([0.9, 0.8, 0.6, 0.1]), np.array([True, True, False, False])
    assert tune_threshold(scores, truth, prior=0.2, prior_weight=0) == 0.61
    assert tune_threshold(scores, truth, prior=0.2, prior_weight=5) == pytest.approx((2 * 0.61 + 5 * 0.2) / 7, abs=1e-4)
    many_scores, many_truth = np.tile(scores, 100), np.tile(truth, 100)
    shrunk = tune_threshold(many_scores, many_truth, prior=0.2, prior_weight=5)
    assert shrunk == pytest.approx((200 * 0.61 + 5 * 0.2) / 205, abs=1e-4) and abs(shrunk - 0.61) < 0.02


def test_a_topic_with_positives_is_never_made_unpredictable():
    # All scores are low (a rare topic from a weak model): shrinking alone would land above every score.
    scores = np.array([0.12, 0.07, 0.03, 0.02, 0.01, 0.01])
    truth = np.array([True, True, False, False, False, False])
    cut = tune_threshold(scores, truth, prior=0.5, prior_weight=50)
    assert cut < scores[truth].max()
    assert (scores[truth] >= cut).any()
    # Capped halfway between the highest positive and the next score below it, never on a score.
    assert cut == pytest.approx((0.12 + 0.07) / 2)


def test_a_capped_threshold_under_the_lowest_score_goes_halfway_to_zero():
    scores = np.array([0.04, 0.3, 0.2])
    truth = np.array([True, False, False])
    assert tune_threshold(scores, truth, prior=0.5, prior_weight=100) == pytest.approx(0.02)


def test_the_cap_is_the_highest_positive_score_not_the_highest_score():
    scores = np.array([0.9, 0.3, 0.1, 0.1])  # the 0.9 is a negative
    truth = np.array([False, True, False, False])
    cut = tune_threshold(scores, truth, prior=0.5, prior_weight=100)
    assert cut < 0.3 and scores[1] >= cut


def test_a_topic_without_positives_keeps_the_prior():
    scores, truth = separable(0, 10)
    assert tune_threshold(scores, truth, prior=0.4) == 0.4


def test_when_every_positive_scored_zero_the_prior_is_kept():
    scores = np.array([0.0, 0.0, 0.6, 0.1])
    truth = np.array([True, True, False, False])
    assert tune_threshold(scores, truth, prior=0.5) == 0.5


def docs_with_scores(rows: list[tuple[list[str], dict[str, float]]]) -> tuple[list[Document], list[Document]]:
    text = "\n".join(f"p{i}" for i in range(len(rows)))
    spans = [(text.index(f"p{i}"), text.index(f"p{i}") + len(f"p{i}")) for i in range(len(rows))]
    gold = Document("d", text, paragraphs=[Paragraph(s, e, topics) for (s, e), (topics, _) in zip(spans, rows)])
    pred = Document("d", text, paragraphs=[Paragraph(s, e, [], scores) for (s, e), (_, scores) in zip(spans, rows)])
    return [gold], [pred]


def test_tune_thresholds_tunes_every_topic_from_document_scores():
    rows = [(["a"], {"a": 0.9, "b": 0.1}), (["a", "b"], {"a": 0.8, "b": 0.15}), ([], {"a": 0.1, "b": 0.05})]
    gold, pred = docs_with_scores(rows)
    thresholds = tune_thresholds(gold, pred, ("a", "b", "c"))
    assert set(thresholds) == {"a", "b", "c"}
    assert 0.1 < thresholds["a"] <= 0.8  # both "a" paragraphs predicted, the negative not
    assert thresholds["b"] <= 0.15  # "b" scored low but must stay predictable
    assert thresholds["c"] == 0.5  # no positive: the prior


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("thresholds.prior=0", "'thresholds.prior' must be between 0 and 1"),
        ("thresholds.prior=1.5", "'thresholds.prior' must be between 0 and 1"),
        ("thresholds.prior_weight=-1", "'thresholds.prior_weight' must be >= 0"),
        ("thresholds.prior_wieght=3", "did you mean 'thresholds.prior_weight'"),
    ],
)
def test_threshold_config_keys_are_validated(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(None, [override])


def test_threshold_config_defaults():
    config = load_config(None)
    assert (config.thresholds.prior, config.thresholds.prior_weight) == (0.5, 5.0)
