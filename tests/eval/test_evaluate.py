"""evaluate(): every figure of metrics.json on a hand-crafted gold/prediction pair, and its error paths.

The pair lives in tests/fixtures/eval/ (gold.jsonl, predictions.jsonl, labels.json):
entity labels PER ORG LOC DATE DOCUMENT; topics cadre_planning (cp),
member_development (md), training (tr), internal_security (is).

Document A "a_cao-loc"
  "Đồng chí Nguyễn Văn An làm việc tại Ban Tổ chức Huyện ủy.\\nNăm 2020, huyện mở lớp bồi dưỡng cán bộ."
  gold: PER «Nguyễn Văn An», ORG «Ban Tổ chức Huyện ủy», DATE «Năm 2020»
  pred: LOC «Đồng chí» (spurious), PER «Nguyễn Văn An» (exact), ORG «Tổ chức Huyện ủy» (wrong boundary)
  paragraphs  gold      pred        scores (cp, md, tr, is)
    p1        {cp}      {cp}        .9 .1 .5 .1
    p2        {tr}      {cp, tr}    .6 .1 .8 .1
Document B "b_lang-son"
  "Ông Trần Bình dự hội nghị của Tỉnh ủy Lạng Sơn ngày 5/3/2021.\\nBồi dưỡng lý luận chính trị cho đảng viên."
  gold: PER «Trần Bình», ORG «Tỉnh ủy Lạng Sơn», DATE «ngày 5/3/2021»
  pred: LOC « » (whitespace only: dropped), ORG «Trần Bình» (wrong type),
        ORG «Tỉnh ủy Lạng Sơn » (ends with a space: scored without it ("snapped"), then exact)
  paragraphs  gold      pred        scores
    p1        {}        {is}        .3 .1 .1 .7
    p2        {tr}      {}          .2 .1 .4 .1

NER counts (tp, predicted, support) per document:
  A: PER (1,1,1)  ORG (0,1,1)  LOC (0,1,0)  DATE (0,0,1)  DOCUMENT (0,0,0)
  B: PER (0,0,1)  ORG (1,2,1)  LOC (0,0,0)  DATE (0,0,1)  DOCUMENT (0,0,0)
  A+B: PER (1,1,2) ORG (1,3,2) LOC (0,1,0) DATE (0,0,2) DOCUMENT (0,0,0)

Bootstrap intervals: with two documents a resample is {A,A}, {A,B} or {B,B}
(probabilities 1/4, 1/2, 1/4); ratio figures of {A,A} equal those of A alone.
Each outcome has far more than 2.5% of the 1000 resamples, so the 95%
percentile interval is [min, max] of the figure over A alone, A+B and B alone.
"""

from __future__ import annotations

import json
import math

import pytest
from xdd.eval.corpus_io import load_gold
from xdd.eval.evaluate import evaluate, headline_figures, pair_documents, point_figures
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING
from xdd.models.errors import EvaluationError

FIXTURES = "tests/fixtures/eval"


def hand_computed() -> dict:
    """The whole metrics.json of the fixture pair, computed by hand (fractions kept exact)."""
    ner = {
        # micro: tp 2, predicted 5, support 6 -> P 2/5, R 1/3, F 2PR/(P+R) = (4/15)/(11/15) = 4/11.
        # A alone: tp 1, pred 3, gold 3 -> P 1/3, R 1/3, F 1/3.  B alone: tp 1, pred 2, gold 3 -> P 1/2, R 1/3, F 2/5.
        "micro": {
            "precision": 2 / 5, "recall": 1 / 3, "f1": 4 / 11,
            "ci95": [1 / 3, 2 / 5],  # F over {A 1/3, A+B 4/11, B 2/5}
            "precision_ci95": [1 / 3, 1 / 2],  # P over {1/3, 2/5, 1/2}
            "recall_ci95": [1 / 3, 1 / 3],  # R is 1/3 in every outcome
            "tp": 2, "predicted": 5, "support": 6,
        },
        # macro over the labels present in gold or predictions: PER, ORG, LOC, DATE (not DOCUMENT).
        # P (1 + 1/3 + 0 + 0)/4 = 1/3; R (1/2 + 1/2 + 0 + 0)/4 = 1/4; F (2/3 + 2/5 + 0 + 0)/4 = 4/15.
        # A alone: F per label PER 1, ORG 0, LOC 0, DATE 0 -> 1/4.
        # B alone: present PER, ORG, DATE; F PER 0, ORG 2/3 (P 1/2, R 1), DATE 0 -> 2/9.
        "macro": {"precision": 1 / 3, "recall": 1 / 4, "f1": 4 / 15, "ci95": [2 / 9, 4 / 15]},
        # weighted by support (PER 2, ORG 2, DATE 2): P (2*1 + 2*1/3)/6 = 4/9; R (2*1/2 + 2*1/2)/6 = 1/3;
        # F (2*2/3 + 2*2/5)/6 = 16/45.  A alone: (1*1 + 0 + 0)/3 = 1/3.  B alone: (0 + 2/3 + 0)/3 = 2/9.
        "weighted": {"precision": 4 / 9, "recall": 1 / 3, "f1": 16 / 45, "ci95": [2 / 9, 16 / 45]},
        "per_label": {
            # PER: P 1/1, R 1/2, F 2/3; A alone F 1, B alone F 0.
            "PER": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "ci95": [0.0, 1.0], "tp": 1, "predicted": 1, "support": 2},
            # ORG: P 1/3, R 1/2, F (1/3)/(5/6) = 2/5; A alone 0, B alone P 1/2 R 1 F 2/3.
            "ORG": {"precision": 1 / 3, "recall": 0.5, "f1": 0.4, "ci95": [0.0, 2 / 3], "tp": 1, "predicted": 3, "support": 2},
            # LOC: one spurious prediction, no gold: P 0/1 = 0, R 0/0 -> 0, F 0.
            "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0], "tp": 0, "predicted": 1, "support": 0},
            # DATE: two gold, never predicted.
            "DATE": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0], "tp": 0, "predicted": 0, "support": 2},
            # DOCUMENT: absent from both sides: listed with zeros.
            "DOCUMENT": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0], "tp": 0, "predicted": 0, "support": 0},
        },
        "errors": {
            "PER": {"exact": 1, "wrong_type": 1, "wrong_boundary": 0, "missed": 0, "spurious": 0},  # A exact, B typed ORG
            "ORG": {"exact": 1, "wrong_type": 0, "wrong_boundary": 1, "missed": 0, "spurious": 0},  # B exact, A boundary
            "LOC": {"exact": 0, "wrong_type": 0, "wrong_boundary": 0, "missed": 0, "spurious": 1},  # «Đồng chí»
            "DATE": {"exact": 0, "wrong_type": 0, "wrong_boundary": 0, "missed": 2, "spurious": 0},
            "DOCUMENT": {"exact": 0, "wrong_type": 0, "wrong_boundary": 0, "missed": 0, "spurious": 0},
        },
        "alignment": {
            "gold": {"snapped": 0, "dropped": 0},
            "pred": {"snapped": 1, "dropped": 1, "overlapping_dropped": 0},
        },
    }
    paragraph = {
        "n": 4,
        # counts (tp, pred, support): cp (1,2,1), md (0,0,0), tr (1,1,2), is (0,1,0); micro (2,4,3):
        # P 1/2, R 2/3, F (2/3)/(7/6) = 4/7.
        # A alone: cp (1,2,1), tr (1,1,1) -> micro (2,3,2): P 2/3, R 1, F 4/5; macro over cp, tr: F (2/3 + 1)/2 = 5/6.
        # B alone: tr (0,0,1), is (0,1,0) -> micro (0,1,1): 0, 0, 0; macro 0.
        "micro": {
            "precision": 1 / 2, "recall": 2 / 3, "f1": 4 / 7,
            "ci95": [0.0, 4 / 5], "precision_ci95": [0.0, 2 / 3], "recall_ci95": [0.0, 1.0],
            "tp": 2, "predicted": 4, "support": 3,
        },
        # macro over cp, tr, is: P (1/2 + 1 + 0)/3 = 1/2; R (1 + 1/2 + 0)/3 = 1/2; F (2/3 + 2/3 + 0)/3 = 4/9.
        "macro": {"precision": 0.5, "recall": 0.5, "f1": 4 / 9, "ci95": [0.0, 5 / 6]},
        "per_label": {
            # cp: P 1/2, R 1, F 2/3; A alone the same, B alone 0.  AP: gold [1,0,0,0], scores [.9,.6,.3,.2]: 1.
            "cadre_planning": {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "ci95": [0.0, 2 / 3],
                               "tp": 1, "predicted": 2, "support": 1, "average_precision": 1.0},
            # md: never in gold nor predicted; AP undefined (no gold positive).
            "member_development": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0],
                                   "tp": 0, "predicted": 0, "support": 0, "average_precision": None},
            # tr: P 1, R 1/2, F 2/3; A alone F 1, B alone 0.
            # AP: scores ranked .8 (+), .5 (-), .4 (+), .1 (-): (1/1 + 2/3)/2 = 5/6.
            "training": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "ci95": [0.0, 1.0],
                         "tp": 1, "predicted": 1, "support": 2, "average_precision": 5 / 6},
            # is: predicted once, never gold.
            "internal_security": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0],
                                  "tp": 0, "predicted": 1, "support": 0, "average_precision": None},
        },
        # exact paragraphs: A.p1 only -> 1/4; A alone 1/2, B alone 0.
        "subset_accuracy": {"value": 0.25, "ci95": [0.0, 0.5]},
        # wrong cells: A.p2 cp, B.p1 is, B.p2 tr -> 3/(4*4) = 3/16; A alone 1/8, B alone 2/8.
        "hamming_loss": {"value": 3 / 16, "ci95": [1 / 8, 1 / 4]},
        "mean_average_precision": (1.0 + 5 / 6) / 2,  # over topics with a defined AP
    }
    document = {
        "n": 2,
        # gold A {cp, tr}, B {tr}; predicted A {cp, tr}, B {is}.
        # cp (1,1,1), tr (1,1,2), is (0,1,0); micro (2,3,3): 2/3 each.
        # A alone: micro (2,2,2) -> 1; B alone: micro (0,1,1) -> 0.
        "micro": {
            "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3,
            "ci95": [0.0, 1.0], "precision_ci95": [0.0, 1.0], "recall_ci95": [0.0, 1.0],
            "tp": 2, "predicted": 3, "support": 3,
        },
        # macro over cp, tr, is: P (1 + 1 + 0)/3 = 2/3; R (1 + 1/2 + 0)/3 = 1/2; F (1 + 2/3 + 0)/3 = 5/9.
        # A alone: 1; B alone: 0.
        "macro": {"precision": 2 / 3, "recall": 0.5, "f1": 5 / 9, "ci95": [0.0, 1.0]},
        "per_label": {
            # document scores are paragraph maxima: A (cp .9, tr .8), B (cp .3, tr .4, is .7).
            # cp: gold [1,0] scores [.9,.3] -> AP 1.  tr: gold [1,1] -> AP 1.
            "cadre_planning": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "ci95": [0.0, 1.0],
                               "tp": 1, "predicted": 1, "support": 1, "average_precision": 1.0},
            "member_development": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0],
                                   "tp": 0, "predicted": 0, "support": 0, "average_precision": None},
            "training": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "ci95": [0.0, 1.0],
                         "tp": 1, "predicted": 1, "support": 2, "average_precision": 1.0},
            "internal_security": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0],
                                  "tp": 0, "predicted": 1, "support": 0, "average_precision": None},
        },
        # A exact, B not -> 1/2.  Wrong cells: B tr and is -> 2/(2*4) = 1/4; A alone 0, B alone 2/4.
        "subset_accuracy": {"value": 0.5, "ci95": [0.0, 1.0]},
        "hamming_loss": {"value": 0.25, "ci95": [0.0, 0.5]},
        "mean_average_precision": 1.0,
    }
    return {
        "schema_version": 1,
        "n_documents": 2,
        "n_paragraphs": 4,
        "bootstrap": {"n_boot": 1000, "seed": 0, "unit": "document", "percentiles": [2.5, 97.5]},
        "ner": {"labels": ["PER", "ORG", "LOC", "DATE", "DOCUMENT"], **ner},
        "topics": {
            "labels": ["cadre_planning", "member_development", "training", "internal_security"],
            "scores_available": True,
            "paragraph": paragraph,
            "document": document,
        },
    }


def flatten(node, prefix=""):
    """Dotted path -> leaf value; lists are leaves."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def assert_same_metrics(actual: dict, expected: dict) -> None:
    flat_actual, flat_expected = flatten(actual), flatten(expected)
    assert sorted(flat_actual) == sorted(flat_expected)
    for path, value in flat_expected.items():
        if isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)):
            assert flat_actual[path] == pytest.approx(value, abs=1e-12), path
        else:
            assert flat_actual[path] == value, path


@pytest.fixture
def fixture_pair():
    gold, scheme = load_gold(f"{FIXTURES}/gold.jsonl")
    return gold, read_documents(f"{FIXTURES}/predictions.jsonl"), scheme


def test_every_figure_of_metrics_json_equals_the_hand_computed_value(fixture_pair):
    gold, pred, scheme = fixture_pair
    assert_same_metrics(evaluate(gold, pred, scheme=scheme, n_boot=1000, seed=0), hand_computed())


def test_metrics_hold_only_plain_json_types_and_no_nan(fixture_pair):
    gold, pred, scheme = fixture_pair
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=50)
    json.dumps(metrics, allow_nan=False)
    for path, value in flatten(metrics).items():
        items = value if isinstance(value, list) else [value]
        assert all(type(v) in (int, float, str, bool, type(None)) for v in items), path


def test_evaluate_is_deterministic_for_a_seed_and_order_of_predictions_does_not_matter(fixture_pair):
    gold, pred, scheme = fixture_pair
    assert evaluate(gold, pred, scheme=scheme, n_boot=200, seed=3) == evaluate(
        gold, pred[::-1], scheme=scheme, n_boot=200, seed=3
    )


def _doc(doc_id: str, text: str, entities=(), topics=None) -> Document:
    """A one-paragraph document (or none when text is empty)."""
    paragraphs = [Paragraph(0, len(text), list(topics or []))] if text else []
    return Document(doc_id, text, list(entities), paragraphs)


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        pytest.param([_doc("d", "Ông Trần Bình", [Entity(4, 13, "PER")])], [_doc("d", "Ông Trần Bình")], id="zero predictions"),
        pytest.param([_doc("d", "Ông Trần Bình")], [_doc("d", "Ông Trần Bình", [Entity(4, 13, "PER")], ["training"])], id="zero gold"),
        pytest.param([_doc("d", ""), _doc("e", "Huyện ủy", [Entity(0, 8, "ORG")])], [_doc("d", ""), _doc("e", "Huyện ủy")], id="no paragraphs"),
        pytest.param([_doc("d", "x")], [_doc("d", "x")], id="nothing at all"),
    ],
)
def test_degenerate_corpora_give_zeros_not_nan(gold, pred):
    metrics = evaluate(gold, pred, scheme=PARTY_BUILDING, n_boot=20)
    json.dumps(metrics, allow_nan=False)
    leaves = [v for value in flatten(metrics).values() for v in (value if isinstance(value, list) else [value])]
    numbers = [v for v in leaves if isinstance(v, float)]
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert metrics["ner"]["micro"]["f1"] == 0.0


def test_a_document_without_paragraphs_counts_as_an_exactly_right_empty_document():
    gold = [_doc("d", ""), _doc("e", "Lớp bồi dưỡng", topics=["training"])]
    pred = [_doc("d", ""), _doc("e", "Lớp bồi dưỡng", topics=["training"])]
    metrics = evaluate(gold, pred, scheme=PARTY_BUILDING, n_boot=20)
    assert metrics["n_paragraphs"] == 1
    assert metrics["topics"]["document"]["subset_accuracy"]["value"] == 1.0
    assert metrics["topics"]["document"]["n"] == 2


def test_average_precision_is_null_and_flagged_when_predictions_have_no_scores():
    gold = [_doc("d", "Lớp bồi dưỡng", topics=["training"])]
    pred = [_doc("d", "Lớp bồi dưỡng", topics=["training"])]
    metrics = evaluate(gold, pred, scheme=PARTY_BUILDING, n_boot=20)
    assert metrics["topics"]["scores_available"] is False
    assert metrics["topics"]["paragraph"]["per_label"]["training"]["average_precision"] is None
    assert metrics["topics"]["paragraph"]["mean_average_precision"] is None


GOLD = [_doc("a", "Ông Trần Bình", [Entity(4, 13, "PER")], ["training"]), _doc("b", "Huyện ủy")]


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        ([GOLD[0]], "no prediction for gold document id(s) ['b']"),
        ([*GOLD, _doc("c", "x")], "prediction(s) for document id(s) ['c'] that are not in the gold corpus"),
        ([*GOLD, GOLD[1]], "predicted document id 'b' occurs twice"),
        ([GOLD[0], _doc("b", "Huyện uỷ")], "document 'b': predicted text differs from the gold text at character 6"),
        ([GOLD[0], Document("b", "Huyện ủy")], "document 'b': predicted paragraphs []... do not align"),
        ([GOLD[0], _doc("b", "Huyện ủy", [Entity(0, 8, "MISC")])], "document 'b': predicted entity label 'MISC' at [0, 8)"),
        ([GOLD[0], _doc("b", "Huyện ủy", topics=["sport"])], "document 'b': predicted paragraph [0, 8) has topic(s) ['sport']"),
    ],
    ids=["missing", "extra", "duplicate", "text", "paragraphs", "entity label", "topic"],
)
def test_pairing_errors_name_the_document_and_the_fix(pred, message):
    with pytest.raises(EvaluationError) as caught:
        evaluate(GOLD, pred, scheme=PARTY_BUILDING, n_boot=10)
    assert message in str(caught.value)


def test_evaluate_rejects_an_empty_gold_corpus():
    with pytest.raises(EvaluationError, match="the gold corpus has no documents"):
        pair_documents([], [], PARTY_BUILDING)


def test_overlapping_predicted_entities_are_scored_without_the_later_one_and_counted():
    pred = [_doc("a", "Ông Trần Bình", [Entity(4, 13, "PER"), Entity(9, 13, "LOC")], ["training"]), GOLD[1]]
    metrics = evaluate(GOLD, pred, scheme=PARTY_BUILDING, n_boot=10)
    assert metrics["ner"]["micro"]["f1"] == 1.0
    assert metrics["ner"]["micro"]["predicted"] == 1
    assert metrics["ner"]["alignment"]["pred"]["overlapping_dropped"] == 1


def test_overlapping_gold_entities_are_an_error_naming_the_document():
    gold = [_doc("a", "Ông Trần Bình", [Entity(4, 13, "PER"), Entity(9, 13, "LOC")]), GOLD[1]]
    with pytest.raises(EvaluationError, match=r"document 'a': gold entities PER \[4, 13\) and LOC \[9, 13\) overlap"):
        evaluate(gold, GOLD, scheme=PARTY_BUILDING, n_boot=10)


def test_headline_figures_read_back_from_metrics_json_equal_the_figures_that_get_intervals(fixture_pair):
    gold, pred, scheme = fixture_pair
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=20)
    assert headline_figures(metrics) == pytest.approx(point_figures(gold, pred, scheme))


def test_evaluate_without_bootstrap_gives_point_estimates_and_null_intervals():
    gold, scheme = load_gold(f"{FIXTURES}/gold.jsonl")
    with_ci = evaluate(gold, gold, scheme=scheme, n_boot=10)
    without = evaluate(gold, gold, scheme=scheme, n_boot=0)
    assert without["ner"]["micro"]["f1"] == with_ci["ner"]["micro"]["f1"] == 1.0
    assert without["ner"]["micro"]["ci95"] is None and with_ci["ner"]["micro"]["ci95"] == [1.0, 1.0]


def test_xdd_predict_output_without_text_is_read_against_the_gold_texts(tmp_path):
    from xdd.eval.corpus_io import load_predictions

    gold, scheme = load_gold(f"{FIXTURES}/gold.jsonl")
    lines = []
    for doc in gold:
        record = doc.to_json()
        del record["text"], record["meta"]
        lines.append(json.dumps({**record, "source": f"in/{doc.id}.txt", "topics": doc.topics}, ensure_ascii=False))
    lines.append(json.dumps({"id": "not-in-gold", "source": "x.txt", "entities": [], "paragraphs": [], "topics": []}))
    path = tmp_path / "predict.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"predict.jsonl: a prediction for document id 'not-in-gold', which is not in the gold corpus"):
        load_predictions(path, gold)
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    pred = load_predictions(path, gold)
    assert [d.meta["source"] for d in pred] == [f"in/{d.id}.txt" for d in gold]
    assert evaluate(gold, pred, scheme=scheme, n_boot=0)["ner"]["micro"]["f1"] == 1.0
