"""``xdd pipeline``: the main job, as the same four commands a user would run.

1. ``xdd train``   → ``runs/<name>/`` (model, dev report, config, corpus hash, ...)
2. ``xdd cv``      → ``runs/<name>-cv/`` (per-fold predictions, aggregated report; for the
   baselines also the learning curve)
3. ``xdd export``  → ``bundles/<name>/`` (the verified bundle; output, never a source folder)
4. ``xdd predict`` → ``runs/<name>/corpus-predictions.jsonl`` (the bundle run over the corpus)

Each step is printed as the command it runs, so the job can be repeated or
continued by hand.  When the configured backbone cannot be loaded (no network,
not cached), a banner says so and the job completes with the baselines: it
never trains on random weights instead.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from xdd.models.document.corpus import iter_records, jsonl_files
from xdd.models.errors import BackboneUnavailable
from xdd.training.config import Config, load_config, resolve_config_path

FALLBACK_CONFIG = "baselines"
LOO_UP_TO = 10  # documents; larger corpora get 5-fold cross-validation


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="the main job: train, cross-validate, export and predict the corpus",
        description="Train on data.train, cross-validate, export the bundle to bundles/<name>/ and predict the "
        "corpus with it. Falls back to the baselines (with a banner) when the backbone cannot be loaded.",
    )
    parser.add_argument("--config", default="phobert-joint", help="config file or shipped name (default: phobert-joint)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value (repeatable)")  # fmt: skip
    parser.add_argument("--folds", default="auto", help="K, 'loo', or 'auto' (loo up to 10 documents, else 5)")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder for run folders (default: runs)")
    parser.add_argument("--bundles", type=Path, default=Path("bundles"), help="folder for bundles (default: bundles)")
    parser.set_defaults(func=run_pipeline)


def run_pipeline(args: argparse.Namespace) -> int:
    from xdd.training.cli import main

    config_arg, overrides = args.config, list(args.overrides)
    config = load_config(resolve_config_path(config_arg), overrides)
    if config.model.kind == "transformer":
        try:
            from xdd.training.backbone import load_tokenizer

            load_tokenizer(config.model.backbone)
        except BackboneUnavailable as err:
            print(banner(config, err), file=sys.stderr)
            config_arg = FALLBACK_CONFIG
            overrides = [o for o in overrides if o.startswith("data.")]
            config = load_config(resolve_config_path(config_arg), overrides)
    steps = plan(config, config_arg, overrides, args)
    for number, argv in enumerate(steps, start=1):
        print(f"\n[{number}/{len(steps)}] xdd {shlex.join(argv)}", flush=True)
        code = main(argv)
        if code:
            print(f"xdd pipeline: step {number} failed (exit {code}); later steps not run", file=sys.stderr)
            return code
    print(summary(config, args))
    return 0


def plan(config: Config, config_arg: str, overrides: list[str], args: argparse.Namespace) -> list[list[str]]:
    """The four commands of the job, as argument lists for ``xdd``."""
    sets = [item for o in overrides for item in ("--set", o)]
    run, cv, bundle = paths(config, args)
    corpus = [str(p) for p in jsonl_files(config.data.train)]
    documents = sum(1 for _ in iter_records(config.data.train))
    folds = args.folds if args.folds != "auto" else ("loo" if documents <= LOO_UP_TO else "5")
    curve = ["--learning-curve"] if config.model.kind == "baselines" else []  # seconds per training
    return [
        ["train", "--config", config_arg, *sets, "--out", str(run)],
        ["cv", "--config", config_arg, *sets, "--folds", folds, *curve, "--out", str(cv)],
        ["export", str(run), "--out", str(bundle), "--cv", str(cv), "--force"],
        ["predict", "--model", str(bundle), *corpus, "--output", str(run / "corpus-predictions.jsonl"), "--overwrite"],
    ]


def paths(config: Config, args: argparse.Namespace) -> tuple[Path, Path, Path]:
    return args.runs / config.name, args.runs / f"{config.name}-cv", args.bundles / config.name


def summary(config: Config, args: argparse.Namespace) -> str:
    run, cv, bundle = paths(config, args)
    return "\n".join([
        "",
        f"xdd pipeline: done ({config.name})",
        f"  trained model:                {run}/model ({_fit_report(run)})",
        f"  cross-validation report:      {cv}/report.html (metrics.json; the figures for new articles)",
        f"  exported bundle:              {bundle} (README.md is the model card)",
        f"  corpus predictions:           {run}/corpus-predictions.jsonl",
    ])  # fmt: skip


def _fit_report(run: Path) -> str:
    """Where the trained model's own report is, and what it measures."""
    if (run / "dev").is_dir():
        return f"held-out dev report: {run}/dev/report.html"
    return f"report on its training documents (no held-out dev): {run}/train/report.html"


def banner(config: Config, err: Exception) -> str:
    rule = "=" * 78
    return "\n".join([
        rule,
        f"  The backbone '{config.model.backbone}' of config '{config.name}' cannot be loaded here.",
        f"  The job continues with the baselines (CRF + TF-IDF, config '{FALLBACK_CONFIG}'):",
        "  no model is trained from random weights.",
        rule,
        str(err),
        rule,
    ])  # fmt: skip
