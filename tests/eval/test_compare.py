"""xdd compare: paired bootstrap differences between two run folders, and the metrics-only fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from xdd.eval.compare import compare_runs, find_run
from xdd.eval.corpus_io import load_gold
from xdd.eval.evaluate import evaluate
from xdd.models.document.corpus import read_documents
from xdd.models.errors import EvaluationError
from xdd.training.cli import main

FIXTURES = Path("tests/fixtures/eval")
GOLD = FIXTURES / "gold.jsonl"


def make_run(folder: Path, predictions: Path, gold: Path | None = GOLD, metrics: bool = False) -> Path:
    """A run folder as documented in eval/compare.py: predictions.jsonl, evaluation.json, optional metrics.json."""
    folder.mkdir(parents=True)
    shutil.copy(predictions, folder / "predictions.jsonl")
    if gold is not None:
        (folder / "evaluation.json").write_text(json.dumps({"gold": str(gold.resolve())}), encoding="utf-8")
    if metrics:
        docs, scheme = load_gold(GOLD)
        result = evaluate(docs, read_documents(predictions), scheme=scheme, n_boot=50)
        (folder / "metrics.json").write_text(json.dumps(result), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path):
    """Run A: the hand-crafted predictions of test_evaluate.py; run B: perfect predictions (the gold itself)."""
    return make_run(tmp_path / "a", FIXTURES / "predictions.jsonl"), make_run(tmp_path / "b", GOLD)


def test_paired_differences_and_intervals_equal_the_hand_computed_values(runs):
    result = compare_runs(*runs, n_boot=1000, seed=0)
    assert result["paired"] is True and result["n_documents"] == 2
    # B is perfect (every figure 1).  A's NER micro F1 is 1/3 on document a, 2/5 on b, 4/11 on both
    # (see test_evaluate.py), so B - A is 7/11, and over the resamples {a,a}, {a,b}, {b,b}: [1 - 2/5, 1 - 1/3].
    ner = result["metrics"]["ner.micro.f1"]
    assert ner["a"] == pytest.approx(4 / 11) and ner["b"] == 1.0
    assert ner["difference"] == pytest.approx(7 / 11)
    assert ner["ci95"] == pytest.approx([3 / 5, 2 / 3])
    # Paragraph topics micro F1 of A: 4/5 on a, 0 on b, 4/7 on both -> B - A = 3/7, interval [1/5, 1].
    topics = result["metrics"]["topics.paragraph.micro.f1"]
    assert topics["difference"] == pytest.approx(3 / 7)
    assert topics["ci95"] == pytest.approx([1 / 5, 1.0])


def test_comparing_a_run_with_itself_prints_zero_differences_and_writes_json(runs, tmp_path, capsys):
    out = tmp_path / "comparison.json"
    assert main(["compare", str(runs[0]), str(runs[0]), "--n-boot", "100", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ner.micro.f1" in printed and "[+0.000, +0.000]" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert all(row["difference"] == 0.0 and row["ci95"] == [0.0, 0.0] for row in saved["metrics"].values())


def test_two_metrics_json_files_give_differences_without_interval_and_say_why(tmp_path, capsys):
    a = make_run(tmp_path / "a", FIXTURES / "predictions.jsonl", metrics=True) / "metrics.json"
    b = make_run(tmp_path / "b", GOLD, metrics=True) / "metrics.json"
    assert main(["compare", str(a), str(b)]) == 0
    printed = capsys.readouterr().out
    assert "no paired interval" in printed and "needs both runs' predictions" in printed
    result = compare_runs(a, b)
    assert result["paired"] is False
    assert result["metrics"]["ner.micro.f1"]["difference"] == pytest.approx(7 / 11)
    assert result["metrics"]["ner.micro.f1"]["ci95"] is None


def test_data_option_replaces_the_gold_recorded_in_the_runs(tmp_path):
    a = make_run(tmp_path / "a", FIXTURES / "predictions.jsonl", gold=None)
    b = make_run(tmp_path / "b", GOLD, gold=None)
    assert compare_runs(a, b, data=GOLD, n_boot=20)["gold"] == str(GOLD)


def test_runs_scored_on_different_gold_corpora_are_refused_without_data(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(GOLD, other / "gold.jsonl")
    a = make_run(tmp_path / "a", FIXTURES / "predictions.jsonl")
    b = make_run(tmp_path / "b", GOLD, gold=other / "gold.jsonl")
    with pytest.raises(EvaluationError, match="scored on different gold corpora .* pass --data GOLD"):
        compare_runs(a, b)


def test_a_run_without_recorded_gold_asks_for_data(tmp_path, capsys):
    a = make_run(tmp_path / "a", FIXTURES / "predictions.jsonl", gold=None)
    assert main(["compare", str(a), str(a)]) == 2
    assert f"{a}: no evaluation.json records the gold corpus; pass --data GOLD" in capsys.readouterr().err


def _missing(path: Path) -> Path:
    return path


def _empty_folder(path: Path) -> Path:
    path.mkdir()
    return path


def _text_file(path: Path) -> Path:
    path.mkdir()
    (path / "run.txt").write_text("x", encoding="utf-8")
    return path / "run.txt"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (_missing, "no such run folder or metrics.json file"),
        (_empty_folder, "neither predictions.jsonl nor metrics.json found; a run folder needs predictions.jsonl"),
        (_text_file, "expected a run folder or a metrics.json file"),
    ],
    ids=["missing path", "empty folder", "not json"],
)
def test_find_run_explains_what_a_run_folder_needs(tmp_path, setup, message):
    with pytest.raises(EvaluationError, match=message):
        find_run(setup(tmp_path / "run"))


def test_a_metrics_json_of_another_format_is_reported_with_the_missing_key(tmp_path):
    bad = tmp_path / "metrics.json"
    bad.write_text('{"f1": 0.5}', encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"metrics.json: not an xdd metrics.json \(missing key 'ner'\)"):
        compare_runs(bad, bad)


def test_a_run_missing_a_document_is_an_error_naming_the_id(tmp_path):
    partial = tmp_path / "partial.jsonl"
    partial.write_text(GOLD.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    a = make_run(tmp_path / "a", partial)
    with pytest.raises(EvaluationError, match=r"no prediction for gold document id\(s\) \['b_lang-son'\]"):
        compare_runs(a, make_run(tmp_path / "b", GOLD))
