"""``xdd train``: split, train with any trainer, save the model, evaluate, write the run folder.

The trainer is a ``training.cv.TrainFn`` (baselines or transformer alike), so
the run folder has the same layout whatever was trained::

    config.yaml, corpus.json, versions.json, git.json, train.log   (training.runs)
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

from eval.evaluate import evaluate
from eval.report import write_report
from models.corpus import corpus_scheme
from training.config import Config
from training.cv import TrainFn
from training.runs import RunFolder
from training.splits import load_split

log = logging.getLogger(__name__)


def is_main_process() -> bool:
    """False in the non-zero ranks of a ``torchrun`` / ``accelerate launch`` job."""
    return int(os.environ.get("RANK", "0")) == 0


def run_training(config: Config, out_dir: Path, train_fn: TrainFn) -> dict[str, Path]:
    """Train, save ``<out>/model``, evaluate on dev (and test); the written paths by name."""
    split = load_split(config.data)
    scheme = corpus_scheme(config.data.train)
    main = is_main_process()
    written: dict[str, Path] = {}
    with RunFolder(out_dir) if main else nullcontext() as run:
        if run is not None:
            run.record(config, {"train": config.data.train, "dev": config.data.dev, "test": config.data.test})
        log.info("train %d, dev %d, test %d document(s)", len(split.train), len(split.dev), len(split.test))
        predictor = train_fn(split.train, split.dev, config, scheme, Path(out_dir))
        if run is None:
            return written
        predictor.save(run.path / "model")
        written["model"] = run.path / "model"
        for name, docs in (("dev", split.dev), ("test", split.test)):
            if not docs:
                continue
            predictions = predictor.predict_documents(docs)
            metrics = evaluate(docs, predictions, scheme=scheme)
            note = " (dev = train: only one document)" if name == "dev" and split.dev_is_train else ""
            explicit = getattr(config.data, name)  # None when dev was split off train
            write_report(run.path / name, metrics, docs, predictions, title=f"{config.name}: {name}{note}",
                         gold_path=explicit)  # fmt: skip
            written[name] = run.path / name
        written["log"] = run.path / "train.log"
    return written
