"""Where the time of one ``xdd predict`` run goes, stage by stage (``xdd bench --profile``).

A worker runs the real command, ``xdd predict INPUTS.jsonl --model BUNDLE
--backend B``, over the bench texts, after wrapping the functions of
:data:`STAGES` with a clock: each stage's seconds are wall-clock time spent
inside its functions, less the time spent in the other stages they call
(``encode_document`` calls ``normalize``, which counts as normalise, not as
window).  "other" is the rest of the run: argument and output checks,
opening files, the progress bar, the glue between stages.

Wrappers rather than cProfile: cProfile's cost per Python call made the text
pipeline (pure Python) 1.6 times slower on these texts while leaving the
forward pass (C++) alone, which would overstate the text stages.  A wrapper
costs about 1 µs per call; the stages are mostly entered once per paragraph,
document or batch, except ``subword_ids`` (twice per word), and the report
gives the calls and their estimated cost (``probe_overhead_s``).  Nothing in
``xdd.models`` is changed: the wrappers exist in the worker process only.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from xdd.models.errors import XddError

if TYPE_CHECKING:  # pragma: no cover
    from xdd.bench.suite import BenchSettings

STAGE_ORDER = ("load", "read", "normalise", "segment", "align", "window", "forward", "decode", "write")
STAGES: tuple[tuple[str, str, str], ...] = (
    ("load", "xdd.models.predict.predictor", "Predictor.load"),  # bundle check, model, tokenizer, segmenter
    ("read", "xdd.models.formats.inputs", "iter_inputs"),  # reading and decoding the input files
    ("normalise", "xdd.models.text.pipeline", "normalize"),  # Unicode composition, tone placement
    ("segment", "xdd.models.text.pipeline", "TextPipeline._words"),  # words (underthesea) with their spans
    ("segment", "xdd.models.text.pipeline", "sentence_starts"),  # sentences (underthesea), to pack windows
    ("align", "xdd.models.text.segment", "align_pieces"),  # the segmenter's output lined up with the text
    ("align", "xdd.models.text.pipeline", "TextPipeline.subword_ids"),  # word -> sub-word ids (cached per form)
    ("window", "xdd.models.text.pipeline", "TextPipeline._windows"),  # window plans and token ids
    ("window", "xdd.models.text.pipeline", "TextPipeline.encode_document"),  # the rest: paragraphs, statistics
    ("forward", "xdd.models.predict.batching", "batched_window_logits"),  # length-sorted batches, the model
    ("forward", "xdd.models.predict.torch_backend", "batched_window_logits"),
    ("decode", "xdd.models.predict.batching", "decode_all"),  # logits -> entities and paragraph topics
    ("write", "xdd.models.formats.outputs", "Writer.write"),  # rendering and writing the output records
)
OVERHEAD_CALLS = 10_000  # wrapped no-op calls timed to estimate the wrappers' own cost


class StageClock:
    """Exclusive seconds and calls per stage: while a stage calls another, the time is the inner one's."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._open: list[list[Any]] = []  # [stage, since] of the stages entered and not left, innermost last

    def enter(self, stage: str) -> None:
        now = self.clock()
        if self._open:
            self._charge(self._open[-1], now)
        self._open.append([stage, now])
        self.calls[stage] = self.calls.get(stage, 0) + 1

    def leave(self) -> None:
        now = self.clock()
        self._charge(self._open.pop(), now)
        if self._open:
            self._open[-1][1] = now

    def _charge(self, entry: list[Any], now: float) -> None:
        self.seconds[entry[0]] = self.seconds.get(entry[0], 0.0) + now - entry[1]

    def timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` counted as ``stage``; a generator function is counted while it produces each item."""
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generate(*args: Any, **kwargs: Any) -> Iterator[Any]:
                items = function(*args, **kwargs)
                while True:
                    self.enter(stage)
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    finally:
                        self.leave()
                    yield item

            return generate

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            self.enter(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return call


def resolve(module: str, path: str) -> tuple[Any, str, Any]:
    """``(owner, name, attribute)`` of ``module``'s ``path`` ("function" or "Class.method"), as stored."""
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    try:
        for parent in parents:
            owner = getattr(owner, parent)
        return owner, name, inspect.getattr_static(owner, name)
    except AttributeError:
        raise XddError(f"the profile's stage table names {module}.{path}, which does not exist; "
                       "update STAGES in bench/profile.py to the renamed function") from None  # fmt: skip


def install(clock: StageClock, stages: tuple[tuple[str, str, str], ...] = STAGES) -> None:
    """Replace every function of ``stages`` by its timed version (for the rest of this process)."""
    for stage, module, path in stages:
        owner, name, attribute = resolve(module, path)
        if isinstance(attribute, classmethod):
            setattr(owner, name, classmethod(clock.timed(stage, attribute.__func__)))
        else:
            setattr(owner, name, clock.timed(stage, attribute))


def stage_table(clock: StageClock, total: float) -> dict[str, Any]:
    """Seconds, share of the run and calls of every stage, "other" (the rest) and the wrappers' estimated cost."""
    seconds = {stage: clock.seconds.get(stage, 0.0) for stage in STAGE_ORDER}
    seconds["other"] = max(0.0, total - sum(seconds.values()))
    calls = sum(clock.calls.values())
    return {"seconds": total, "stages": seconds, "shares": {k: v / total for k, v in seconds.items()},
            "calls": dict(clock.calls), "probe_overhead_s": calls * _cost_per_call()}  # fmt: skip


def _cost_per_call() -> float:
    """Seconds one wrapped call adds, measured on a no-op with a scratch clock."""
    noop = StageClock().timed("noop", lambda: None)
    began = time.perf_counter()
    for _ in range(OVERHEAD_CALLS):
        noop()
    return (time.perf_counter() - began) / OVERHEAD_CALLS


def profile_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``xdd predict`` with ``spec["argv"]`` under the stage clock (in a worker: the wrappers stay)."""
    from xdd.training.cli import main

    clock = StageClock()
    install(clock)
    began = time.perf_counter()
    code = main(spec["argv"])
    total = time.perf_counter() - began
    if code != 0:
        raise RuntimeError(f"xdd {' '.join(spec['argv'])} exited with {code}")
    return stage_table(clock, total)


def run_profile(settings: BenchSettings, backend: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Build the bench models if needed, then profile ``xdd predict --backend backend`` over the bench texts."""
    from xdd.bench.artifacts import prepare
    from xdd.bench.runner import RowRunner
    from xdd.bench.workload import bench_texts

    models = prepare(settings.work, settings.shape, settings.corpus, say)
    folder = settings.work / "profile"
    folder.mkdir(parents=True, exist_ok=True)
    texts = bench_texts(settings.corpus, settings.documents)
    inputs = folder / "inputs.jsonl"
    lines = (json.dumps({"id": f"bench-{k}", "text": text}, ensure_ascii=False) for k, text in enumerate(texts))
    inputs.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    argv = ["predict", str(inputs), "--model", str(models.bundle), "--output", str(folder / "predictions.jsonl"),
            "--backend", backend, "--batch-size", str(settings.batch_size), "--overwrite", "--quiet"]  # fmt: skip
    result = RowRunner(settings.threads, settings.work / "logs", say).run("profile", {"kind": "profile", "argv": argv})
    return {"command": "xdd " + " ".join(argv), "backend": backend, "documents": len(texts),
            "chars": sum(len(t) for t in texts), **result}  # fmt: skip


def profile_rows(profile: dict[str, Any]) -> list[list[str]]:
    """The stage table's rows: stage, seconds, share, calls; then the total."""
    rows = [[stage, f"{seconds:.3f}", f"{profile['shares'][stage]:.1%}", str(profile["calls"].get(stage, ""))]
            for stage, seconds in profile["stages"].items()]  # fmt: skip
    return [*rows, ["total", f"{profile['seconds']:.3f}", "100.0%", str(sum(profile["calls"].values()))]]

