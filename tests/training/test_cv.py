"""Cross-validation by document: ``run_cv`` with any trainer, and ``xdd cv``."""

from __future__ import annotations

import json
import sys
import time

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Paragraph
from xdd.training.cli import main
from xdd.training.config import load_config
from xdd.training.cv import cv_table, run_cv

ROOT = REPO
FIXTURES = FIXTURES_DIR / "baselines"
JOINT, NER_ONLY = FIXTURES / "joint", FIXTURES / "ner_only"
CONFIG = ROOT / "training" / "configs" / "baselines.yaml"
GOLD = ROOT / "data" / "annotations"


class Oracle:
    """A predictor that returns the gold annotations it was given (perfect scores)."""

    def predict_documents(self, docs: list[Document]) -> list[Document]:
        return list(docs)


def test_run_cv_trains_each_fold_without_its_test_documents_and_aggregates(tmp_path):
    calls = []

    def train_fn(train, dev, config, scheme, fold_dir):
        calls.append(({d.id for d in train}, {d.id for d in dev}, fold_dir))
        return Oracle()

    config = load_config(CONFIG, [f"data.train={JOINT}"])
    metrics = run_cv(config, "loo", tmp_path, train_fn)
    all_ids = {"joint_a", "joint_b", "joint_c", "joint_d"}
    for (train, dev, fold_dir), held_out in zip(calls, sorted(all_ids)):
        assert train | dev == all_ids - {held_out} and not train & dev
        assert fold_dir == tmp_path / f"fold-{sorted(all_ids).index(held_out)}"
    assert metrics["cv"]["n_folds"] == 4 and metrics["ner"]["micro"]["f1"] == 1.0
    assert metrics["cv"]["summary"]["ner.micro.f1"] == {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}
    for i in range(4):
        fold = json.loads((tmp_path / f"fold-{i}" / "metrics.json").read_text(encoding="utf-8"))
        assert fold["n_documents"] == 1
        assert (tmp_path / f"fold-{i}" / "predictions.jsonl").read_text(encoding="utf-8").count("\n") == 1
    for name in ("metrics.json", "report.html", "predictions.jsonl", "config.yaml", "corpus.json", "train.log"):
        assert (tmp_path / name).is_file(), name


def test_cv_table_lists_every_fold_and_the_mean_and_std(tmp_path):
    config = load_config(CONFIG, [f"data.train={JOINT}"])
    table = cv_table(run_cv(config, 2, tmp_path, lambda *args: Oracle()))
    lines = table.splitlines()
    assert lines[0].split() == ["fold", "docs", "entity", "F1", "topic", "F1"]
    assert lines[1].split() == ["0", "2", "1.000", "1.000"] and lines[2].split()[0] == "1"
    assert lines[3].split() == ["mean", "±", "std", "4", "1.000", "±", "0.000", "1.000", "±", "0.000"]


def test_xdd_cv_with_more_folds_than_documents_exits_2_naming_both(tmp_path, capsys):
    code = main(["cv", "--config", str(CONFIG), "--set", f"data.train={JOINT}", "--folds", "9", "--out", str(tmp_path)])
    assert code == 2
    assert "--folds 9 is more than the 4 documents" in capsys.readouterr().err


def test_xdd_cv_with_a_folds_value_that_is_not_a_number_exits_2(tmp_path, capsys):
    assert main(["cv", "--config", str(CONFIG), "--folds", "all", "--out", str(tmp_path)]) == 2
    assert "--folds 'all': expected a number of folds (e.g. 5) or 'loo'" in capsys.readouterr().err


def test_a_transformer_config_with_a_missing_backbone_stops_before_writing_anything(tmp_path, capsys):
    config = ROOT / "training" / "configs" / "tiny-joint.yaml"
    out = tmp_path / "run"
    args = ["cv", "--config", str(config), "--folds", "2", "--out", str(out),
            "--set", f"model.backbone={tmp_path / 'absent'}"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"cannot load backbone '{tmp_path / 'absent'}'" in err and "xdd init-model" in err
    assert not out.exists()


def test_xdd_cv_on_a_ner_only_corpus_reports_entity_f1_and_no_topic_figure(tmp_path, capsys):
    args = ["cv", "--config", str(CONFIG), "--set", f"data.train={NER_ONLY}", "--folds", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[-2].startswith("mean ± std") and table[-2].rstrip().endswith("-")
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["topics"]["labels"] == []


@pytest.mark.skipif(not GOLD.is_dir() or not list(GOLD.glob("*.jsonl")), reason="gold corpus not present")
def test_xdd_cv_leave_one_out_on_the_gold_corpus_reports_per_fold_and_mean_figures_in_seconds(tmp_path, capsys):
    started = time.perf_counter()
    code = main(["cv", "--config", str(CONFIG), "--folds", "loo", "--out", str(tmp_path),
                 "--set", f"data.train={GOLD}"])  # fmt: skip
    seconds = time.perf_counter() - started
    out = capsys.readouterr().out
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    n_docs = len(list(GOLD.glob("*.jsonl")))
    assert metrics["cv"]["n_folds"] == n_docs == len(metrics["cv"]["folds"])
    for fold in metrics["cv"]["folds"]:
        assert {"ner.micro.f1", "topics.paragraph.micro.f1"} <= set(fold["figures"])
    summary = metrics["cv"]["summary"]
    mean_line = next(line for line in out.splitlines() if line.startswith("mean ± std"))
    assert f"{summary['ner.micro.f1']['mean']:.3f} ± {summary['ner.micro.f1']['std']:.3f}" in mean_line
    assert f"{summary['topics.paragraph.micro.f1']['mean']:.3f}" in mean_line
    print(f"LOO CV on {n_docs} gold documents: {seconds:.1f}s\n{out}", file=sys.stderr)
    assert seconds < 120


def test_the_learning_curve_trains_on_1_to_n_minus_1_other_documents_and_never_on_the_held_out_one(tmp_path):
    calls = []

    class Echo:  # predicts the gold of documents it was trained on, nothing for the others
        def __init__(self, seen):
            self.seen = seen

        def predict_documents(self, docs):
            return [d if d.id in self.seen else Document(d.id, d.text, paragraphs=[Paragraph(p.start, p.end)
                                                                                    for p in d.paragraphs])
                    for d in docs]  # fmt: skip

    def train_fn(train, dev, config, scheme, fold_dir):
        calls.append({d.id for d in train} | {d.id for d in dev})
        return Echo(calls[-1])

    config = load_config(CONFIG, [f"data.train={JOINT}"])
    metrics = run_cv(config, "loo", tmp_path, train_fn, with_learning_curve=True)
    curve = metrics["learning_curve"]
    assert [p["train_documents"] for p in curve["points"]] == [1, 2, 3]
    assert all(p["held_out_documents"] == 4 for p in curve["points"])
    curve_calls = calls[4:]  # after the 4 folds
    assert [len(c) for c in curve_calls] == [1] * 4 + [2] * 4 + [3] * 4
    assert all(p["entity_f1"] == 0.0 for p in curve["points"]), "the held-out document is never trained on"
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Learning curve" in report and "every point rests on 4 documents" in report


def test_xdd_cv_prints_the_learning_curve_when_asked(tmp_path, capsys):
    assert main(["cv", "--config", "baselines", "--set", f"data.train={JOINT}", "--set", "crf.max_iterations=20",
                 "--folds", "loo", "--learning-curve", "--out", str(tmp_path / "cv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "learning curve (out-of-fold, pooled over held-out documents):" in out
    assert json.loads((tmp_path / "cv" / "metrics.json").read_text(encoding="utf-8"))["learning_curve"]["points"]
