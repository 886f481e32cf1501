"""``xdd bench``: inference against the usual routes, training, scaling, and where the time goes.

A thin wrapper over :func:`xdd.bench.suite.run_suite` (and
:func:`xdd.bench.profile.run_profile` for ``--profile``): prints the tables,
checks the targets, writes the JSON report.  See docs/performance.md for what
each row measures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdd.models.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from xdd.bench.suite import BenchSettings

PROFILE_BACKENDS = ("torch", "onnx", "onnx-int8")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmark inference (ours vs Hugging Face pipelines and the tutorial script), training, scaling",
        description="Builds a RANDOM phobert-base-shaped model (xdd init-model) and its bundle (xdd export "
        "--quantize int8) in the work folder, then runs each row in its own worker with the same thread "
        "count: inference in interleaved rounds with the matmul limit (torch_fp32, onnx_fp32, onnx_int8 against "
        "the HF pipelines at batch 1 and at their best batch size, and the tutorials' plain script), training "
        "(ours vs fixed padding), scaling (N vs 4N documents) and preprocessing. Prints tables and the targets.",
    )
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="a short look: inference only, 2 documents, one round; the targets it cannot "
                           "measure are marked SKIPPED")
    mode.add_argument("--check", action="store_true",
                      help="every target with the least work that keeps it stable: 2 documents in 3 rounds, "
                           "scaling on 10 / 40 documents in 3 rounds, the full run's training epoch")
    mode.add_argument("--profile", nargs="?", const="onnx", choices=PROFILE_BACKENDS, metavar="BACKEND",
                      help="only profile one `xdd predict --backend BACKEND` run (default onnx) over the bench "
                           "texts: seconds per stage (load, read, normalise, segment, align, window, forward, "
                           "decode, write)")
    bench.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON")
    bench.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    bench.add_argument("--corpus", type=Path, default=Path("data/annotations"),
                       help="JSONL corpus whose texts are benchmarked (default: data/annotations)")
    bench.add_argument("--work", type=Path, default=Path("runs/bench"),
                       help="folder for the bench models, logs and predictions (reused between runs)")
    bench.add_argument("--threads", type=int,
                       help="threads for every row, both sides (default: all cores; not with --profile, "
                            "where xdd predict uses every core)")
    bench.add_argument("--shape", choices=("phobert-base", "tiny"), default="phobert-base",
                       help="model shape (tiny: a smoke run of the machinery, figures meaningless)")
    bench.add_argument("--documents", type=int,
                       help="N for the inference rows and the profile (default 10; 2 with --quick and --check)")
    bench.add_argument("--train-batch-size", type=int, default=16,
                       help="windows per training step, both training rows (default 16, as the shipped configs)")
    bench.set_defaults(func=run_bench)  # fmt: skip


def run_bench(args: argparse.Namespace) -> int:
    from xdd.bench.report import render, render_profile, targets
    from xdd.bench.suite import machine, run_suite

    settings = _settings(args)
    report: dict[str, Any] = {
        "command": " ".join(["xdd", *sys.argv[1:]]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings.to_json(),
    }
    if args.profile:
        from xdd.bench.profile import run_profile

        report["profile"] = run_profile(settings, args.profile, _say)
        print(render_profile(report, markdown=args.markdown))
    else:
        report.update(run_suite(settings, _say))
        report["targets"] = targets(report)
        print(render(report, markdown=args.markdown))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _settings(args: argparse.Namespace) -> BenchSettings:
    """The run's settings from the options, checked: a bad count or a missing corpus stops here, named."""
    from dataclasses import replace

    from xdd.bench.suite import BenchSettings
    from xdd.models.document.corpus import jsonl_files

    counts = {"--threads": args.threads, "--documents": args.documents, "--train-batch-size": args.train_batch_size}
    for flag, value in counts.items():
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value}: expected an integer >= 1")
    if args.profile and args.threads is not None:
        raise ConfigError("--threads does not apply to --profile: it profiles xdd predict as users run it, on "
                          "every core; leave --threads out")  # fmt: skip
    jsonl_files(args.corpus)
    settings = BenchSettings(corpus=args.corpus.resolve(), work=args.work.resolve(),
                             threads=args.threads or os.cpu_count() or 1, shape=args.shape,
                             train_batch_size=args.train_batch_size)  # fmt: skip
    if args.quick:
        settings = settings.quick()
    elif args.check:
        settings = settings.check()
    elif args.profile:
        settings = replace(settings, mode="profile")
    return replace(settings, documents=args.documents) if args.documents else settings
