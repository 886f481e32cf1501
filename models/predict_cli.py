"""``xdd export`` and ``xdd predict``: thin wrappers over :mod:`models.export` and :class:`models.predictor.Predictor`.

``xdd predict`` streams: inputs are read one document at a time, gathered
into batches of at most ``--batch-size`` documents (fewer when their text
passes :data:`MAX_BATCH_CHARS`), predicted together (their windows sorted by
length and run ``--batch-size`` at a time), written in input order and
flushed.  Inputs that cannot be read are reported to stderr and to the errors
file, and the run carries on.

Exit status: 0 every input was predicted; 1 some inputs failed (see the errors
file); 2 a usage, bundle or output problem stopped the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from models.predict_io import DEFAULT_MAX_BYTES, InputDocument, InputError, InputItem

MAX_BATCH_CHARS = 2_000_000  # text held per batch, whatever --batch-size says
EXIT_OK, EXIT_SOME_FAILED = 0, 1
PROGRESS_FORMAT = "{desc}: {n_fmt} documents [{elapsed}, {rate_noinv_fmt}]"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="turn a training run into a verified model bundle (optionally with ONNX and int8)",
        description="Write models/NAME/: weights (safetensors), tokenizer, labels, thresholds, text settings, "
        "training metadata, a model card and a SHA-256 manifest. Written to a temporary folder and renamed "
        "into place, so an interrupted export leaves nothing loadable.",
    )
    export.add_argument("run", type=Path, help="the run folder `xdd train` wrote (runs/NAME)")
    export.add_argument("--out", type=Path, required=True, help="bundle folder to write, e.g. models/NAME")
    export.add_argument("--onnx", action="store_true", help="add model.onnx and check it against PyTorch")
    export.add_argument("--quantize", choices=("int8",),
                        help="add a dynamically quantised model.int8.onnx (implies --onnx)")
    export.add_argument("--data", type=Path, help="corpus for the ONNX parity check (default: the run's corpus)")
    export.add_argument("--license", default="other", help="license id for the model card (default: other)")
    export.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    export.set_defaults(func=run_export)

    predict = subparsers.add_parser(
        "predict",
        help="predict entities and topics for .txt files, folders, JSONL or stdin",
        description="Exit status: 0 all inputs predicted; 1 some inputs failed (listed on stderr and in the "
        "errors file); 2 usage, bundle or output error.",
    )
    predict.add_argument("inputs", nargs="+", metavar="INPUT",
                         help=".txt file, folder (*.txt and *.jsonl below it), .jsonl with a 'text' field, "
                              "or - for stdin")
    predict.add_argument("--model", required=True, type=Path, help="a bundle folder written by `xdd export`")
    predict.add_argument("--output", required=True, help="output file, or - for stdout")
    predict.add_argument("--format", choices=("jsonl", "conll", "labelstudio"), default="jsonl")
    predict.add_argument("--backend", choices=("torch", "onnx", "onnx-int8"), default="torch")
    predict.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    predict.add_argument("--batch-size", type=_positive, default=16,
                         help="documents per batch, and windows per forward pass")
    predict.add_argument("--workers", type=_positive, default=1,
                         help="processes predicting batches in parallel (for baselines and CPU-bound text pipelines)")
    predict.add_argument("--resume", action="store_true", help="continue an interrupted run: keep its complete records")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    predict.add_argument("--errors", type=Path, help="errors file (JSONL; default: OUTPUT.errors.jsonl)")
    predict.add_argument("--max-bytes", type=_positive, default=DEFAULT_MAX_BYTES, help="largest input file or line")
    predict.add_argument("--stdin-format", choices=("txt", "jsonl"), default="txt", help="what - reads")
    predict.add_argument("--include-text", action="store_true", help="jsonl: add each document's text")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(func=run_predict)  # fmt: skip


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def run_export(args: argparse.Namespace) -> int:
    from models.export import export_run

    export_run(
        args.run, args.out, onnx=args.onnx, quantize=args.quantize, data=args.data, license_id=args.license,
        overwrite=args.force, say=print,
    )  # fmt: skip
    return EXIT_OK


# --- predict -------------------------------------------------------------------


@dataclass
class Tally:
    written: int = 0
    already_done: int = 0
    failed: int = 0


class ErrorLog:
    """Reports inputs that failed to stderr and, one JSON object per line, to the errors file."""

    def __init__(self, path: Path | None, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.handle: IO[str] | None = path.open("w", encoding="utf-8") if path else None

    def report(self, error: InputError) -> None:
        self.echo(f"xdd predict: skipped {error}")
        if self.handle:
            self.handle.write(json.dumps(error.to_json(), ensure_ascii=False) + "\n")
            self.handle.flush()

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def run_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from models.predict_io import iter_inputs
    from models.predict_output import open_writer
    from models.predictor import Predictor

    load = dict(backend=args.backend, device=args.device, batch_size=args.batch_size)
    predictor = Predictor.load(args.model, **load)  # checks bundle and options before any output is touched
    writer, done = open_writer(
        args.output, args.format, resume=args.resume, overwrite=args.overwrite,
        include_text=args.include_text, model_version=predictor.name,
    )  # fmt: skip
    if args.workers > 1:
        predictor = None  # each worker loads its own copy
    progress = tqdm(desc="predict", unit=" docs", file=sys.stderr, disable=args.quiet, bar_format=PROGRESS_FORMAT)
    errors = ErrorLog(_errors_path(args), lambda message: tqdm.write(message, file=sys.stderr))
    tally = Tally()
    try:
        items = iter_inputs(args.inputs, args.max_bytes, args.stdin_format)
        batches = _batches(items, done, args.batch_size, errors, tally)
        for batch, docs in _predicted(batches, predictor, args.model, load, args.workers):
            writer.write([(doc, item.source) for doc, item in zip(docs, batch)])
            tally.written += len(batch)
            progress.update(len(batch))
    finally:
        progress.close()
        writer.close()
        errors.close()
    print(_summary(args, tally), file=sys.stderr)
    return EXIT_SOME_FAILED if tally.failed else EXIT_OK


def _errors_path(args: argparse.Namespace) -> Path | None:
    if args.errors:
        return args.errors
    return None if args.output == "-" else Path(f"{args.output}.errors.jsonl")


def _batches(
    items: Iterable[InputItem], done: set[str], size: int, errors: ErrorLog, tally: Tally
) -> Iterator[list[InputDocument]]:
    """Batches of documents still to predict; errors, duplicates and already written ids are taken out."""
    seen: set[str] = set()
    batch: list[InputDocument] = []
    chars = 0
    for item in items:
        if isinstance(item, InputDocument) and item.id in seen:
            reason = f"duplicate id {item.id!r}; ids must be unique (rename the file or fix its 'id')"
            item = InputError(item.source, reason)
        if isinstance(item, InputError):
            tally.failed += 1
            errors.report(item)
            continue
        seen.add(item.id)
        if item.id in done:
            tally.already_done += 1
            continue
        batch.append(item)
        chars += len(item.text)
        if len(batch) >= size or chars >= MAX_BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _predicted(
    batches: Iterable[list[InputDocument]], predictor: Any, model: Path, load: dict[str, Any], workers: int
) -> Iterator[tuple[list[InputDocument], list[Any]]]:
    """``(batch, predicted documents)`` in input order, with ``predictor`` or in ``workers`` processes.

    Workers are spawned (not forked: PyTorch and ONNX Runtime thread pools do
    not survive a fork) and load the bundle themselves, sharing the cores.
    """
    if workers == 1:
        _use_all_cores(predictor)
        for batch in batches:
            yield batch, predictor.predict(_documents(batch))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    spawn = multiprocessing.get_context("spawn")
    initargs = (model, {**load, "threads": threads})
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_start_worker, initargs=initargs) as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append((batch, pool.submit(_predict_in_worker, _documents(batch))))
            if len(pending) >= 2 * workers:  # bounded: at most 2 batches per worker in flight
                batch, future = pending.popleft()
                yield batch, future.result()
        while pending:
            batch, future = pending.popleft()
            yield batch, future.result()


def _documents(batch: list[InputDocument]) -> list[Any]:
    from models.document import Document

    return [Document(id=item.id, text=item.text, meta=dict(item.meta)) for item in batch]


def _use_all_cores(predictor: Any) -> None:
    """PyTorch uses every core for the forward pass (ONNX Runtime sessions already do)."""
    if predictor.kind == "transformer" and predictor.backend == "torch":
        import torch

        torch.set_num_threads(os.cpu_count() or 1)


_WORKER_PREDICTOR: Any = None


def _start_worker(model: Path, load: dict[str, Any]) -> None:
    global _WORKER_PREDICTOR
    from models.predictor import Predictor

    threads = load.pop("threads")
    _WORKER_PREDICTOR = Predictor.load(model, threads=threads, **load)
    if _WORKER_PREDICTOR.kind == "transformer" and _WORKER_PREDICTOR.backend == "torch":
        import torch

        torch.set_num_threads(threads)


def _predict_in_worker(docs: list[Any]) -> list[Any]:
    return _WORKER_PREDICTOR.predict(docs)


def _summary(args: argparse.Namespace, tally: Tally) -> str:
    parts = [f"wrote {tally.written} document(s) to {args.output}"]
    if tally.already_done:
        parts.append(f"{tally.already_done} already there (--resume)")
    if tally.failed:
        where = _errors_path(args)
        parts.append(f"{tally.failed} input(s) failed" + (f" (listed in {where})" if where else ""))
    return "xdd predict: " + "; ".join(parts)
