"""NER scoring on the refined syllable grid: projection, IOB2 tags, seqeval parity, error breakdown, overlaps."""

from __future__ import annotations

import numpy as np
import pytest
from eval_samples import (  # tests/eval_samples.py
    LABELS,
    random_pairs,
)
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from xdd.eval.counts import prf
from xdd.eval.ner_metrics import (
    alignment_counts,
    count_table,
    entity_errors,
    error_breakdown,
    iob2_tags,
    overlapping_entities,
    pair_tags,
    project,
    refined_grid,
)
from xdd.models.document import Document, Entity
from xdd.models.errors import EvaluationError


def test_iob2_tags_give_every_punctuation_mark_of_a_code_its_own_token():
    doc = Document("d", "Chỉ thị 10-CT/TW của Ban Bí thư")
    tags = iob2_tags(doc, [Entity(0, 16, "DOCUMENT"), Entity(21, 31, "ORG")])
    # Chỉ thị 10 - CT / TW | của | Ban Bí thư
    assert tags == ["B-DOCUMENT"] + ["I-DOCUMENT"] * 6 + ["O", "B-ORG", "I-ORG", "I-ORG"]


def test_adjacent_entities_of_one_label_stay_two_entities_in_iob2():
    doc = Document("d", "Cao Bằng Lạng Sơn")
    assert iob2_tags(doc, [Entity(0, 8, "LOC"), Entity(9, 17, "LOC")]) == ["B-LOC", "I-LOC", "B-LOC", "I-LOC"]


def test_the_grid_splits_a_syllable_at_every_entity_boundary_inside_it():
    text = "lúc 17h20 hôm nay"
    assert refined_grid(text, []) == [(0, 3), (4, 9), (10, 13), (14, 17)]
    assert refined_grid(text, [Entity(4, 6, "TIME"), Entity(6, 9, "X"), Entity(3, 13, "Y")]) == [
        (0, 3), (4, 6), (6, 9), (10, 13), (14, 17),
    ]


def test_projection_keeps_spans_inside_a_syllable_exact_and_trims_whitespace_edges():
    doc = Document("d", "Ông Trần Bình dự họp")
    entities = [Entity(5, 12, "PER"), Entity(13, 16, "LOC"), Entity(3, 4, "ORG")]
    projection = project(doc, entities, "predicted")
    grid = refined_grid(doc.text, entities)
    covered = [(grid[e.first][0], grid[e.last - 1][1], e.label) for e in projection.entities]
    assert covered == [(5, 12, "PER"), (14, 16, "LOC")]  # «rần Bìn» as is; « dự» without its space
    assert (projection.snapped, projection.dropped) == (1, 1)  # « dự» trimmed, « » covers nothing


def test_two_entities_meeting_inside_a_syllable_are_two_entities():
    doc = Document("doc-7", "Huyện ủy Cao Lộc")
    entities = [Entity(0, 10, "ORG"), Entity(10, 16, "LOC")]  # «Huyện ủy C» «ao Lộc»
    assert iob2_tags(doc, entities) == ["B-ORG", "I-ORG", "I-ORG", "B-LOC", "I-LOC"]


def test_overlapping_gold_entities_are_an_error_naming_the_document_and_both_spans():
    doc = Document("doc-7", "Huyện ủy Cao Lộc")
    with pytest.raises(EvaluationError) as caught:
        project(doc, [Entity(0, 10, "ORG"), Entity(9, 16, "LOC")], "gold")
    message = str(caught.value)
    assert "document 'doc-7': gold entities ORG [0, 10) and LOC [9, 16) overlap" in message
    assert "must not overlap" in message


def test_overlapping_predictions_keep_the_first_and_of_those_starting_together_the_longest():
    doc = Document("d", "Ban Tổ chức Huyện ủy Cao Lộc", [
        Entity(4, 11, "ORG"),  # «Tổ chức»: starts with the longer one below, dropped
        Entity(4, 20, "ORG"),  # «Tổ chức Huyện ủy»: kept
        Entity(12, 28, "LOC"),  # «Huyện ủy Cao Lộc»: crosses the kept one, dropped
        Entity(21, 28, "LOC"),  # «Cao Lộc»: overlaps only a dropped one, kept
        Entity(20, 21, "PER"),  # « »: whitespace only, dropped as such, never an overlap
    ])
    projection = project(doc, doc.entities, "predicted")
    assert [e.entity for e in projection.entities] == [doc.entities[1], doc.entities[3]]
    assert projection.overlapping == [(doc.entities[1], doc.entities[0]), (doc.entities[1], doc.entities[2])]
    assert overlapping_entities(doc) == projection.overlapping
    assert projection.dropped == 1
    gold = Document("d", doc.text, [Entity(4, 20, "ORG")])
    assert alignment_counts([(gold, doc)])["pred"] == {"snapped": 0, "dropped": 1, "overlapping_dropped": 2}
    np.testing.assert_array_equal(count_table([(gold, doc)], ["ORG", "LOC", "PER"])[0], [[1, 1, 1], [0, 1, 0], [0, 0, 0]])


SEQEVAL_KEYS = {"precision": "precision", "recall": "recall", "f1": "f1-score"}


@pytest.mark.parametrize("seed", range(25))
def test_figures_from_per_document_counts_equal_seqeval_classification_report(seed):
    pairs = random_pairs(seed)
    y_true, y_pred = map(list, zip(*(pair_tags(g, p) for g, p in pairs)))
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
    pairs = random_pairs(seed)
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
    from xdd.eval.corpus_io import load_gold
    from xdd.eval.evaluate import pair_documents
    from xdd.models.document.corpus import read_documents

    gold, scheme = load_gold("tests/fixtures/eval/gold.jsonl")
    pairs = pair_documents(gold, read_documents("tests/fixtures/eval/predictions.jsonl"), scheme)
    y_true, y_pred = map(list, zip(*(pair_tags(g, p) for g, p in pairs)))
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    figures = prf(count_table(pairs, scheme.entities).sum(axis=0))
    assert set(report) - {"micro avg", "macro avg", "weighted avg"} == {"PER", "ORG", "LOC", "DATE"}
    for average in ("micro", "macro", "weighted"):
        for name, key in SEQEVAL_KEYS.items():
            assert figures[f"{average}.{name}"] == pytest.approx(report[f"{average} avg"][key], abs=1e-12)
