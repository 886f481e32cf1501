"""xdd evaluate: prediction files, the --model path (with a fake predictor), output and errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from xdd.models.document.corpus import read_documents
from xdd.training.cli import main

FIXTURES = Path("tests/fixtures/eval").resolve()
GOLD, PRED = str(FIXTURES / "gold.jsonl"), str(FIXTURES / "predictions.jsonl")


def test_evaluate_without_out_prints_the_summary_and_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--predictions", PRED, "--data", GOLD, "--n-boot", "50"]) == 0
    printed = capsys.readouterr().out
    assert "NER micro F1" in printed and "0.364" in printed
    assert "Nothing was written; pass --out DIR" in printed
    assert list(tmp_path.iterdir()) == []


def test_evaluate_with_out_writes_the_report_folder_and_records_the_gold(tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--predictions", PRED, "--data", GOLD, "--out", str(out), "--n-boot", "50"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"metrics.json", "report.md", "report.html", "predictions.jsonl", "evaluation.json"} <= names
    assert json.loads((out / "evaluation.json").read_text(encoding="utf-8"))["gold"] == GOLD
    assert f"to {out}" in capsys.readouterr().out


class FakePredictor:
    """Stands in for xdd.models.predict.predictor.Predictor: returns the fixture predictions under other ids."""

    loaded: list[tuple[str, str]] = []

    @classmethod
    def load(cls, path, backend="torch"):
        cls.loaded.append((str(path), backend))
        return cls()

    def predict(self, texts):
        by_text = {doc.text: doc for doc in read_documents(PRED)}
        return [dataclasses.replace(by_text[text], id=f"x{i}") for i, text in enumerate(texts)]


def test_evaluate_model_predicts_the_gold_texts_and_carries_the_gold_ids_over(monkeypatch, capsys):
    monkeypatch.setattr("xdd.models.predict.predictor.Predictor", FakePredictor)
    FakePredictor.loaded.clear()
    assert main(["evaluate", "--model", "bundle-dir", "--data", GOLD, "--n-boot", "50"]) == 0
    assert FakePredictor.loaded == [("bundle-dir", "torch")]
    assert "0.364" in capsys.readouterr().out  # same figures as the prediction file


def test_evaluate_model_rejects_a_predictor_that_returns_too_few_documents(monkeypatch, capsys):
    class Short(FakePredictor):
        def predict(self, texts):
            return super().predict(texts)[:1]

    monkeypatch.setattr("xdd.models.predict.predictor.Predictor", Short)
    assert main(["evaluate", "--model", "b", "--data", GOLD]) == 2
    assert "b: the predictor returned 1 documents for 2 texts" in capsys.readouterr().err


def test_evaluate_reports_a_missing_gold_file_by_path(tmp_path, capsys):
    assert main(["evaluate", "--predictions", PRED, "--data", str(tmp_path / "nope.jsonl")]) == 2
    assert f"{tmp_path / 'nope.jsonl'}: no such file or directory" in capsys.readouterr().err


def test_evaluate_reports_a_bad_labels_json_beside_the_gold(tmp_path, capsys):
    (tmp_path / "gold.jsonl").write_text(Path(GOLD).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "labels.json").write_text('{"entities": ["PER"], "extra": []}', encoding="utf-8")
    assert main(["evaluate", "--predictions", PRED, "--data", str(tmp_path / "gold.jsonl")]) == 2
    assert "labels.json: unknown key(s) ['extra']" in capsys.readouterr().err


def test_evaluate_rejects_a_non_positive_number_of_resamples(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["evaluate", "--predictions", PRED, "--data", GOLD, "--n-boot", "0"])
    assert caught.value.code == 2
    assert "expected a positive integer, got '0'" in capsys.readouterr().err


def test_evaluate_needs_either_a_model_or_predictions(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--data", GOLD])
    assert "one of the arguments --model --predictions is required" in capsys.readouterr().err


def test_a_prediction_for_an_id_that_is_not_in_the_gold_says_so(tmp_path, capsys):
    (tmp_path / "pred.jsonl").write_text(json.dumps({"id": "not-in-gold", "entities": [], "paragraphs": []}) + "\n",
                                         encoding="utf-8")  # fmt: skip
    assert main(["evaluate", "--predictions", str(tmp_path / "pred.jsonl"), "--data", GOLD]) == 2
    err = capsys.readouterr().err
    assert "a prediction for document id 'not-in-gold', which is not in the gold corpus" in err
    assert "missing key 'text'" not in err
