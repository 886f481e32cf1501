"""``xdd evaluate`` and ``xdd compare``: thin wrappers over ``xdd.eval.evaluate`` and ``xdd.eval.compare``.

Heavy imports (the predictor, torch) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from xdd.models.document import Document
from xdd.models.checks import positive_int
from xdd.models.errors import EvaluationError

if TYPE_CHECKING:
    from xdd.eval.report_content import Table


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help="score a model or a prediction file against gold annotations",
        description="Score predictions (from a model bundle or from any system's JSONL file) against a gold "
        "corpus: NER and topic metrics with 95% bootstrap intervals, and with --out a full report.",
    )
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="BUNDLE", help="model bundle to predict the gold texts with")
    source.add_argument("--predictions", metavar="PRED.jsonl", help="predictions in the corpus JSONL format")
    evaluate.add_argument("--data", required=True, metavar="GOLD", help="gold JSONL file or directory of *.jsonl")
    evaluate.add_argument("--out", metavar="DIR", help="write metrics.json, report.md, report.html, plots, predictions")
    _bootstrap_options(evaluate)
    evaluate.add_argument("--title", help="report title (default: names the predictions and the gold)")
    evaluate.set_defaults(func=run_evaluate)

    compare = subparsers.add_parser(
        "compare",
        help="difference between two runs with a paired bootstrap interval",
        description="Per-metric difference RUN_B - RUN_A. A run is a folder with predictions.jsonl (and "
        "evaluation.json naming the gold, or --data); two metrics.json files give differences without interval.",
    )
    compare.add_argument("run_a", metavar="RUN_A", help="run folder or metrics.json (the baseline)")
    compare.add_argument("run_b", metavar="RUN_B", help="run folder or metrics.json (the challenger)")
    compare.add_argument("--data", metavar="GOLD", help="gold corpus (default: the one recorded in the runs)")
    compare.add_argument("--out", metavar="FILE", help="also write the comparison as JSON")
    _bootstrap_options(compare)
    compare.set_defaults(func=run_compare)


def _bootstrap_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default 0)")


def run_evaluate(args: argparse.Namespace) -> int:
    from xdd.eval.corpus_io import load_gold, load_predictions
    from xdd.eval.evaluate import evaluate

    gold, scheme = load_gold(args.data)
    pred = predict_with_model(args.model, gold) if args.model else load_predictions(args.predictions, gold)
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=args.n_boot, seed=args.seed)
    print(summary(metrics))
    if args.out is None:
        print(
            "\nNothing was written; pass --out DIR to save metrics.json, report.md, report.html, "
            "plots and predictions."
        )
        return 0
    from xdd.eval.report import write_report

    title = args.title or f"Evaluation of {args.model or args.predictions} on {args.data}"
    written = write_report(args.out, metrics, gold, pred, title=title, gold_path=args.data)
    print(f"\nWrote {len(written)} files to {args.out}: {', '.join(sorted(p.name for p in written.values()))}")
    return 0


def predict_with_model(bundle: str, gold: list[Document]) -> list[Document]:
    """Predict the gold texts with ``xdd.models.predict.predictor`` and carry the gold ids over."""
    from xdd.models.predict.predictor import Predictor

    docs = Predictor.load(bundle, backend="torch").predict([doc.text for doc in gold])
    if len(docs) != len(gold):
        raise EvaluationError(f"{bundle}: the predictor returned {len(docs)} documents for {len(gold)} texts")
    return [dataclasses.replace(doc, id=g.id) for g, doc in zip(gold, docs)]


def summary(metrics: dict) -> str:
    """The headline and NER per-label tables as aligned plain text."""
    from xdd.eval.report_content import headline_table, ner_table

    return "\n\n".join(format_table(table) for table in (headline_table(metrics), ner_table(metrics)))


def format_table(table: Table) -> str:
    rows = [table.headers, *table.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.headers))]
    lines = [table.title]
    for n, row in enumerate(rows):
        cells = (cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> int:
    from xdd.eval.compare import compare_runs, format_comparison

    result = compare_runs(args.run_a, args.run_b, data=args.data, n_boot=args.n_boot, seed=args.seed)
    print(format_comparison(result))
    if args.out:
        text = json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"\nWrote {args.out}", file=sys.stderr)
    return 0
