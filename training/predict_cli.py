"""``xdd export`` and ``xdd predict``: thin wrappers over :mod:`xdd.models.export.bundle` and :class:`xdd.models.predict.predictor.Predictor`.

``xdd predict`` streams: inputs are read one document at a time, gathered
into batches of at most ``--batch-size`` documents (fewer when their text
passes :data:`MAX_BATCH_CHARS`), predicted together (their windows sorted by
length and run ``--batch-size`` at a time), written in input order and
flushed.  Inputs that cannot be read are reported to stderr and to the errors
file, and the run carries on.  An output or errors file that is an input, lies
in an input folder, or cannot be written stops the run before anything is read
or written; the output file is created only when there is something to write.

``--engine ray`` predicts the same batches on a Ray cluster
(:mod:`xdd.models.predict.ray_engine`) and hands them back in input order;
reading, error reporting, resuming and writing stay the ones here.

Exit status: 0 every input was predicted; 1 some inputs failed (see the errors
file); 2 a usage, bundle or output problem stopped the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from xdd.models.checks import positive_int
from xdd.models.errors import XddError
from xdd.models.formats.inputs import (
    DEFAULT_MAX_BYTES,
    InputDocument,
    InputError,
    InputItem,
)

if TYPE_CHECKING:  # pragma: no cover
    from xdd.models.predict.ray_engine import RayCluster

MAX_BATCH_CHARS = 2_000_000  # text held per batch, whatever --batch-size says
EXIT_OK, EXIT_SOME_FAILED = 0, 1
PROGRESS_FORMAT = "{desc}: {n_fmt} documents [{elapsed}, {rate_noinv_fmt}]"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="turn a training run into a verified model bundle (optionally with ONNX and int8)",
        description="Write the bundle folder: weights (safetensors), tokenizer, labels, thresholds, text settings, "
        "training metadata, a model card and a SHA-256 manifest. Written to a temporary folder and renamed "
        "into place, so an interrupted export leaves nothing loadable.",
    )
    export.add_argument("run", type=Path, help="the run folder `xdd train` wrote (runs/NAME)")
    export.add_argument("--out", type=Path, required=True, help="bundle folder to write, e.g. bundles/NAME")
    export.add_argument("--onnx", action="store_true", help="add model.onnx and check it against PyTorch")
    export.add_argument("--quantize", choices=("int8",),
                        help="add a dynamically quantised model.int8.onnx (implies --onnx)")
    export.add_argument("--data", type=Path, help="corpus for the ONNX parity check (default: the run's corpus)")
    export.add_argument("--license", default="other", help="license id for the model card (default: other)")
    export.add_argument("--force", action="store_true", help="replace an existing bundle at --out")
    export.add_argument("--cv", type=Path, metavar="CV_RUN",
                        help="an `xdd cv` run folder of the same config: the model card leads with its figures")
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
    predict.add_argument("--batch-size", type=positive_int, default=16,
                         help="documents per batch, and windows per forward pass")
    predict.add_argument("--workers", type=positive_int, default=1,
                         help="processes predicting batches in parallel (for baselines and CPU-bound text pipelines); "
                              "with --engine ray: Ray workers, each loading the bundle once")
    predict.add_argument("--engine", choices=("local", "ray"), default="local",
                         help="local: this machine; ray: a Ray cluster (needs the extra xdd[ray]), same output")
    predict.add_argument("--address", help="--engine ray: the cluster to use (HOST:PORT of `ray start --head`); "
                                           "default: start a local Ray instance for this run")
    predict.add_argument("--cpus-per-worker", type=positive_int,
                         help="--engine ray: CPUs per worker, its PyTorch / ONNX Runtime threads (default 1)")
    predict.add_argument("--gpus-per-worker", type=_gpus, help="--engine ray: GPUs per worker, e.g. 1 or 0.5 "
                                                               "(default 0; needs --device cuda)")
    predict.add_argument("--resume", action="store_true", help="continue an interrupted run: keep its complete records")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    predict.add_argument("--errors", type=Path, help="errors file (JSONL; default: OUTPUT.errors.jsonl)")
    predict.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, help="largest input file or line")
    predict.add_argument("--stdin-format", choices=("txt", "jsonl"), default="txt", help="what - reads")
    predict.add_argument("--include-text", action="store_true", help="jsonl: add each document's text")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(func=run_predict)  # fmt: skip


def run_export(args: argparse.Namespace) -> int:
    from xdd.models.export.bundle import export_run

    export_run(
        args.run, args.out, onnx=args.onnx, quantize=args.quantize, data=args.data, license_id=args.license,
        overwrite=args.force, cv=args.cv, say=print,
    )  # fmt: skip
    return EXIT_OK


# --- predict -------------------------------------------------------------------


@dataclass
class Tally:
    """What the run did, and when: the summary line reports the time and the rate past the start-up."""

    written: int = 0
    already_done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)
    first_batch: tuple[float, int] | None = None  # (when, documents) the first batch was written

    def wrote(self, count: int) -> None:
        self.written += count
        if self.first_batch is None:
            self.first_batch = (time.monotonic(), self.written)

    def timing(self) -> str:
        """``in T s``, and the rate after the first batch: the steady rate, without the fixed start-up.

        T counts from the run's start (bundle loading included, Python's own
        start-up not); the first batch carries the bundle loads, Ray's start and
        the segmenter's warm-up.
        """
        now = time.monotonic()
        text = f"in {now - self.started:.1f} s"
        if self.first_batch is not None and self.written > self.first_batch[1] and now > self.first_batch[0]:
            when, count = self.first_batch
            rate = (self.written - count) / (now - when)
            text += f" (first batch after {when - self.started:.1f} s, then {rate:.1f} documents/s)"
        return text


class ErrorLog:
    """Reports inputs that failed to stderr and, one JSON object per line, to the errors file (rewritten each run)."""

    def __init__(self, path: Path | None, echo: Callable[[str], None]) -> None:
        from xdd.models.formats.outputs import open_for_writing

        self.echo = echo
        self.handle: IO[bytes] | None = open_for_writing(path, "wb") if path else None

    def report(self, error: InputError) -> None:
        self.echo(f"xdd predict: skipped {error}")
        if self.handle:
            self.handle.write((json.dumps(error.to_json(), ensure_ascii=False) + "\n").encode("utf-8"))
            self.handle.flush()

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def run_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from xdd.models.formats.inputs import iter_inputs
    from xdd.models.formats.outputs import open_writer
    from xdd.models.predict.predictor import Predictor, check_bundle

    tally = Tally()  # its clock starts here
    _check_outputs(args)  # before the bundle is loaded, any input read or anything opened for writing
    cluster = _ray_cluster(args)  # None: the local engine
    load = {"backend": args.backend, "device": args.device, "batch_size": args.batch_size}
    # Bundle and options are checked before any output is touched; Ray's workers load the model, its driver does not.
    predictor = None if cluster else Predictor.load(args.model, **load)
    info = predictor.info if predictor else check_bundle(args.model, **load)
    writer, done = open_writer(
        args.output, args.format, resume=args.resume, overwrite=args.overwrite,
        include_text=args.include_text, model_version=info["name"],
    )  # fmt: skip
    if args.workers > 1:
        predictor = None  # each worker loads its own copy
    progress = tqdm(desc="predict", unit=" docs", file=sys.stderr, disable=args.quiet, bar_format=PROGRESS_FORMAT)
    errors = ErrorLog(_errors_path(args), lambda message: tqdm.write(message, file=sys.stderr))
    try:
        items = iter_inputs(args.inputs, args.max_bytes, args.stdin_format)
        batches = _batches(items, done, args.batch_size, errors, tally)
        with cluster.session() if cluster else nullcontext():
            for batch, docs in _predicted(batches, predictor, args.model, load, args.workers, cluster):
                writer.write([(doc, item.source) for doc, item in zip(docs, batch)])
                tally.wrote(len(batch))
                progress.update(len(batch))
    finally:
        progress.close()
        writer.close()
        errors.close()
    _report_unwritable(getattr(writer, "warnings", []))
    print(_summary(args, tally, writer.started), file=sys.stderr)
    return EXIT_SOME_FAILED if tally.failed else EXIT_OK


def _gpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of GPUs >= 0, got {text!r}")
    return value


def _ray_cluster(args: argparse.Namespace) -> RayCluster | None:
    """The cluster of ``--engine ray`` (None: the local engine), its options checked and Ray importable.

    Refused with one line, before the bundle is loaded: Ray options without
    ``--engine ray``; GPUs per worker without ``--device cuda`` (they would sit
    idle), or ``--device cuda`` without them (Ray hides the GPUs from a worker
    that asked for none); and a missing Ray, naming the extra to install.
    """
    given = [f"--{name.replace('_', '-')}" for name in ("address", "cpus_per_worker", "gpus_per_worker")
             if getattr(args, name) is not None]  # fmt: skip
    if args.engine != "ray":
        if given:
            raise XddError(f"{given[0]} is an option of --engine ray; add --engine ray or leave it out")
        return None
    gpus = args.gpus_per_worker or 0.0
    if bool(gpus) != args.device.startswith("cuda"):
        raise XddError("with --engine ray, --device cuda and --gpus-per-worker go together: Ray gives each worker "
                       "the GPUs it asks for, as device cuda")  # fmt: skip
    from xdd.models.predict.ray_engine import RayCluster, import_ray

    import_ray(local=args.address is None)
    return RayCluster(args.address, args.workers, args.cpus_per_worker or 1, gpus)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output or errors file that is an input, or lies in an input folder, or cannot be written.

    Whatever ``--overwrite`` or ``--resume`` say: opening an input for
    writing empties it, and a file written inside a folder being read is read
    back as an input.  An existing file given as ``--errors`` is the user's:
    it is replaced only with ``--overwrite`` or ``--resume``, as the output is
    (the default ``OUTPUT.errors.jsonl`` belongs to the output and is
    rewritten each run).  Raised before anything is touched, so nothing is lost.
    """
    from xdd.models.formats.inputs import clash_with_inputs, same_file
    from xdd.models.formats.outputs import check_writable

    output = None if args.output == "-" else Path(args.output)
    errors = _errors_path(args)
    for what, path in (("--output", output), ("--errors" if args.errors else "the errors file", errors)):
        if path is None:
            continue
        clash = clash_with_inputs(path, args.inputs)
        if clash:
            raise XddError(f"{what} {path} {clash}; nothing was changed: choose a path outside the inputs")
        check_writable(path, what)
    if output and errors and same_file(output, errors):
        raise XddError(f"--errors {errors} is the --output file; give the errors file another path")
    if args.errors and args.errors.exists() and not (args.resume or args.overwrite):
        raise XddError(f"--errors {args.errors}: already exists and would be rewritten; pass --overwrite to "
                       "replace it (or --resume), or give another path")  # fmt: skip


def _report_unwritable(warnings: list[str], shown: int = 5) -> None:
    """Entities the output format could not hold (CoNLL: edges inside a token), never dropped silently."""
    if not warnings:
        return
    print(f"xdd predict: {len(warnings)} predicted entit(y/ies) not written, the format cannot hold them:",
          file=sys.stderr)  # fmt: skip
    for line in warnings[:shown]:
        print(f"  {line}", file=sys.stderr)
    if len(warnings) > shown:
        print(f"  ... and {len(warnings) - shown} more; use --format jsonl to keep every entity", file=sys.stderr)


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
    batches: Iterable[list[InputDocument]], predictor: Any, model: Path, load: dict[str, Any], workers: int,
    cluster: RayCluster | None = None,
) -> Iterator[tuple[list[InputDocument], list[Any]]]:
    """``(batch, predicted documents)`` in input order, with ``predictor``, in ``workers`` processes or on ``cluster``.

    Workers are spawned (not forked: PyTorch and ONNX Runtime thread pools do
    not survive a fork) and load the bundle themselves, sharing the cores.
    """
    if cluster is not None:
        from xdd.models.predict.ray_engine import predict_batches

        yield from predict_batches(batches, model, load, cluster)
        return
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
    from xdd.models.document import Document

    return [Document(id=item.id, text=item.text, meta=dict(item.meta)) for item in batch]


def _use_all_cores(predictor: Any) -> None:
    """PyTorch uses every core for the forward pass (ONNX Runtime sessions already do)."""
    if predictor.kind == "transformer" and predictor.backend == "torch":
        import torch

        torch.set_num_threads(os.cpu_count() or 1)


_WORKER_PREDICTOR: Any = None


def _start_worker(model: Path, load: dict[str, Any]) -> None:
    global _WORKER_PREDICTOR
    from xdd.models.predict.ray_engine import load_predictor  # shared with Ray's workers; imports no Ray

    threads = load.pop("threads")
    _WORKER_PREDICTOR = load_predictor(model, load, threads)


def _predict_in_worker(docs: list[Any]) -> list[Any]:
    return _WORKER_PREDICTOR.predict(docs)


def _summary(args: argparse.Namespace, tally: Tally, output_opened: bool) -> str:
    """The run's last line; it says so when there was nothing to write, as the output was then not touched."""
    if output_opened:
        parts = [f"wrote {tally.written} document(s) to {args.output} {tally.timing()}"]
    else:
        state = "left as it was" if Path(args.output).exists() else "not created"
        parts = [f"nothing to write, {args.output} {state}"]
    if tally.already_done:
        parts.append(f"{tally.already_done} already there (--resume)")
    if tally.failed:
        where = _errors_path(args)
        parts.append(f"{tally.failed} input(s) failed" + (f" (listed in {where})" if where else ""))
    return "xdd predict: " + "; ".join(parts)
