"""Strict NER scoring is exact and total (issue 16).

Exact: an entity is a true positive only when its character span and label
equal a gold one's, so a prediction of part of a syllable token (``17`` for a
gold ``17h20``) is a boundary error.  Total: every pair of non-overlapping
gold and predicted spans is scored (the text pipeline's words can split
``17h20`` into ``17`` + ``h20``, and a model may tag them differently), and an
overlapping prediction in a foreign file is left out with a warning, never
a crash.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2
from xdd.eval.evaluate import evaluate
from xdd.eval.ner_metrics import entity_errors, pair_tags
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.labels import LabelScheme
from xdd.training.cli import main

LABELS = ("PATIENT_ID", "SYMPTOM_AND_DISEASE", "TIME", "LOCATION")
SCHEME = LabelScheme(LABELS, ("covid",))

# Vietnamese-like words: digits glued to letters, punctuation inside tokens, diacritics.
WORDS = [
    "17h20", "BN0123", "COVID-19", "TP.HCM", "SARS-CoV-2", "5/3/2021", "0912.345.678", "10-CT/TW",
    "Bệnh", "nhân", "tử", "vong", "lúc", "hôm", "nay", "Hà", "Nội", "sốt", "ho", "(", ")", ",", ".", "“Đảng”",
]


def _doc(doc_id: str, text: str, entities: list[Entity]) -> Document:
    return Document(doc_id, text, entities, [Paragraph(0, len(text), [])] if text else [])


@st.composite
def texts(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25))
    glue = draw(st.lists(st.sampled_from([" ", " ", " ", "", "  "]), min_size=len(words), max_size=len(words)))
    return "".join(w + g for w, g in zip(words, glue)).strip() or "x"


def _non_space_edges(text: str, start: int, end: int) -> bool:
    return not text[start].isspace() and not text[end - 1].isspace()


@st.composite
def span_sets(draw, text: str, exact_edges: bool) -> list[Entity]:
    """Non-overlapping spans in reading order; with ``exact_edges`` none starts or ends on whitespace."""
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=12)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        if exact_edges and not _non_space_edges(text, start, end):
            continue
        spans.append(Entity(start, end, draw(st.sampled_from(LABELS))))
    return spans


def _trimmed(text: str, entity: Entity) -> tuple[int, int, str] | None:
    """The span without leading and trailing whitespace (None if nothing is left)."""
    start, end = entity.start, entity.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end, entity.label) if start < end else None


@st.composite
def predictions(draw, text: str, gold: list[Entity], exact_edges: bool) -> list[Entity]:
    """Either independent spans, or the gold spans relabelled, thinned and with edges moved by a character or two."""
    if draw(st.booleans()):
        return draw(span_sets(text, exact_edges))
    candidates = []
    for entity in gold:
        start = max(0, entity.start + draw(st.sampled_from([0, 0, 0, -1, 1, 2])))
        end = min(len(text), entity.end + draw(st.sampled_from([0, 0, 0, -1, 1, -2])))
        keep = draw(st.integers(0, 4)) > 0
        label = entity.label if draw(st.booleans()) else draw(st.sampled_from(LABELS))
        if keep and start < end and (not exact_edges or _non_space_edges(text, start, end)):
            candidates.append(Entity(start, end, label))
    kept, last_end = [], -1  # moved edges can make neighbours overlap: keep them apart
    for entity in candidates:
        if entity.start >= last_end:
            kept.append(entity)
            last_end = entity.end
    return kept


@st.composite
def corpora(draw, exact_edges: bool = True) -> tuple[list[Document], list[Document]]:
    gold_docs, pred_docs = [], []
    for i in range(draw(st.integers(1, 4))):
        text = draw(texts())
        gold = draw(span_sets(text, exact_edges))
        gold_docs.append(_doc(f"d{i}", text, gold))
        pred_docs.append(_doc(f"d{i}", text, draw(predictions(text, gold, exact_edges))))
    return gold_docs, pred_docs


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _assert_micro_equals(metrics: dict, tp: int, predicted: int, support: int) -> None:
    micro = metrics["ner"]["micro"]
    assert (micro["tp"], micro["predicted"], micro["support"]) == (tp, predicted, support)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    assert micro["precision"] == pytest.approx(precision, abs=1e-12)
    assert micro["recall"] == pytest.approx(recall, abs=1e-12)
    assert micro["f1"] == pytest.approx(_ratio(2 * precision * recall, precision + recall), abs=1e-12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora())
def test_any_non_overlapping_spans_score_and_micro_figures_are_exact_span_matches(corpus):
    gold, pred = corpus
    metrics = evaluate(gold, pred, scheme=SCHEME, n_boot=0)
    triples = [({(e.start, e.end, e.label) for e in g.entities}, {(e.start, e.end, e.label) for e in p.entities})
               for g, p in zip(gold, pred)]
    tp = sum(len(g & p) for g, p in triples)
    _assert_micro_equals(metrics, tp, sum(len(p) for _, p in triples), sum(len(g) for g, _ in triples))
    for label in LABELS:
        per_label = metrics["ner"]["per_label"][label]
        assert per_label["tp"] == sum(len({t for t in g & p if t[2] == label}) for g, p in triples)
        errors = metrics["ner"]["errors"][label]
        assert errors["exact"] == per_label["tp"]
        assert errors["wrong_type"] + errors["wrong_boundary"] + errors["missed"] == per_label["support"] - per_label["tp"]
    assert metrics["ner"]["alignment"] == {
        "gold": {"snapped": 0, "dropped": 0},
        "pred": {"snapped": 0, "dropped": 0, "overlapping_dropped": 0},
    }
    # seqeval stays the reference: strict IOB2 on the pair's grid gives the same F1.
    y_true, y_pred = map(list, zip(*(pair_tags(g, p) for g, p in zip(gold, pred))))
    expected = f1_score(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0)
    assert metrics["ner"]["micro"]["f1"] == pytest.approx(expected, abs=1e-12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(exact_edges=False))
def test_spans_with_whitespace_edges_are_scored_without_them_and_counted(corpus):
    gold, pred = corpus
    metrics = evaluate(gold, pred, scheme=SCHEME, n_boot=0)
    trimmed = [({_trimmed(g.text, e) for e in g.entities} - {None}, {_trimmed(p.text, e) for e in p.entities} - {None})
               for g, p in zip(gold, pred)]
    tp = sum(len(g & p) for g, p in trimmed)
    _assert_micro_equals(metrics, tp, sum(len(p) for _, p in trimmed), sum(len(g) for g, _ in trimmed))
    for side, docs in (("gold", gold), ("pred", pred)):
        entities = [(d.text, e) for d in docs for e in d.entities]
        alignment = metrics["ner"]["alignment"][side]
        assert alignment["dropped"] == sum(_trimmed(t, e) is None for t, e in entities)
        assert alignment["snapped"] == sum(
            _trimmed(t, e) not in (None, (e.start, e.end, e.label)) for t, e in entities
        )


# --- regression: «lúc 17h20», split by the text pipeline's words into «17» + «h20» ----------------

TEXT = "Bệnh nhân BN0123 tử vong lúc 17h20 hôm nay"
AT = TEXT.index("17h20")
GOLD_TIME = Entity(AT, AT + 5, "TIME")
SPLIT = [Entity(AT, AT + 2, "PATIENT_ID"), Entity(AT + 2, AT + 5, "SYMPTOM_AND_DISEASE")]  # «17» «h20»


def test_a_prediction_splitting_a_syllable_token_is_scored_by_the_evaluation_used_in_training():
    gold = [_doc("dev_word-00109", TEXT, [Entity(10, 16, "PATIENT_ID"), GOLD_TIME])]
    pred = [_doc("dev_word-00109", TEXT, [Entity(10, 16, "PATIENT_ID"), *SPLIT])]
    metrics = evaluate(gold, pred, scheme=SCHEME, n_boot=0)  # what xdd train / xdd cv run on dev
    assert (metrics["ner"]["micro"]["tp"], metrics["ner"]["micro"]["predicted"]) == (1, 3)
    assert metrics["ner"]["errors"]["TIME"]["wrong_boundary"] == 1
    assert metrics["ner"]["alignment"]["pred"] == {"snapped": 0, "dropped": 0, "overlapping_dropped": 0}


def test_gold_entities_meeting_inside_a_syllable_token_score_perfectly_against_themselves():
    gold = [_doc("d", TEXT, [Entity(SPLIT[0].start, SPLIT[0].end, "TIME"), SPLIT[1]])]
    assert evaluate(gold, gold, scheme=SCHEME, n_boot=0)["ner"]["micro"]["f1"] == 1.0


def test_a_prediction_of_part_of_a_token_is_a_wrong_boundary_not_an_exact_match():
    gold = _doc("d", TEXT, [GOLD_TIME])
    pred = _doc("d", TEXT, [Entity(AT, AT + 2, "TIME")])  # «17» of «17h20»
    assert [e.kind for e in entity_errors(gold, pred)] == ["wrong_boundary"]
    metrics = evaluate([gold], [pred], scheme=SCHEME, n_boot=0)
    assert metrics["ner"]["micro"]["tp"] == 0 and metrics["ner"]["micro"]["f1"] == 0.0
    assert metrics["ner"]["errors"]["TIME"] == {
        "exact": 0, "wrong_type": 0, "wrong_boundary": 1, "missed": 0, "spurious": 0,
    }
    assert metrics["ner"]["alignment"]["pred"]["snapped"] == 0  # nothing was widened to the whole token


def _write_corpus(folder: Path, name: str, docs: list[Document]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(d.to_json(), ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    (tmp_path / "labels.json").write_text(json.dumps(SCHEME.to_json()), encoding="utf-8")
    return _write_corpus(tmp_path, "gold.jsonl", [_doc("dev_word-00109", TEXT, [Entity(10, 16, "PATIENT_ID"), GOLD_TIME])])


def test_xdd_evaluate_scores_a_prediction_file_that_splits_a_syllable_token(tmp_path, gold_file, capsys):
    pred = _write_corpus(tmp_path, "pred.jsonl", [_doc("dev_word-00109", TEXT, [Entity(10, 16, "PATIENT_ID"), *SPLIT])])
    out = tmp_path / "report"
    assert main(["evaluate", "--predictions", str(pred), "--data", str(gold_file), "--out", str(out), "--n-boot", "10"]) == 0
    captured = capsys.readouterr()
    assert "error" not in captured.err and "warning" not in captured.err
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["ner"]["micro"]["tp"], metrics["ner"]["micro"]["predicted"], metrics["ner"]["micro"]["support"]) == (1, 3, 2)
    assert metrics["ner"]["errors"]["TIME"]["wrong_boundary"] == 1


def test_xdd_evaluate_warns_about_overlapping_predictions_and_scores_the_rest(tmp_path, gold_file, capsys):
    overlapping = [Entity(10, 16, "PATIENT_ID"), GOLD_TIME, Entity(AT + 2, AT + 9, "SYMPTOM_AND_DISEASE")]
    pred = _write_corpus(tmp_path, "pred.jsonl", [_doc("dev_word-00109", TEXT, overlapping)])
    out = tmp_path / "report"
    assert main(["evaluate", "--predictions", str(pred), "--data", str(gold_file), "--out", str(out), "--n-boot", "10"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {pred}: document 'dev_word-00109': predicted entities TIME [{AT}, {AT + 5}) «17h20» and " \
           f"SYMPTOM_AND_DISEASE [{AT + 2}, {AT + 9}) «h20 hôm» overlap" in err
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["ner"]["micro"]["f1"] == 1.0  # the two that do not overlap are both right
    assert metrics["ner"]["alignment"]["pred"]["overlapping_dropped"] == 1
    assert "1 overlapping a kept prediction left out" in (out / "report.md").read_text(encoding="utf-8")
