"""NER scoring on the syllable grid: projection, IOB2 tags, seqeval parity, error breakdown."""

from __future__ import annotations

import numpy as np
import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from eval.counts import prf
from eval.ner_metrics import count_table, entity_errors, error_breakdown, iob2_tags, project
from models.document import Document, Entity
from models.errors import EvaluationError

from eval_samples import LABELS, random_pairs, without_token_overlaps  # tests/eval_samples.py


def test_iob2_tags_give_every_punctuation_mark_of_a_code_its_own_token():
    doc = Document("d", "Chỉ thị 10-CT/TW của Ban Bí thư")
    tags = iob2_tags(doc, [Entity(0, 16, "DOCUMENT"), Entity(21, 31, "ORG")])
    # Chỉ thị 10 - CT / TW | của | Ban Bí thư
    assert tags == ["B-DOCUMENT"] + ["I-DOCUMENT"] * 6 + ["O", "B-ORG", "I-ORG", "I-ORG"]


def test_adjacent_entities_of_one_label_stay_two_entities_in_iob2():
    doc = Document("d", "Cao Bằng Lạng Sơn")
    assert iob2_tags(doc, [Entity(0, 8, "LOC"), Entity(9, 17, "LOC")]) == ["B-LOC", "I-LOC", "B-LOC", "I-LOC"]


def test_projection_widens_spans_inside_a_syllable_and_drops_spans_without_one():
    doc = Document("d", "Ông Trần Bình dự họp")
    projection = project(doc, [Entity(5, 12, "PER"), Entity(3, 4, "LOC")], "predicted")
    assert [(e.first, e.last, e.label) for e in projection.entities] == [(1, 3, "PER")]
    assert (projection.snapped, projection.dropped) == (1, 1)


def test_projection_reports_entities_sharing_a_token_with_document_side_and_spans():
    doc = Document("doc-7", "Huyện ủy Cao Lộc")
    with pytest.raises(EvaluationError) as caught:
        project(doc, [Entity(0, 10, "ORG"), Entity(11, 16, "LOC")], "predicted")
    message = str(caught.value)
    assert "document 'doc-7': predicted entities ORG [0, 10) and LOC [11, 16) share a syllable token" in message
    assert "must not overlap" in message


SEQEVAL_KEYS = {"precision": "precision", "recall": "recall", "f1": "f1-score"}


@pytest.mark.parametrize("seed", range(25))
def test_figures_from_per_document_counts_equal_seqeval_classification_report(seed):
    pairs = without_token_overlaps(random_pairs(seed))
    y_true = [iob2_tags(g, g.entities) for g, _ in pairs]
    y_pred = [iob2_tags(p, p.entities) for _, p in pairs]
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    counts = count_table(pairs, LABELS).sum(axis=0)
    figures = prf(counts)
    present = [label for label in LABELS if label in report]
    assert present, "the random corpus should contain entities"
    for i, label in enumerate(LABELS):
        if label in report:
            for name, key in SEQEVAL_KEYS.items():
                assert figures[f"per_label.{name}"][i] == pytest.approx(report[label][key], abs=1e-12), (label, name)
            assert counts[i, 2] == report[label]["support"]
        else:  # seqeval lists only labels that occur; ours lists every label with zeros
            assert counts[i].tolist() == [0, 0, 0]
    for average in ("micro", "macro", "weighted"):
        for name, key in SEQEVAL_KEYS.items():
            assert figures[f"{average}.{name}"] == pytest.approx(report[f"{average} avg"][key], abs=1e-12), (average, name)


def test_error_kinds_classify_each_gold_entity_once_and_unmatched_predictions_as_spurious():
    text = "Đồng chí Nguyễn Văn An, Bí thư Tỉnh ủy Lạng Sơn, năm 2020"
    gold = Document("g", text, [
        Entity(9, 22, "PER"),  # Nguyễn Văn An        -> wrong type (ORG, same tokens)
        Entity(24, 38, "POSITION"),  # Bí thư Tỉnh ủy -> wrong boundary (POSITION «Bí thư»)
        Entity(39, 47, "LOC"),  # Lạng Sơn            -> exact
        Entity(49, 57, "DATE"),  # năm 2020           -> missed
    ])
    pred = Document("g", text, [
        Entity(0, 8, "PER"),  # Đồng chí: spurious
        Entity(9, 22, "ORG"),
        Entity(24, 30, "POSITION"),
        Entity(39, 47, "LOC"),
    ])
    kinds = [(e.kind, e.gold and e.gold.label, e.pred and e.pred.label) for e in entity_errors(gold, pred)]
    assert kinds == [
        ("spurious", None, "PER"),
        ("wrong_type", "PER", "ORG"),
        ("wrong_boundary", "POSITION", "POSITION"),
        ("exact", "LOC", "LOC"),
        ("missed", "DATE", None),
    ]


def test_an_overlapping_prediction_of_another_label_is_a_wrong_boundary_not_a_spurious_entity():
    gold = Document("g", "Ban Tổ chức Huyện ủy", [Entity(0, 20, "ORG")])
    pred = Document("g", gold.text, [Entity(12, 20, "LOC")])
    assert [e.kind for e in entity_errors(gold, pred)] == ["wrong_boundary"]


@pytest.mark.parametrize("seed", range(10))
def test_error_breakdown_adds_up_to_seqeval_counts_per_label(seed):
    pairs = without_token_overlaps(random_pairs(seed))
    breakdown = error_breakdown(pairs, LABELS)
    counts = count_table(pairs, LABELS).sum(axis=0)
    for i, label in enumerate(LABELS):
        tp, predicted, support = counts[i]
        kinds = breakdown[label]
        assert kinds["exact"] == tp
        assert kinds["wrong_type"] + kinds["wrong_boundary"] + kinds["missed"] == support - tp
        assert kinds["spurious"] <= predicted - tp


def test_count_table_has_one_row_per_document_and_sums_to_corpus_counts():
    pairs = [
        (Document("a", "Trần Bình", [Entity(0, 9, "PER")]), Document("a", "Trần Bình", [Entity(0, 9, "PER")])),
        (Document("b", "Trần Bình", [Entity(0, 9, "PER")]), Document("b", "Trần Bình", [Entity(0, 4, "PER")])),
    ]
    table = count_table(pairs, LABELS)
    assert table.shape == (2, len(LABELS), 3)
    np.testing.assert_array_equal(table[:, 0], [[1, 1, 1], [0, 1, 1]])


def test_hand_crafted_fixture_pair_matches_seqeval_including_absent_and_never_predicted_labels():
    from eval.corpus_io import load_gold
    from eval.evaluate import pair_documents
    from models.corpus import read_documents

    gold, scheme = load_gold("tests/fixtures/eval/gold.jsonl")
    pairs = pair_documents(gold, read_documents("tests/fixtures/eval/predictions.jsonl"), scheme)
    y_true = [iob2_tags(g, g.entities) for g, _ in pairs]
    y_pred = [iob2_tags(p, p.entities) for _, p in pairs]
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    figures = prf(count_table(pairs, scheme.entities).sum(axis=0))
    assert set(report) - {"micro avg", "macro avg", "weighted avg"} == {"PER", "ORG", "LOC", "DATE"}
    for average in ("micro", "macro", "weighted"):
        for name, key in SEQEVAL_KEYS.items():
            assert figures[f"{average}.{name}"] == pytest.approx(report[f"{average} avg"][key], abs=1e-12)
