"""Training a transformer with its choices made on dev or out of fold: :func:`fit_transformer`, :func:`make_train_fn`.

When to stop and the per-topic thresholds are chosen with the same predictor
users run, in one of two ways (``xdd.training.oof``, docs/training.md,
"Choices on a tiny corpus"):

- **dev** (``data.oof_below`` documents or more, :func:`fit_on_dev`): dev
  evaluation every epoch (or ``training.eval_steps``), best checkpoint kept,
  early stopping, thresholds tuned on dev;
- **out of fold** (fewer, :func:`fit_out_of_fold`): for each document, a fit
  on all the others predicts it after every epoch; the epoch and the
  thresholds are chosen on the pooled predictions; the shipped model is then
  trained on all of them for that many epochs.  That is n + 1 trainings for
  n documents.

Either way what was chosen, on what, is recorded in ``choices.json``.  The
parts (datasets, collator, sampler, Trainer, arguments, scoring) are in
:mod:`xdd.training.transformer`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from transformers import EarlyStoppingCallback, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.predict.torch_backend import TransformerPredictor
from xdd.training.backbone import load_tokenizer
from xdd.training.config import Config
from xdd.training.cv import TrainFn
from xdd.training.oof import (
    choose_epoch,
    described,
    oof_pool,
    out_of_fold_predictions_by_epoch,
    paragraph_count,
    record_choices,
)
from xdd.training.train_run import is_main_process
from xdd.training.transformer import (
    SELECTION,
    Predict,
    Setup,
    held_out_predictor,
    resume_checkpoint,
    selection_figures,
    training_arguments,
)

log = logging.getLogger(__name__)
# The out-of-fold fits' scratch folder inside the work folder, removed once they are done.
OOF_SCRATCH = "oof-fits"


class EpochEndPredictions(TrainerCallback):
    """Predicts the held-out documents at the end of every epoch: ``predictions`` = [(epochs trained, docs)].

    The Trainer calls ``on_epoch_end`` after a last epoch cut short by
    ``training.max_steps`` too (the epochs trained are then a fraction).
    """

    def __init__(self, predict: Predict) -> None:
        self.predict = predict
        self.predictions: list[tuple[float, list[Document]]] = []

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model: Any = None, **_: Any
    ) -> None:
        self.predictions.append((float(state.epoch), self.predict(model)))


def fit_transformer(
    train_docs: list[Document],
    dev_docs: list[Document],
    config: Config,
    scheme: LabelScheme,
    work_dir: str | Path,
    resume: bool = False,
) -> TransformerPredictor:
    """A model trained on ``train_docs`` with its epochs and thresholds chosen on ``dev_docs`` or out of fold.

    Below ``data.oof_below`` documents (``xdd.training.oof.oof_pool``: the
    training and split-off dev documents together) the choices are made out of
    fold over all of them and the model is trained on all of them: n + 1
    trainings for n documents (:func:`fit_out_of_fold`).  Otherwise the dev
    split decides, with early stopping and the best checkpoint
    (:func:`fit_on_dev`).  Either way ``work_dir/choices.json`` says what was
    chosen, on what.
    """
    work_dir = Path(work_dir)
    setup = Setup.load(config, scheme)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(work_dir / "tensorboard")  # the out-of-fold fits write none
    pool = oof_pool(train_docs, dev_docs, config)
    if pool is None:
        predictor, choices = fit_on_dev(setup, train_docs, dev_docs, work_dir, resume)
    else:
        predictor, choices = fit_out_of_fold(setup, pool, work_dir, resume)
    if is_main_process():
        record_choices(work_dir, choices)
    return predictor


def fit_on_dev(
    setup: Setup, train_docs: list[Document], dev_docs: list[Document], work_dir: Path, resume: bool
) -> tuple[TransformerPredictor, dict[str, Any]]:
    """Train on ``train_docs``, evaluate on ``dev_docs``, keep the best checkpoint, tune thresholds on dev."""
    config = setup.config
    predictor = setup.new_predictor()
    callbacks = []
    if dev_docs and config.training.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.training.early_stopping_patience))
    args = training_arguments(config, work_dir, setup.task, has_dev=bool(dev_docs))
    trainer = setup.train(predictor, train_docs, args, dev_docs, callbacks,
                          resume_from=resume_checkpoint(work_dir) if resume else None)  # fmt: skip
    if dev_docs and setup.task != "ner":
        predictor.thresholds = setup.tuned_thresholds(dev_docs, predictor.predict_documents(dev_docs))
        log.info("topic thresholds tuned on %d dev document(s): %s", len(dev_docs), predictor.thresholds)
    state = trainer.state
    return predictor, {
        "chosen_on": "dev" if dev_docs else "none",
        **described(dev_docs),
        "epochs_trained": state.epoch,
        "best_step": state.best_global_step,
        "best_checkpoint": state.best_model_checkpoint,
        "selection": state.best_metric,
        "thresholds": predictor.thresholds,
    }


def fit_out_of_fold(
    setup: Setup, pool: list[Document], work_dir: Path, resume: bool
) -> tuple[TransformerPredictor, dict[str, Any]]:
    """Choose the epochs and thresholds out of fold over ``pool``, then train on all of it: n + 1 trainings.

    Each of the n fits trains on all the pooled documents but one (same
    config and seed, no dev, no early stopping, no checkpoint) and predicts
    the one left out after every epoch; the epoch whose pooled predictions
    have the best selection figure is chosen, and the thresholds are tuned on
    that epoch's pooled predictions.  The shipped model is then trained on
    every pooled document for that many epochs (``training.max_steps`` no
    longer applies: the epochs are the choice).  ``--resume`` applies to that
    final training only; the fits run again from scratch (same seed: the same choices up to a GPU's
    non-determinism).
    """
    config, task = setup.config, setup.task
    log.info("%d document(s) < data.oof_below=%d: epochs and topic thresholds chosen out of fold on %d "
             "paragraphs (%d + 1 trainings), the model then trained on all of them (%s)", len(pool),
             config.data.oof_below, paragraph_count(pool), len(pool), ", ".join(d.id for d in pool))  # fmt: skip
    if resume:
        log.warning("--resume resumes the final training only: the %d out-of-fold fits run again from scratch",
                    len(pool))  # fmt: skip
    scratch = work_dir / OOF_SCRATCH

    def fit(rest: list[Document], held_out: Document) -> list[tuple[float, Document]]:
        return _predict_after_every_epoch(setup, rest, held_out, scratch)

    def score(gold: list[Document], pred: list[Document]) -> float:
        return selection_figures(gold, pred, setup.scheme, task)[SELECTION]

    try:
        found = out_of_fold_predictions_by_epoch(pool, fit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    epoch, figures = choose_epoch(pool, found.predictions, score)
    thresholds = setup.tuned_thresholds(pool, found.predictions[epoch])
    log.info("topic thresholds tuned on the out-of-fold predictions of epoch %d: %s", epoch, thresholds)
    final = dataclasses.replace(config, training=dataclasses.replace(
        config.training, epochs=found.epochs[epoch], max_steps=-1, early_stopping_patience=0))  # fmt: skip
    predictor = setup.new_predictor()
    log.info("final training: %s epoch(s) on all %d document(s), no dev", found.epochs[epoch], len(pool))
    setup.train(predictor, pool, training_arguments(final, work_dir, task, has_dev=False),
                resume_from=resume_checkpoint(work_dir) if resume else None)  # fmt: skip
    predictor.thresholds = thresholds
    return predictor, {
        "chosen_on": "out_of_fold",
        **described(pool),
        "trainings": len(pool) + 1,
        "epoch": epoch,
        "epochs": found.epochs[epoch],
        "selection": figures[epoch],
        "selection_by_epoch": {str(end): value for end, value in figures.items()},
        "thresholds": thresholds,
    }


def _predict_after_every_epoch(
    setup: Setup, rest: list[Document], held_out: Document, scratch: Path
) -> list[tuple[float, Document]]:
    """One out-of-fold fit: train on ``rest`` only, predicting ``held_out`` at the end of every epoch."""
    log.info("out-of-fold fit without %s", held_out.id)
    predictor = setup.new_predictor()
    spy = EpochEndPredictions(held_out_predictor(predictor, [held_out]))
    setup.train(predictor, rest, training_arguments(setup.config, scratch, setup.task, has_dev=False, keep=False),
                callbacks=[spy])  # fmt: skip
    return [(epochs, predicted) for epochs, (predicted,) in spy.predictions]


def make_train_fn(config: Config, resume: bool = False, keep_checkpoints: bool = True) -> TrainFn:
    """:func:`fit_transformer` as a ``xdd.training.cv.TrainFn``; the backbone is checked now, before any work.

    ``resume`` continues from the last checkpoint in the work folder (the final
    training only, below ``data.oof_below``).  Without ``keep_checkpoints``
    (cross-validation folds) the checkpoints are removed once the fold's
    model is in memory.  Each fold's trainer sees only that fold's training
    documents, so choices made out of fold stay nested inside the fold.
    """
    load_tokenizer(config.model.backbone)

    def train_fn(train: list[Document], dev: list[Document], cfg: Config, scheme: LabelScheme,
                 work_dir: Path) -> TransformerPredictor:  # fmt: skip
        predictor = fit_transformer(train, dev, cfg, scheme, work_dir, resume=resume)
        if not keep_checkpoints:
            shutil.rmtree(Path(work_dir) / "checkpoints", ignore_errors=True)
        return predictor

    return train_fn
