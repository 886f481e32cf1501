"""The annotation loop on the command line: ``xdd suggest``, ``xdd labelstudio-config``, ``xdd corpus add``,
``xdd simulate-annotation`` (docs/annotation-loop.md).

Thin wrappers: the work is in :mod:`xdd.training.suggest`,
:mod:`xdd.training.labelstudio_config`, :mod:`xdd.training.corpus_add` and
:mod:`xdd.training.simulate_annotation`, imported inside the handlers so that
``xdd --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from xdd.models.checks import positive_int
from xdd.models.errors import ConfigError
from xdd.models.formats.inputs import DEFAULT_MAX_BYTES
from xdd.training.convert_common import FORMATS

EXIT_OK, EXIT_REFUSED = 0, 1


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_suggest(subparsers)
    config = subparsers.add_parser(
        "labelstudio-config",
        help="print the Label Studio labelling configuration (XML) for a corpus's labels",
        description="The <View> to paste into a Label Studio project's Labeling Interface (or POST as its "
        "label_config): entity labels, paragraph regions and per-paragraph topic choices, with the names "
        "`xdd suggest`, `xdd predict --format labelstudio` and `xdd convert --from labelstudio` use.",
    )
    config.add_argument("--corpus", type=Path, help="corpus whose labels.json to follow (default: the "
                                                    "party-building labels)")  # fmt: skip
    config.set_defaults(func=run_labelstudio_config)
    _add_corpus(subparsers)
    _add_simulate(subparsers)


def _add_suggest(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "suggest",
        help="choose the articles (or paragraphs) to annotate next; write them as pre-annotated Label Studio tasks",
        description="Drop pool articles already in the corpus and near duplicates, predict the rest, rank them by "
        "the model's uncertainty (MNLP for entities, smallest topic margin) with a diversity step, and write the "
        "top K as a Label Studio task file with the predictions as pre-annotations. docs/annotation-loop.md.",
    )
    parser.add_argument("pool", nargs="+", metavar="POOL", help="what `xdd predict` reads: .txt files, folders, "
                                                                 "JSONL with a 'text' field, or -")  # fmt: skip
    parser.add_argument("--model", required=True, type=Path, help="a bundle folder written by `xdd export`")
    parser.add_argument("--k", required=True, type=positive_int, help="how many tasks to write")
    parser.add_argument("--out", required=True, type=Path, help="the Label Studio task file (JSON array) to write")
    parser.add_argument("--corpus", type=Path, help="the annotated corpus: its articles are not suggested again")
    parser.add_argument("--strategy", choices=("uncertainty", "random"), default="uncertainty")
    parser.add_argument("--seed", type=int, default=0, help="--strategy random: the draw")
    parser.add_argument("--unit", choices=("document", "paragraph"), default="document",
                        help="rank whole articles, or paragraphs (one task per paragraph)")  # fmt: skip
    parser.add_argument("--topic-weight", type=float, default=1.0, metavar="λ",
                        help="weight of topic doubt against entity doubt in the score (default 1)")  # fmt: skip
    parser.add_argument("--report", type=Path, help="also write the ranking and what was dropped as JSON")
    parser.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="processes predicting in parallel, each with its own copy of the model (baselines: "
                             "one per core)")  # fmt: skip
    parser.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, help="largest input file or line")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no ranking table")
    parser.set_defaults(func=run_suggest)


def _add_corpus(subparsers: argparse._SubParsersAction) -> None:
    corpus = subparsers.add_parser("corpus", help="corpus maintenance: `xdd corpus add`",
                                   description="Corpus maintenance.")  # fmt: skip
    actions = corpus.add_subparsers(dest="corpus_action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="add annotated documents (a Label Studio export, ...) to a corpus folder, all or none",
        description="Validate every document of EXPORT against the corpus's labels and files (as `xdd validate`), "
        "refuse documents already in the corpus (same id or same normalised text) and tasks nobody annotated, and "
        "write the documents to a new JSONL file in the corpus folder. Nothing changes unless every document is "
        "accepted (or --skip-invalid). Exit 0: written; 1: refused, nothing written; 2: unreadable input.",
    )
    add.add_argument("export", type=Path, metavar="EXPORT", help="the export file (Label Studio: JSON, not JSON-MIN)")
    add.add_argument("--to", required=True, type=Path, help="the corpus folder, e.g. data/annotations")
    add.add_argument("--from", dest="from_format", choices=FORMATS, default="labelstudio", metavar="FMT",
                     help=f"{', '.join(FORMATS)} (default labelstudio)")  # fmt: skip
    add.add_argument("--skip-invalid", action="store_true", help="add the valid documents, report the others")
    add.add_argument("--name", help="file name in the corpus folder (default added-YYYYMMDD-HHMMSS.jsonl)")
    add.set_defaults(func=run_corpus_add)


def _add_simulate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate-annotation",
        help="replay the annotation loop on a gold corpus: F1 against annotated units, per strategy",
        description="The gold corpus is the pool, its gold hidden until a unit is chosen. Each round the "
        "baselines are retrained on the chosen units and scored on the dev documents; the curve is written to "
        "OUT/curve.json and OUT/curve.png. A benchmark, not a test: docs/annotation-loop.md.",
    )
    parser.add_argument("--corpus", required=True, type=Path, help="the gold corpus (the pool)")
    parser.add_argument("--dev", required=True, help="dev documents, held out whole: a corpus path, a fraction "
                                                     "of the documents (0.2), or comma-separated ids")  # fmt: skip
    parser.add_argument("--start", required=True, type=positive_int, help="units annotated before the first round")
    parser.add_argument("--step", required=True, type=positive_int, help="units added per round")
    parser.add_argument("--rounds", required=True, type=int, help="rounds of additions")
    parser.add_argument("--strategies", default="uncertainty,random", help="comma-separated (default both)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds 0 … N-1 (default 3)")
    parser.add_argument("--unit", choices=("document", "paragraph"), default="paragraph")
    parser.add_argument("--config", default="baselines", help="a baselines config (default: baselines)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value (repeatable)")  # fmt: skip
    parser.add_argument("--out", required=True, type=Path, help="folder for curve.json and curve.png")
    parser.set_defaults(func=run_simulate)


# --- suggest ---------------------------------------------------------------------


def run_suggest(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from xdd.models.document.corpus import atomic_write_text
    from xdd.models.predict.predictor import Predictor
    from xdd.training.suggest import (
        check_choice,
        format_ranking,
        in_process,
        ranking,
        suggest,
        tasks,
        worker_processes,
    )  # fmt: skip
    from xdd.training.suggest_pool import read_pool

    check_choice(args.strategy, args.unit, args.k)
    _check_outputs(args)
    predictor = Predictor.load(args.model, backend=args.backend)
    pool = read_pool(args.pool, args.corpus, max_bytes=args.max_bytes)
    total = min(args.k, len(pool.articles)) if args.strategy == "random" and args.unit == "document" else None
    progress = tqdm(desc="suggest: predict", unit=" docs", total=total or len(pool.articles), file=sys.stderr,
                    disable=args.quiet)  # fmt: skip
    scoring = worker_processes(args.model, args.backend, args.workers) if args.workers > 1 else None
    try:
        with scoring or nullcontext(in_process(predictor.score)) as score:
            result = suggest(
                pool, score, predictor.scheme, predictor.info.get("thresholds") or {}, k=args.k,
                strategy=args.strategy, unit=args.unit, seed=args.seed, topic_weight=args.topic_weight,
                corpus=args.corpus, progress=progress.update,
            )  # fmt: skip
    finally:
        progress.close()
    atomic_write_text(args.out, json.dumps(tasks(result.chosen, predictor.name), ensure_ascii=False, indent=1) + "\n")
    rows = ranking(result.chosen)
    if args.report:
        atomic_write_text(args.report, json.dumps(_report(args, predictor.name, pool, result, rows),
                                                  ensure_ascii=False, indent=2) + "\n")  # fmt: skip
    for dropped in result.dropped:
        named = f" (id {dropped.id})" if dropped.id is not None else ""
        print(f"xdd suggest: dropped {dropped.source}{named}: {dropped.reason}", file=sys.stderr)
    if not args.quiet:
        print(format_ranking(rows, [u.task.text for u in result.chosen]))
    print(_suggest_summary(args, pool, result), file=sys.stderr)
    return EXIT_OK if result.chosen else EXIT_REFUSED


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse a task file or report that is an input, or inside an input folder, before anything is read."""
    from xdd.models.formats.inputs import clash_with_inputs

    for flag, path in (("--out", args.out), ("--report", args.report)):
        clash = path is not None and clash_with_inputs(path, args.pool)
        if clash:
            raise ConfigError(f"{flag} {path} {clash}")
    if args.report is not None and args.report.resolve() == args.out.resolve():
        raise ConfigError("--report and --out are the same file")


def _report(args: argparse.Namespace, model: str, pool: Any, result: Any, rows: list[dict]) -> dict[str, Any]:
    return {
        "model": model, "strategy": args.strategy, "unit": args.unit, "k": args.k, "seed": args.seed,
        "topic_weight": args.topic_weight, "pool": [str(p) for p in args.pool],
        "corpus": str(args.corpus) if args.corpus else None, "articles": len(pool.articles),
        "candidates": result.candidates, "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "chosen": rows, "dropped": [d.to_json() for d in result.dropped],
    }  # fmt: skip


def _suggest_summary(args: argparse.Namespace, pool: Any, result: Any) -> str:
    kinds = Counter(d.kind for d in result.dropped)
    dropped = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
    predicted = result.seconds["predict"]
    return (f"xdd suggest: {len(pool.articles)} article(s) kept (dropped: {dropped}); {result.candidates} "
            f"candidate {args.unit}(s); {len(result.chosen)} task(s) written to {args.out} "
            f"({predicted:.1f} s predicting, {result.seconds['choose']:.1f} s choosing)")  # fmt: skip


# --- labelstudio-config ----------------------------------------------------------------


def run_labelstudio_config(args: argparse.Namespace) -> int:
    from xdd.models.document.labels import PARTY_BUILDING, scheme_for
    from xdd.training.labelstudio_config import labelling_config

    if args.corpus is not None and not args.corpus.exists():
        raise ConfigError(f"--corpus {args.corpus}: no such file or folder")
    sys.stdout.write(labelling_config(scheme_for(args.corpus) if args.corpus else PARTY_BUILDING))
    return EXIT_OK


# --- corpus add ------------------------------------------------------------------------


def run_corpus_add(args: argparse.Namespace) -> int:
    from xdd.training.corpus_add import add_to_corpus

    report = add_to_corpus(args.export, args.to, args.from_format, skip_invalid=args.skip_invalid, name=args.name)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for candidate in report.refused:
        for problem in candidate.problems:
            print(candidate.describe(problem), file=sys.stderr)
    refused = len(report.refused)
    if report.written is None:
        why = f"{refused} document(s) refused (above)" if refused else "the export holds no document"
        print(f"xdd corpus add: nothing written to {args.to}: {why}; the corpus is unchanged", file=sys.stderr)
        return EXIT_REFUSED
    skipped = f"; {refused} skipped (above)" if refused else ""
    print(f"xdd corpus add: {len(report.added)} document(s) added to {report.written}{skipped}", file=sys.stderr)
    return EXIT_OK


# --- simulate-annotation -----------------------------------------------------------------


def run_simulate(args: argparse.Namespace) -> int:
    import logging
    import time

    from xdd.models.document.labels import scheme_for
    from xdd.training.config import load_config, resolve_config_path
    from xdd.training.simulate_annotation import (
        Plan,
        baseline_trainer,
        gold_units,
        simulate,
        split_dev,
        summarise,
        write_curve,
    )  # fmt: skip
    from xdd.training.splits import read_corpus

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("xdd.training.simulate_annotation").setLevel(logging.INFO)
    config = load_config(resolve_config_path(args.config), args.overrides)
    if config.model.kind != "baselines":
        raise ConfigError(f"--config {args.config}: simulate-annotation retrains the baselines; give a baselines config")
    scheme = scheme_for(args.corpus)
    docs = read_corpus(str(args.corpus))
    dev = read_corpus(args.dev) if Path(args.dev).exists() else args.dev
    pool_docs, dev_docs = split_dev(docs, dev)
    plan = Plan(args.start, args.step, args.rounds, tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
                tuple(range(args.seeds)), args.unit)  # fmt: skip
    pool = gold_units(pool_docs, args.unit)
    started = time.perf_counter()
    runs = simulate(pool, dev_docs, plan, baseline_trainer(config, scheme), scheme)
    result = {
        "command": _simulate_command(args),
        "unit": args.unit, "pool_units": len(pool), "pool_documents": [d.id for d in pool_docs],
        "dev": [d.id for d in dev_docs], "dev_paragraphs": sum(len(d.paragraphs) for d in dev_docs),
        "start": args.start, "step": args.step, "rounds": args.rounds, "seeds": list(plan.seeds),
        "config": config.name, "seconds": round(time.perf_counter() - started, 1),
        **summarise(runs, plan),
        "runs": [{"strategy": r.strategy, "seed": r.seed, "points": r.points, "added": r.added} for r in runs],
    }  # fmt: skip
    written = write_curve(args.out, result)
    print(_curve_table(result))
    print(f"xdd simulate-annotation: {written['json']}, {written['plot']} ({result['seconds']} s)", file=sys.stderr)
    return EXIT_OK


def _simulate_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (every option spelled out)."""
    parts = ["xdd simulate-annotation", f"--corpus {args.corpus}", f"--dev {args.dev}", f"--start {args.start}",
             f"--step {args.step}", f"--rounds {args.rounds}", f"--strategies {args.strategies}",
             f"--seeds {args.seeds}", f"--unit {args.unit}", f"--config {args.config}",
             *(f"--set {item}" for item in args.overrides), f"--out {args.out}"]  # fmt: skip
    return " ".join(parts)


def _curve_table(result: dict[str, Any]) -> str:
    """``annotated  strategy  entity F1 mean ± std  topic F1 mean ± std`` per round."""
    lines = [f"{'annotated':>9}  {'strategy':<11}  {'entity F1':>15}  {'topic F1':>15}"]
    for strategy, points in result["curves"].items():
        for point in points:
            cells = [_mean_std(point.get(name)) for name in ("entity_f1", "topic_f1")]
            lines.append(f"{point['annotated']:>9}  {strategy:<11}  {cells[0]:>15}  {cells[1]:>15}")
    return "\n".join(lines)


def _mean_std(figure: dict[str, Any] | None) -> str:
    return "-" if not figure else f"{figure['mean']:.3f} ± {figure['std']:.3f}"
