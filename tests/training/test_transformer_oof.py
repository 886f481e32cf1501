"""The transformer trainer on a tiny corpus (``data.oof_below``): epochs and thresholds chosen out of fold.

Three small documents (three paragraphs each, one batch per epoch) and a tiny
random model: each run is a few seconds.  Spies on ``window_dataset`` (what
each fit learns from) and ``held_out_predictor`` (what each fit predicts)
check that a held-out document never enters its own fit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Paragraph
from xdd.models.document.corpus import read_documents, write_documents
from xdd.models.document.labels import scheme_for
from xdd.training import transformer, transformer_fit
from xdd.training.config import load_config
from xdd.training.cv import run_cv
from xdd.training.splits import Split
from xdd.training.train_run import run_training, trained_on_dev
from xdd.training.transformer_fit import OOF_SCRATCH, fit_transformer, make_train_fn

JOINT = FIXTURES_DIR / "baselines" / "joint"
TINY = REPO / "training" / "configs" / "tiny-joint.yaml"


def three_docs() -> list[Document]:
    return read_documents(JOINT)[:3]


def tiny_config(backbone: Path, *overrides: str):
    return load_config(TINY, [f"model.backbone={backbone}", "training.logging_steps=50", "training.epochs=3",
                              f"data.train={JOINT}", *overrides])  # fmt: skip


class Spies:
    """Records the documents of every training set and of every held-out prediction, and the threshold tuning."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.trained_on: list[list[str]] = []
        self.predicted: list[list[str]] = []
        self.tuned: list[tuple[list[str], tuple]] = []
        real_windows, real_predictor = transformer.window_dataset, transformer_fit.held_out_predictor
        real_tune = transformer.tune_thresholds

        def windows(docs, pipeline, scheme, task):
            self.trained_on.append([d.id for d in docs])
            return real_windows(docs, pipeline, scheme, task)

        def predictor(model_predictor, docs):
            self.predicted.append([d.id for d in docs])
            return real_predictor(model_predictor, docs)

        def tune(gold, pred, topics, *settings):
            self.tuned.append(([d.id for d in gold], settings))
            return real_tune(gold, pred, topics, *settings)

        monkeypatch.setattr(transformer, "window_dataset", windows)
        for module in (transformer, transformer_fit):  # the dev scorer, the out-of-fold fits
            monkeypatch.setattr(module, "held_out_predictor", predictor)
        monkeypatch.setattr(transformer, "tune_thresholds", tune)


@pytest.fixture(scope="module")
def oof_run(tiny_model_dir, tmp_path_factory):
    """``xdd train`` of the tiny model on three documents (below data.oof_below=10), with the spies on."""
    corpus = tmp_path_factory.mktemp("three-docs") / "docs.jsonl"
    write_documents(corpus, three_docs())
    config = tiny_config(tiny_model_dir, f"data.train={corpus}", "thresholds.prior=0.4", "thresholds.prior_weight=2")
    out = tmp_path_factory.mktemp("oof-run")
    with pytest.MonkeyPatch.context() as patch:
        spies = Spies(patch)
        run_training(config, out, make_train_fn(config))
    return out, spies


def test_a_run_below_oof_below_records_its_choices_made_out_of_fold(oof_run):
    out, _ = oof_run
    choices = json.loads((out / "choices.json").read_text(encoding="utf-8"))
    assert choices["chosen_on"] == "out_of_fold"
    assert sorted(choices["documents"]) == ["joint_a", "joint_b", "joint_c"] and choices["paragraphs"] == 9
    assert choices["trainings"] == 4 and choices["epoch"] in (1, 2, 3) and choices["epochs"] == choices["epoch"]
    assert set(choices["selection_by_epoch"]) == {"1", "2", "3"}
    assert choices["selection"] == max(choices["selection_by_epoch"].values())
    shipped = json.loads((out / "model" / "xdd_model.json").read_text(encoding="utf-8"))["thresholds"]
    assert shipped == choices["thresholds"]
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "3 document(s) < data.oof_below=10: epochs and topic thresholds chosen out of fold on 9 paragraphs" in log
    assert f"epochs chosen out of fold: {choices['epoch']}" in log
    assert f"final training: {choices['epochs']} epoch(s) on all 3 document(s), no dev" in log


def test_no_fit_ever_learns_from_the_document_it_predicts(oof_run):
    _, spies = oof_run
    fits, final = spies.trained_on[:3], spies.trained_on[3:]
    held_out = spies.predicted
    assert [len(ids) for ids in held_out] == [1, 1, 1]
    for train, (left_out,) in zip(fits, held_out):
        assert left_out not in train and sorted([*train, left_out]) == ["joint_a", "joint_b", "joint_c"]
    assert sorted(final[0]) == ["joint_a", "joint_b", "joint_c"] and len(final) == 1, "no dev dataset"


def test_the_thresholds_are_tuned_on_the_pooled_out_of_fold_predictions_with_the_threshold_settings(oof_run):
    _, spies = oof_run
    tuned = [(sorted(gold), settings) for gold, settings in spies.tuned]
    assert tuned == [(["joint_a", "joint_b", "joint_c"], (0.4, 2.0))]


def test_the_shipped_model_trains_on_every_document_for_the_chosen_epochs_and_no_dev_is_reported(oof_run):
    out, _ = oof_run
    choices = json.loads((out / "choices.json").read_text(encoding="utf-8"))
    last = max((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 2 * choices["epoch"], "9 windows at batch 8: two steps per epoch"
    assert not any("eval_selection" in entry for entry in state["log_history"])
    assert not (out / "dev").exists() and (out / "train" / "metrics.json").is_file()
    assert not (out / OOF_SCRATCH).exists(), "the out-of-fold fits leave nothing on disk"


def test_a_transformer_run_below_oof_below_has_no_held_out_dev(tiny_model_dir):
    docs = three_docs()
    split = Split(train=docs[:2], dev=docs[2:])
    assert trained_on_dev(split, tiny_config(tiny_model_dir))
    assert not trained_on_dev(split, tiny_config(tiny_model_dir, "data.oof_below=3"))


def test_at_or_above_oof_below_the_dev_split_chooses_as_before(tiny_model_dir, tmp_path, monkeypatch):
    spies = Spies(monkeypatch)
    docs = three_docs()
    config = tiny_config(tiny_model_dir, "data.oof_below=3", "thresholds.prior=0.4")
    fit_transformer(docs[:2], docs[2:], config, scheme_for(JOINT), tmp_path)
    choices = json.loads((tmp_path / "choices.json").read_text(encoding="utf-8"))
    assert choices["chosen_on"] == "dev" and choices["documents"] == ["joint_c"]
    assert choices["best_checkpoint"] and choices["best_step"] in (1, 2, 3)
    assert spies.trained_on == [["joint_a", "joint_b"], ["joint_c"]], "the training set, then the dev set"
    assert spies.predicted == [["joint_c"]], "only dev is ever predicted"
    assert spies.tuned == [(["joint_c"], (0.4, 5.0))]
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text(encoding="utf-8"))
    assert [e["epoch"] for e in state["log_history"] if "eval_selection" in e] == [1, 2, 3]


def test_cv_folds_choose_out_of_fold_without_ever_seeing_their_test_document(tiny_model_dir, tmp_path, monkeypatch):
    spies = Spies(monkeypatch)
    corpus = tmp_path / "docs.jsonl"
    write_documents(corpus, three_docs())
    config = tiny_config(tiny_model_dir, f"data.train={corpus}", "training.epochs=1")
    fold_train_fn = make_train_fn(config, keep_checkpoints=False)
    seen_by_fold: list[set[str]] = []

    def train_fn(train, dev, cfg, scheme, fold_dir):
        spies.trained_on, spies.predicted = [], []
        model = fold_train_fn(train, dev, cfg, scheme, fold_dir)
        seen_by_fold.append(set().union(*spies.trained_on, *spies.predicted))
        return model

    run_cv(config, "loo", tmp_path / "cv", train_fn)
    for fold, seen in enumerate(seen_by_fold):
        choices = json.loads((tmp_path / "cv" / f"fold-{fold}" / "choices.json").read_text(encoding="utf-8"))
        assert choices["chosen_on"] == "out_of_fold" and set(choices["documents"]) == seen and len(seen) == 2
        (test_doc,) = [d.id for d in read_documents(tmp_path / "cv" / f"fold-{fold}" / "predictions.jsonl")]
        assert test_doc not in seen
        assert not (tmp_path / "cv" / f"fold-{fold}" / "checkpoints").exists()


class BestAtEpoch:
    """A stand-in for ``held_out_predictor``: perfect predictions at epoch ``best``, empty ones otherwise."""

    def __init__(self, best: int) -> None:
        self.best = best
        self.calls: dict[str, int] = {}

    def __call__(self, predictor, docs):
        def predict(model):
            (doc,) = docs
            self.calls[doc.id] = epoch = self.calls.get(doc.id, 0) + 1
            if epoch != self.best:
                return [Document(doc.id, doc.text, paragraphs=[Paragraph(p.start, p.end, []) for p in doc.paragraphs])]
            paragraphs = [Paragraph(p.start, p.end, list(p.topics), {t: 0.9 for t in p.topics}) for p in doc.paragraphs]
            return [Document(doc.id, doc.text, list(doc.entities), paragraphs)]

        return predict


def test_the_epoch_whose_pooled_predictions_score_best_is_chosen_and_trained_for(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(transformer_fit, "held_out_predictor", BestAtEpoch(best=2))
    docs = three_docs()
    fit_transformer(docs[:2], docs[2:], tiny_config(tiny_model_dir), scheme_for(JOINT), tmp_path)
    choices = json.loads((tmp_path / "choices.json").read_text(encoding="utf-8"))
    assert choices["epoch"] == 2 and choices["selection"] == 1.0
    assert choices["selection_by_epoch"]["1"] == choices["selection_by_epoch"]["3"] == 0.0
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 4 and state["epoch"] == 2.0


def test_resume_continues_the_final_training_and_says_the_fits_run_again(tiny_model_dir, tmp_path, monkeypatch, caplog):
    docs = three_docs()
    monkeypatch.setattr(transformer_fit, "held_out_predictor", BestAtEpoch(best=1))
    fit_transformer(docs[:2], docs[2:], tiny_config(tiny_model_dir), scheme_for(JOINT), tmp_path)
    monkeypatch.setattr(transformer_fit, "held_out_predictor", BestAtEpoch(best=3))
    with caplog.at_level(logging.INFO, logger="xdd.training"):
        fit_transformer(docs[:2], docs[2:], tiny_config(tiny_model_dir), scheme_for(JOINT), tmp_path, resume=True)
    assert "--resume resumes the final training only: the 3 out-of-fold fits run again from scratch" in caplog.text
    assert f"resuming from {tmp_path / 'checkpoints' / 'checkpoint-2'}" in caplog.text
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-6" / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 6 and json.loads((tmp_path / "choices.json").read_text())["epoch"] == 3


def test_a_failing_fit_leaves_no_scratch_folder_behind(tiny_model_dir, tmp_path, monkeypatch):
    def die(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(transformer_fit.EpochEndPredictions, "on_epoch_end", die)
    docs = three_docs()
    with pytest.raises(RuntimeError, match="out of memory"):
        fit_transformer(docs[:2], docs[2:], tiny_config(tiny_model_dir), scheme_for(JOINT), tmp_path)
    assert not (tmp_path / OOF_SCRATCH).exists() and not (tmp_path / "choices.json").exists()
