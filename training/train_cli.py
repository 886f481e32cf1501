"""``xdd train`` and ``xdd cv``: thin wrappers that pick the trainer from ``model.kind``.

Both trainers are a ``xdd.training.cv.TrainFn``: ``xdd.training.baselines`` (CRF +
TF-IDF, seconds) and ``xdd.training.transformer_fit.make_train_fn`` (the HF Trainer).
Heavy modules are imported inside the handlers so that ``xdd --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xdd.training.config import Config, load_config, resolve_config_path

if TYPE_CHECKING:
    from xdd.training.cv import TrainFn


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a model (transformer or baselines) and write a run folder",
        description="Train the model of a config; the run folder gets the resolved config, corpus hash, "
        "package versions, git commit, log, dev/test metrics and reports, and the model.",
    )
    _common_arguments(train)
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the run folder")
    train.set_defaults(func=run_train)

    cv = subparsers.add_parser(
        "cv",
        help="cross-validate a config by document (K folds or leave one document out)",
        description="Cross-validate on data.train: each fold's predictions and metrics in fold-<i>/, "
        "the aggregated metrics.json (mean and spread over folds) and report at the top.",
    )
    _common_arguments(cv)
    cv.add_argument("--folds", required=True, metavar="K|loo", help="number of folds (>= 2) or 'loo'")
    cv.add_argument("--learning-curve", action="store_true",
                    help="also F1 against the number of training documents, 1 … n-1 (n·(n-1) trainings)")  # fmt: skip
    cv.set_defaults(func=run_cv_command)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="a YAML config, or a shipped config's name (e.g. baselines)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set crf.c1=0.1 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<config name>/)")


def _config_and_out(args: argparse.Namespace) -> tuple[Config, Path]:
    from xdd.training.runs import default_out_dir

    config = load_config(resolve_config_path(args.config), args.overrides)
    return config, args.out or default_out_dir(config)


def train_fn_for(config: Config, resume: bool = False, keep_checkpoints: bool = True) -> TrainFn:
    """The trainer of ``model.kind``; for a transformer, the backbone is checked before any work."""
    if config.model.kind == "transformer":
        from xdd.training.transformer_fit import make_train_fn

        return make_train_fn(config, resume=resume, keep_checkpoints=keep_checkpoints)
    from xdd.training.baselines import baseline_train_fn

    if resume:
        print("xdd: baselines train from scratch in seconds; --resume has nothing to resume", file=sys.stderr)
    return baseline_train_fn


def run_train(args: argparse.Namespace) -> int:
    from xdd.training.train_run import run_training

    config, out = _config_and_out(args)
    written = run_training(config, out, train_fn_for(config, resume=args.resume))
    if written:
        print(f"run folder: {out}")
    for name, path in written.items():
        print(f"  {name}: {path}{_headline(path) if name in ('dev', 'test', 'train') else ''}")
    return 0


def _headline(folder: Path) -> str:
    """`` (entity F1 0.712, topic F1 0.650; ...)`` from an evaluation folder's metrics.json."""
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    shown = []
    if metrics["ner"]["labels"]:
        shown.append(f"entity F1 {metrics['ner']['micro']['f1']:.3f}")
    if metrics["topics"]["labels"]:
        shown.append(f"topic F1 {metrics['topics']['paragraph']['micro']['f1']:.3f}")
    return f" ({', '.join(shown)}; report.html, metrics.json, predictions.jsonl)"


def run_cv_command(args: argparse.Namespace) -> int:
    from xdd.training.cv import cv_table, learning_curve_text, run_cv
    from xdd.training.splits import parse_folds

    folds = parse_folds(args.folds)
    config, out = _config_and_out(args)
    metrics = run_cv(config, folds, out, train_fn_for(config, keep_checkpoints=False), args.learning_curve)
    print(cv_table(metrics))
    if "learning_curve" in metrics:
        print(learning_curve_text(metrics["learning_curve"]))
    print(f"run folder: {out} (metrics.json, report.html; fold-<i>/predictions.jsonl, fold-<i>/metrics.json)")
    return 0
