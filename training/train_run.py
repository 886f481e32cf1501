"""``xdd train``: split, train with any trainer, save the model, evaluate, write the run folder.

The trainer is a ``xdd.training.cv.TrainFn`` (baselines or transformer alike), so
the run folder has the same layout whatever was trained::

    config.yaml, corpus.json, versions.json, git.json, train.log   (training.runs)
    choices.json                what the transformer trainer chose (epochs, thresholds) and on what
    model/                      the trained model (the predictor's ``save``)
    dev/, test/                 evaluation folders (eval.report.write_report)

Under ``torchrun`` every process trains (Trainer's DDP) and only the main
process writes.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from pathlib import Path

from xdd.eval.evaluate import evaluate
from xdd.eval.report import write_report
from xdd.models.document.labels import scheme_for
from xdd.training.config import Config
from xdd.training.cv import TrainFn
from xdd.training.runs import RunFolder, kept_log_records
from xdd.training.splits import Split, load_split

log = logging.getLogger(__name__)


def is_main_process() -> bool:
    """False in the non-zero ranks of a ``torchrun`` / ``accelerate launch`` job."""
    return int(os.environ.get("RANK", "0")) == 0


def run_training(config: Config, out_dir: Path, train_fn: TrainFn) -> dict[str, Path]:
    """Train, save ``<out>/model``, evaluate on dev (and test); the written paths by name."""
    with kept_log_records() as early:  # a bad corpus stops the run before its folder is touched
        split = load_split(config.data)
        scheme = scheme_for(config.data.train)
    main = is_main_process()
    written: dict[str, Path] = {}
    with RunFolder(out_dir, early=early) if main else nullcontext() as run:
        if run is not None:
            run.record(config, {"train": config.data.train, "dev": config.data.dev, "test": config.data.test})
        log.info("train %d, dev %d, test %d document(s)", len(split.train), len(split.dev), len(split.test))
        predictor = train_fn(split.train, split.dev, config, scheme, Path(out_dir))
        if run is None:
            return written
        predictor.save(run.path / "model")
        written["model"] = run.path / "model"
        # With one document, or when the trainer chose out of fold and then trained on the dev
        # documents too (data.oof_below), there is no held-out dev: its figures are training
        # figures, written as such (train/), never as dev/, so no report or model card calls them dev.
        dev_name = "train" if trained_on_dev(split, config) else "dev"
        for name, docs in ((dev_name, split.dev), ("test", split.test)):
            if not docs:
                continue
            predictions = predictor.predict_documents(docs)
            metrics = evaluate(docs, predictions, scheme=scheme)
            note = " (the training documents: no held-out dev)" if name == "train" else ""
            explicit = getattr(config.data, name) if name != "train" else config.data.train
            write_report(run.path / name, metrics, docs, predictions, title=f"{config.name}: {name}{note}",
                         gold_path=explicit)  # fmt: skip
            written[name] = run.path / name
        written["log"] = run.path / "train.log"
    return written


def trained_on_dev(split: Split, config: Config) -> bool:
    """Whether the shipped model has seen the dev documents (so their figures are not held out).

    Below ``data.oof_below`` documents both trainers (baselines and transformer)
    choose out of fold and then train on the dev documents too.
    """
    from xdd.training.oof import oof_pool

    return split.dev_is_train or oof_pool(split.train, split.dev, config) is not None
