"""Topic scoring: paragraph and document matrices, counts, scikit-learn parity, AP and error listing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    hamming_loss,
    precision_recall_fscore_support,
)
from xdd.eval.counts import prf
from xdd.eval.topic_metrics import (
    average_precisions,
    count_tables,
    document_matrices,
    paragraph_errors,
    paragraph_matrices,
    row_figures,
)
from xdd.models.document import Document, Paragraph

TOPICS = ("cadre_planning", "training", "internal_security")
TOPIC4 = ("cadre_planning", "member_development", "training", "internal_security")


def doc(doc_id: str, paragraphs: list[tuple[list[str], dict | None]]) -> Document:
    """A document whose paragraphs are the lines "p0", "p1", ... with the given topics and scores."""
    text = "\n".join(f"p{i}" for i in range(len(paragraphs)))
    return Document(doc_id, text, paragraphs=[
        Paragraph(3 * i, 3 * i + 2, topics, scores) for i, (topics, scores) in enumerate(paragraphs)
    ])


def scores(cp: float, tr: float, is_: float) -> dict[str, float]:
    return {"cadre_planning": cp, "training": tr, "internal_security": is_}


PAIRS = [
    (doc("a", [(["cadre_planning"], None), (["training"], None)]),
     doc("a", [(["cadre_planning"], scores(.9, .2, .1)), (["training", "cadre_planning"], scores(.6, .8, .1))])),
    (doc("b", [([], None), (["training"], None)]),
     doc("b", [(["internal_security"], scores(.3, .1, .7)), ([], scores(.2, .4, .1))])),
    (doc("c", []), doc("c", [])),
]


def test_paragraph_matrices_have_one_row_per_paragraph_and_remember_each_documents_rows():
    matrices = paragraph_matrices(PAIRS, TOPICS)
    np.testing.assert_array_equal(matrices.gold, [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(matrices.pred, [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert [rows.tolist() for rows in matrices.doc_rows] == [[0, 1], [2, 3], []]


def test_document_level_takes_the_union_of_topics_and_the_maximum_score():
    matrices = document_matrices(paragraph_matrices(PAIRS, TOPICS))
    np.testing.assert_array_equal(matrices.gold, [[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(matrices.pred, [[1, 1, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(matrices.scores, [[.9, .8, .1], [.3, .4, .7], [0, 0, 0]])


def test_count_tables_hold_per_document_counts_and_row_statistics():
    labels, rows = count_tables(paragraph_matrices(PAIRS, TOPICS))
    # document a: cp tp 1 of 2 predicted, 1 gold; tr tp 1, 1, 1.  rows: 2 paragraphs, 1 exact, 1 wrong cell.
    np.testing.assert_array_equal(labels[0], [[1, 2, 1], [1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(rows, [[2, 1, 1], [2, 0, 2], [0, 0, 0]])
    figures = row_figures(rows.sum(axis=0), len(TOPICS))
    assert figures["subset_accuracy.value"] == pytest.approx(1 / 4)
    assert figures["hamming_loss.value"] == pytest.approx(3 / 12)


def test_row_figures_of_no_rows_are_zero():
    figures = row_figures(np.zeros(3), 4)
    assert (figures["subset_accuracy.value"], figures["hamming_loss.value"]) == (0.0, 0.0)


@pytest.mark.parametrize("seed", range(10))
def test_figures_from_counts_equal_scikit_learn_on_the_same_matrices(seed):
    rng = np.random.default_rng(seed)
    gold = rng.random((40, 4)) < 0.3
    pred = rng.random((40, 4)) < 0.3
    docs = [Document(f"d{i}", "x", paragraphs=[Paragraph(0, 1, [TOPIC4[k] for k in range(4) if g[k]])]) for i, g in enumerate(gold)]
    preds = [Document(f"d{i}", "x", paragraphs=[Paragraph(0, 1, [TOPIC4[k] for k in range(4) if p[k]])]) for i, p in enumerate(pred)]
    labels, rows = count_tables(paragraph_matrices(list(zip(docs, preds)), TOPIC4))
    figures = prf(labels.sum(axis=0))
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
    np.testing.assert_allclose(figures["per_label.f1"], f, atol=1e-12)
    np.testing.assert_allclose(figures["per_label.precision"], p, atol=1e-12)
    np.testing.assert_allclose(figures["per_label.recall"], r, atol=1e-12)
    micro = precision_recall_fscore_support(gold, pred, average="micro", zero_division=0)
    assert figures["micro.f1"] == pytest.approx(micro[2], abs=1e-12)
    present = [k for k in range(4) if gold[:, k].any() or pred[:, k].any()]
    macro = precision_recall_fscore_support(gold, pred, average="macro", labels=present, zero_division=0)
    assert figures["macro.f1"] == pytest.approx(macro[2], abs=1e-12)
    rows_figures = row_figures(rows.sum(axis=0), 4)
    assert rows_figures["subset_accuracy.value"] == pytest.approx(accuracy_score(gold, pred))
    assert rows_figures["hamming_loss.value"] == pytest.approx(hamming_loss(gold, pred))


def test_average_precision_per_topic_matches_scikit_learn_and_is_none_without_gold_positives():
    matrices = paragraph_matrices(PAIRS, TOPICS)
    aps = average_precisions(matrices)
    assert aps[0] == pytest.approx(average_precision_score([1, 0, 0, 0], [.9, .6, .3, .2]))
    # training: gold [0, 1, 0, 1], scores [.2, .8, .1, .4]: both positives ranked first.
    assert aps[1] == pytest.approx(1.0)
    assert aps[2] is None


def test_average_precision_is_none_for_every_topic_when_a_prediction_lacks_scores():
    pairs = [PAIRS[0], (PAIRS[1][0], doc("b", [(["internal_security"], None), ([], scores(.2, .4, .1))]))]
    matrices = paragraph_matrices(pairs, TOPICS)
    assert matrices.scores is None
    assert average_precisions(matrices) == [None, None, None]


def test_paragraph_errors_list_each_paragraph_whose_topic_set_differs():
    errors = paragraph_errors(PAIRS, TOPICS)
    assert [(e.doc_id, e.start, e.gold, e.pred) for e in errors] == [
        ("a", 3, ("training",), ("cadre_planning", "training")),
        ("b", 0, (), ("internal_security",)),
        ("b", 3, ("training",), ()),
    ]
    assert errors[1].scores == scores(.3, .1, .7)
