"""``xdd bench``: inference, training, hardware-limit, scaling and preprocessing benchmarks.

A thin wrapper over :func:`xdd.bench.suite.run_suite`: prints the tables, checks
the targets, writes the JSON report.  See docs/performance.md for what each
row measures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

from xdd.models.errors import ConfigError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmark inference (ours vs Hugging Face pipelines), training, scaling and preprocessing",
        description="Builds a RANDOM phobert-base-shaped model (xdd init-model) and its bundle (xdd export "
        "--quantize int8) in the work folder, then runs each row in its own process with the same thread "
        "count: inference (torch_fp32, onnx_fp32, onnx_int8, hf_pipeline), training (ours vs fixed padding), "
        "the matmul limit, scaling (N vs 4N documents) and preprocessing. Prints tables and the targets.",
    )
    bench.add_argument("--quick", action="store_true",
                       help="a small run (2 documents, one round, 8 training windows, no trained-model agreement)")
    bench.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON")
    bench.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    bench.add_argument("--corpus", type=Path, default=Path("data/annotations"),
                       help="JSONL corpus whose texts are benchmarked (default: data/annotations)")
    bench.add_argument("--work", type=Path, default=Path("runs/bench"),
                       help="folder for the bench models, logs and predictions (reused between runs)")
    bench.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                       help="threads for every row, both sides (default: all cores)")
    bench.add_argument("--shape", choices=("phobert-base", "tiny"), default="phobert-base",
                       help="model shape (tiny: a smoke run of the machinery, figures meaningless)")
    bench.add_argument("--documents", type=int, help="N for the inference rows (default 10; 2 with --quick)")
    bench.add_argument("--train-batch-size", type=int, default=16,
                       help="windows per training step, both training rows (default 16, as the shipped configs)")
    bench.set_defaults(func=run_bench)  # fmt: skip


def run_bench(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from xdd.bench.report import render, targets
    from xdd.bench.suite import BenchSettings, machine, run_suite
    from xdd.models.document.corpus import jsonl_files

    counts = {"--threads": args.threads, "--documents": args.documents, "--train-batch-size": args.train_batch_size}
    for flag, value in counts.items():
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value}: expected an integer >= 1")
    jsonl_files(args.corpus)  # a missing or empty corpus stops here, named
    settings = BenchSettings(corpus=args.corpus.resolve(), work=args.work.resolve(), threads=args.threads,
                             shape=args.shape, train_batch_size=args.train_batch_size)  # fmt: skip
    settings = settings.quick() if args.quick else settings
    if args.documents:
        settings = replace(settings, documents=args.documents)
    report = {
        "command": " ".join(["xdd", *sys.argv[1:]]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        **run_suite(settings, say=lambda message: print(message, file=sys.stderr)),
    }
    report["targets"] = targets(report)
    print(render(report, markdown=args.markdown))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0
