"""Batch inference on a Ray cluster: :func:`predict_dataset` for a Ray Dataset, and the engine of ``xdd predict --engine ray``.

Ray Data runs a callable class on a pool of actors (:class:`BundlePredictor`):
each actor loads the bundle once (verified, through
:meth:`~xdd.models.predict.predictor.Predictor.load`, with the bundle's own
backend) and predicts batch after batch, with the CPUs or GPUs it was given.

``xdd predict --engine ray`` keeps everything else of the local engine: the
driver lists and reads the inputs with the same readers (bad inputs are
reported the same way), skips what ``--resume`` found, hands the documents to
Ray as a Dataset, gets the predictions back **in input order** and writes them
through the same writers, flushing after each batch.  So an output is byte for
byte what the local engine writes, and resuming after the driver was killed
works exactly as it does locally: the output file is the only record of what
is done.  :func:`predict_batches` is that driver loop; the command line
(``xdd.training.predict_cli``) wraps it.

Ray is an optional extra (``xdd[ray]``), imported only when used
(:func:`import_ray`); this module never imports ``xdd.training``.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from math import ceil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from xdd.models.allocator import keep_freed_memory
from xdd.models.document import Document
from xdd.models.errors import XddError
from xdd.models.formats.inputs import InputDocument
from xdd.models.predict.predictor import DEFAULT_BATCH_SIZE, Predictor, check_bundle

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

MISSING_RAY = "--engine ray needs Ray, which is not installed; install the extra: pip install 'xdd[ray]'"
KILL_ONCE_ENV = "XDD_RAY_TEST_KILL_ONCE"  # tests only: see _kill_once_if_asked
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's node address is 127.0.0.1 (read when ray is imported)
QUIET_LOGGERS = {"ray.data": logging.WARNING, "ray.data._internal.progress": logging.ERROR}
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
AUTH_ON_BY_DEFAULT = "Token authentication is enabled for this Ray cluster"  # Ray >= 2.52, RAY_AUTH_MODE unset
# One Dataset per segment of the input: the driver holds at most this much text at a time.
SEGMENT_DOCS = 20_000
SEGMENT_CHARS = 200_000_000
RAISED_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.+)$", re.MULTILINE)  # a traceback's last line: "module.Class: message"
PROBE_SECONDS = 10  # how long --address may take to accept a TCP connection before the run stops


# --- Ray, imported on first use -------------------------------------------------


def import_ray(local: bool = False) -> ModuleType:
    """``ray`` with ``ray.data``, or a one-line error naming the extra to install.

    ``local``: a local instance is about to be started.  Ray is then told,
    before it is first imported, to use 127.0.0.1 as the node address (what
    it does on macOS), so its servers listen on the loopback interface only:
    nothing outside this machine needs to reach a cluster that lives for one
    run.  Connecting to a cluster (``--address``) leaves Ray's default.
    """
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
        import ray.data
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] != "ray":
            raise
        raise XddError(MISSING_RAY) from None
    return ray


@dataclass(frozen=True)
class RayCluster:
    """Where to run and with what: ``--address``, ``--workers``, ``--cpus-per-worker``, ``--gpus-per-worker``."""

    address: str | None = None
    workers: int = 1
    cpus_per_worker: int = 1
    gpus_per_worker: float = 0.0

    def init_args(self) -> dict[str, Any]:
        """``ray.init`` arguments: connect to ``address``, or start a local instance sized for the workers."""
        quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if self.address:
            return {"address": self.address, **quiet}
        gpus = ceil(self.workers * self.gpus_per_worker) or None  # None: Ray counts them (none asked for)
        return {"address": "local", "num_cpus": self.workers * self.cpus_per_worker, "num_gpus": gpus, **quiet}

    @contextmanager
    def session(self) -> Iterator[None]:
        """Ray for the length of one run: started (or connected) and stopped, unless this process already had it.

        Standard output may be the predictions (``--output -``, its stream
        taken before this), so nothing else may reach it: worker output is
        not forwarded (``log_to_driver=False``; it stays in Ray's session
        folder, ``/tmp/ray/session_latest/logs``), and the worker errors Ray
        prints to ``sys.stdout`` go to stderr.  Datasets keep their order,
        and Ray Data's own progress bars give way to ``xdd predict``'s.
        """
        ray = import_ray(local=not self.address)
        with _ordered_and_quiet(ray), redirect_stdout(sys.stderr):
            started = not ray.is_initialized()
            if started:
                self._init(ray)
            try:
                yield
            finally:
                if started:
                    ray.shutdown()

    def _init(self, ray: ModuleType) -> None:
        """``ray.init``; a cluster that is not reached, or that refuses this driver's token, is one line of remedies.

        An address where nothing listens stops first, at :func:`probe`.  Ray
        reports a wrong token as the ConnectionError of a cluster it could
        not reach (after about 20 s of retries), so the message names both
        causes; a token missing where RAY_AUTH_MODE=token is Ray's
        AuthenticationError, whose first sentence is kept.
        """
        if self.address:
            probe(self.address)
        try:
            ray.init(**self.init_args())
        except (ConnectionError, ray.exceptions.AuthenticationError) as err:
            if not self.address:
                raise
            detail = f" ({str(err).split('. ')[0]})" if isinstance(err, ray.exceptions.AuthenticationError) else ""
            raise XddError(
                f"cannot connect to the Ray cluster at {self.address}{detail}: is `ray start --head` running there, "
                "and, if the cluster uses RAY_AUTH_MODE=token, is RAY_AUTH_TOKEN in this shell the head's?"
            ) from None


def probe(address: str, seconds: float = PROBE_SECONDS) -> None:
    """Stop with one line unless something accepts a TCP connection at ``address``'s host and port.

    Ray itself retries a cluster address where nothing listens without end
    (over 5 minutes here, a C++ warning every few seconds), so a mistyped
    address or port would hang the run.  Addresses without a port ("auto",
    a bare host) are left to Ray.  A ``ray://`` address is Ray Client's,
    whose server has its own port (10001 unless ``ray start`` was given
    another).
    """
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        option = "--ray-client-server-port`, 10001" if address.startswith("ray://") else "--port`, 6379"
        raise XddError(f"cannot connect to the Ray cluster at {address}: nothing answers at {host}:{port} ({reason}); "
                       f"is `ray start --head` running there, with this port (`{option} by default)?") from None


@contextmanager
def _ordered_and_quiet(ray: ModuleType) -> Iterator[None]:
    """Datasets created inside keep their input order; Ray Data logs warnings only (restored on the way out).

    Its progress bars are off, and so is the one warning that says so.  So
    is Ray's notice, on every start of a local instance, that it turned
    token authentication on by default: that instance listens on 127.0.0.1
    for one run.  Ray's other authentication warnings (a cluster started
    with it disabled) still reach stderr.
    """
    context = ray.data.DataContext.get_current()
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    saved = context.execution_options.preserve_order, context.enable_progress_bars
    context.execution_options.preserve_order, context.enable_progress_bars = True, False
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger(AUTH_LOGGER).addFilter(_not_auth_on_by_default)
    try:
        yield
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.getLogger(AUTH_LOGGER).removeFilter(_not_auth_on_by_default)


def _not_auth_on_by_default(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(AUTH_ON_BY_DEFAULT)


# --- the workers ---------------------------------------------------------------


def load_predictor(bundle: str | Path, load: dict[str, Any], threads: int) -> Predictor:
    """The bundle loaded for a worker that owns ``threads`` cores, so that PyTorch and ONNX Runtime use that many.

    Shared by the local engine's worker processes and the Ray actors: several
    workers each using every core would only fight over them.  A worker is
    a process of xdd's own, so it keeps its freed memory as ``xdd`` does.
    """
    keep_freed_memory()
    predictor = Predictor.load(bundle, threads=threads, **load)
    if predictor.kind == "transformer" and predictor.backend == "torch":
        import torch

        torch.set_num_threads(threads)
    return predictor


class BundlePredictor:
    """The Ray Data callable class: each actor loads the bundle once, then predicts batch after batch.

    A batch keeps its columns (those of ``keep``, when given) and gains the
    prediction columns (:func:`prediction_columns`).  Columns are dropped
    here rather than by a later ``select_columns``: that would be a separate
    Ray task needing a CPU the actors hold, and the results would reach the
    driver only at the end instead of batch by batch.
    """

    def __init__(
        self, bundle: str, load: dict[str, Any], threads: int, text_column: str, keep: list[str] | None
    ) -> None:
        self.failed: XddError | None = None  # raised with the first batch: see __call__
        try:
            self.predictor = load_predictor(bundle, load, threads)
        except XddError as err:
            self.failed = err
        self.text_column, self.keep = text_column, keep

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch with its predictions; a bundle this actor could not load fails here, as the user's error.

        The driver only checked the bundle (:func:`check_bundle`); what only
        loading can tell (a model ONNX Runtime cannot read, no PyTorch on
        this node) is raised with the first batch.  Raised in the
        constructor, Ray Data would report it as a fault of Ray itself, with
        its whole internal stack trace and a request to file an issue with
        Ray; raised here, it is a user-code error, reported in a few lines.
        """
        if self.failed is not None:
            raise self.failed
        _kill_once_if_asked()
        docs = self.predictor.predict(str(text) for text in batch[self.text_column])
        kept = batch if self.keep is None else {name: batch[name] for name in self.keep}
        return {**kept, **prediction_columns(docs)}


def prediction_columns(docs: list[Document]) -> dict[str, list[Any]]:
    """``entities``, ``paragraphs`` and ``topics`` per document, as the JSON values of ``xdd predict``'s JSONL records."""
    return {
        "entities": [[e.to_json() for e in doc.entities] for doc in docs],
        "paragraphs": [[p.to_json() for p in doc.paragraphs] for doc in docs],
        "topics": [doc.topics for doc in docs],
    }


def _kill_once_if_asked() -> None:
    """Test hook: with ``XDD_RAY_TEST_KILL_ONCE=PATH`` set, the first worker that removes the file PATH kills itself.

    SIGKILL, mid-run, exactly once however often Ray restarts the actor (the
    file is gone after the first), so a test can check that Ray's retry loses
    no record and repeats none.  Unset, this is one dictionary look-up.
    """
    trigger = os.environ.get(KILL_ONCE_ENV)
    if not trigger:
        return
    try:
        os.unlink(trigger)
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


# --- the Python API ------------------------------------------------------------


def predict_dataset(
    dataset: ray.data.Dataset,
    bundle: str | Path,
    *,
    text_column: str = "text",
    backend: str = "torch",
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    keep_columns: list[str] | None = None,
) -> ray.data.Dataset:
    """``dataset`` with the columns ``entities``, ``paragraphs`` and ``topics`` added (lazy, like any Ray transform).

    ``concurrency`` actors each load ``bundle`` once (it must be at the same
    path on every node) with ``num_cpus`` CPUs (its ONNX Runtime / PyTorch
    threads) and ``num_gpus`` GPUs (give ``device="cuda"`` with them), and
    predict ``batch_size`` rows at a time (also the windows per forward pass).
    The bundle and the options are checked here first (:func:`check_bundle`),
    so a bad one fails now rather than in every actor.  An actor that dies
    is restarted and its batch retried (Ray Data's default for actor pools:
    ``max_restarts=-1``, ``max_task_retries=-1``), so no row is lost or
    repeated.
    ``keep_columns``: the input columns to keep (default: all), e.g. an id
    without the text.
    """
    load = {"backend": backend, "device": device, "batch_size": batch_size}
    check_bundle(bundle, **load)
    return _with_predictions(dataset, bundle, load, concurrency, num_cpus, num_gpus, text_column, keep_columns)


def _with_predictions(
    dataset: ray.data.Dataset, bundle: str | Path, load: dict[str, Any], concurrency: int, num_cpus: float,
    num_gpus: float, text_column: str = "text", keep_columns: list[str] | None = None,
) -> ray.data.Dataset:
    """:func:`predict_dataset` without its check of the bundle (the engine's driver checked it once for the run)."""
    ray = import_ray()
    return dataset.map_batches(
        BundlePredictor,
        fn_constructor_args=(str(Path(bundle).resolve()), load, max(1, int(num_cpus)), text_column, keep_columns),
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        batch_size=load["batch_size"],
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )


# --- the engine of `xdd predict --engine ray` ------------------------------------


def predict_batches(
    batches: Iterable[list[InputDocument]], bundle: str | Path, load: dict[str, Any], cluster: RayCluster
) -> Iterator[tuple[list[InputDocument], list[Document]]]:
    """``(batch, predicted documents)`` in input order, predicted on the cluster: what the local engine yields.

    Call it inside ``cluster.session()``, the bundle checked for ``load``
    (:func:`~xdd.models.predict.predictor.check_bundle`).  The batches (the
    local engine's: read, checked, already written ids left out) are gathered into segments
    of at most :data:`SEGMENT_DOCS` documents or :data:`SEGMENT_CHARS`
    characters; each segment is one Dataset (new actors, one bundle load
    each), so the driver never holds more than a segment of text.  A worker
    failure Ray could not recover from becomes one line naming its cause.
    """
    ray = import_ray()
    try:
        for segment in _segments(batches):
            yield from _predict_segment(segment, bundle, load, cluster)
    except ray.exceptions.RayError as err:
        cause = worker_failure(err)
        raise XddError(f"a Ray worker failed: {cause}; what was written is kept: rerun with --resume") from None


def worker_failure(err: Exception) -> str:
    """What went wrong in a worker, in one line: the exception it raised, else the first line of Ray's message.

    Ray passes a worker's exception on as text: its traceback, then Ray's
    own wrapper (``ray.exceptions.UserCodeException: UDF failed ...``) and
    advice on retries.  The cause is the last ``module.Class: message`` line
    that is not Ray's; an error of xdd's own (a bundle the worker cannot
    load) reads as it would locally, without its class.  Without a
    traceback (an actor that died) Ray's first line says what happened.
    """
    raised = RAISED_LINE.findall(str(err))
    own = [message for name, message in raised if name.startswith("xdd.")]
    if own:
        return own[-1]
    worker = [(name, message) for name, message in raised if not name.startswith("ray.")] or raised
    if worker:
        return "{}: {}".format(worker[-1][0].rsplit(".", 1)[-1], worker[-1][1])
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def _segments(batches: Iterable[list[InputDocument]]) -> Iterator[list[list[InputDocument]]]:
    """Consecutive batches, at most :data:`SEGMENT_DOCS` documents or :data:`SEGMENT_CHARS` characters together."""
    segment: list[list[InputDocument]] = []
    docs = chars = 0
    for batch in batches:
        segment.append(batch)
        docs += len(batch)
        chars += sum(len(item.text) for item in batch)
        if docs >= SEGMENT_DOCS or chars >= SEGMENT_CHARS:
            yield segment
            segment, docs, chars = [], 0, 0
    if segment:
        yield segment


def _predict_segment(
    segment: list[list[InputDocument]], bundle: str | Path, load: dict[str, Any], cluster: RayCluster
) -> Iterator[tuple[list[InputDocument], list[Document]]]:
    """One segment through Ray; each batch is yielded as soon as its rows are back, so it is written at once."""
    ray = import_ray()
    items = [item for batch in segment for item in batch]
    dataset = ray.data.from_items([{"index": n, "text": item.text} for n, item in enumerate(items)])
    predicted = _with_predictions(
        dataset, bundle, load, cluster.workers, cluster.cpus_per_worker, cluster.gpus_per_worker,
        keep_columns=["index"],  # the driver has the texts
    )  # fmt: skip
    rows = in_order(rows_as_done(predicted), len(items))
    for batch in segment:
        yield batch, [_document(item, next(rows)) for item in batch]


def rows_as_done(dataset: ray.data.Dataset) -> Iterator[dict[str, Any]]:
    """The rows of ``dataset``, each batch as soon as its worker has finished it.

    ``Dataset.iter_rows`` prefetches one block: it hands over a batch only
    once the *next* one is done too, so with a PhoBERT-sized model (half a
    minute a batch per core) the first rows reached the file at the very
    end of a short run, and a killed driver lost a batch more than needed.
    Prefetching gains nothing here: the driver only writes what it gets.
    """
    for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
        yield from table.to_pylist()


def in_order(rows: Iterable[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    """Rows ``0 .. count-1`` by their ``index`` column, each once; an error if Ray returned fewer.

    Ray keeps the order (``preserve_order``), so this normally passes rows
    straight through; it makes "each input exactly once, in input order" a
    property of this function rather than of a Ray setting.
    """
    waiting: dict[int, dict[str, Any]] = {}
    expected = 0
    for row in rows:
        if int(row["index"]) >= expected:
            waiting.setdefault(int(row["index"]), row)  # a row delivered twice is taken once
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1
    if expected < count:
        raise XddError(f"Ray returned {expected} of {count} documents in order; rerun with --resume")


def _document(item: InputDocument, row: dict[str, Any]) -> Document:
    """The predicted document the local engine would have: the input's id, text and meta, the worker's predictions."""
    record = {"id": item.id, "text": item.text, "meta": dict(item.meta)}
    return Document.from_json({**record, "entities": row["entities"], "paragraphs": row["paragraphs"]})
