"""One benchmark row in a worker process: ``python -m xdd.bench.rows SPEC.json REPLY_FD``.

The spec names the row (``kind``) and its inputs.  The worker sets the thread
count, loads the row (:data:`ROWS` maps each kind to a function that loads
it, makes any untimed warm-up call and returns the function that measures
once), replies ``{"ready": true}``, then measures once per ``run`` line on
stdin (protocol: :mod:`xdd.bench.runner`).  Each reply is the row's figures
plus ``peak_rss_mb`` (the process's peak resident memory so far, model loading
included), the thread count, and ``other_load_cores``: how many cores other
processes kept busy while it measured (on a shared machine they slow rows
down; read from ``/proc/stat``).

Threads: ``torch.set_num_threads(threads)`` and ``OMP_NUM_THREADS`` here, ONNX
Runtime's intra-op threads through ``Predictor.load(threads=...)``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import IO, Any

from xdd.models.allocator import keep_freed_memory

Measure = Callable[[], dict[str, Any]]
Row = Callable[[dict[str, Any]], Measure]  # loads a row from its spec, returns what measures it once

MATMUL_SIZE = 4096
MATMUL_REPEAT = 5
PREPROCESS_REPEAT = 3  # passes over the texts; the fastest counts (the sub-word cache is warm after the first)


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``).

    Not ``getrusage().ru_maxrss``: Linux carries that across ``fork`` and
    ``exec``, so a row would report its parent's peak when that was higher.
    """
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("/proc/self/status has no VmHWM line: peak memory needs Linux")


def once(row: Callable[[dict[str, Any]], dict[str, Any]]) -> Row:
    """A row with nothing to load ahead: all its work is the measurement."""
    return lambda spec: partial(row, spec)


def matmul_row(spec: dict[str, Any]) -> Measure:
    """The machine's fp32 matrix-multiply limit: the faster of torch's and ONNX Runtime's ``n × n`` matmul.

    Each library's best of :data:`MATMUL_REPEAT` calls, both on the row's
    threads.  Both, because either can be the faster one on a given CPU: on
    an AMD Zen 5 VM (2026-12-03, 2 threads, n = 4096) ONNX Runtime's MLAS
    reached 331 GFLOP/s and torch's MKL 172, so a torch-only limit let
    onnx_fp32 end to end reach 134 % of "the limit".
    """
    from xdd.bench.flops import matmul_flops
    from xdd.bench.inference import timed

    n = spec.get("size", MATMUL_SIZE)
    calls = {"torch": _torch_matmul(n), "onnxruntime": _onnxruntime_matmul(n, spec["threads"])}
    for call in calls.values():
        call()  # warm-up: first-call allocations and thread pools

    def measure() -> dict[str, Any]:
        seconds = {name: min(timed(call)[0] for _ in range(MATMUL_REPEAT)) for name, call in calls.items()}
        by_library = {name: matmul_flops(n) / s / 1e9 for name, s in seconds.items()}
        fastest = max(by_library, key=by_library.__getitem__)
        return {"size": n, "seconds": seconds[fastest], "gflops": by_library[fastest], "library": fastest,
                "by_library": by_library}  # fmt: skip

    return measure


def _torch_matmul(n: int) -> Callable[[], object]:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    return partial(torch.mm, a, b)


def _onnxruntime_matmul(n: int, threads: int) -> Callable[[], object]:
    """One MatMul node in an ONNX Runtime session with ``threads`` intra-op threads, as our ONNX rows run."""
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, helper

    io = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in ("a", "b", "c")]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", io[:2], io[2:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal((n, n), dtype=np.float32) for name in ("a", "b")}
    return partial(session.run, None, feeds)


def preprocess_row(spec: dict[str, Any]) -> Measure:
    """Normalisation + segmentation + alignment + windows (``encode_document``) over the bench texts.

    ``encode_document`` without labels, as prediction runs it; the segmenter's
    model is loaded first and the fastest of :data:`PREPROCESS_REPEAT` passes counts.
    """
    from xdd.bench.inference import timed
    from xdd.bench.workload import bench_texts
    from xdd.models.document import Document
    from xdd.models.text.pipeline import TextPipeline

    texts = bench_texts(Path(spec["corpus"]), spec["documents"])
    pipeline = TextPipeline.from_pretrained(spec["bundle"])
    pipeline.words("Khởi động.")  # loads the segmenter's own model outside the timing
    docs = [Document(str(k), t) for k, t in enumerate(texts)]

    def measure() -> dict[str, Any]:
        passes = [timed(lambda: [pipeline.encode_document(d) for d in docs]) for _ in range(PREPROCESS_REPEAT)]
        seconds, encoded = min(passes, key=lambda p: p[0])
        chars, words = sum(len(t) for t in texts), sum(len(ws) for e in encoded for ws in e.words)
        return {"seconds": seconds, "chars": chars, "words": words,
                "chars_per_s": chars / seconds, "words_per_s": words / seconds}  # fmt: skip

    return measure


def _rows() -> dict[str, Row]:
    from xdd.bench.inference import hf_pipeline, ours, tutorial_script
    from xdd.bench.profile import profile_row
    from xdd.bench.trained import trained_agreement
    from xdd.bench.training_rows import train_row

    return {"ours": ours, "hf_pipeline": hf_pipeline, "tutorial_script": tutorial_script, "matmul": matmul_row,
            "preprocess": preprocess_row, "train": once(train_row), "trained_agreement": once(trained_agreement),
            "profile": once(profile_row)}  # fmt: skip


def serve(spec: dict[str, Any], commands: Iterable[str], replies: IO[str]) -> None:
    """Load the row, reply ready, then measure once per ``run`` command until the commands end."""
    import torch

    rows = _rows()
    if spec.get("kind") not in rows:
        raise ValueError(f"unknown benchmark row kind {spec.get('kind')!r}; expected one of {', '.join(rows)}")
    torch.set_num_threads(spec["threads"])
    measure = rows[spec["kind"]](spec)
    _reply(replies, {"ready": True})
    for command in commands:
        if command.strip() != "run":
            raise ValueError(f"unknown worker command {command.strip()!r}; expected 'run'")
        before = _cpu_counters()
        result = measure()
        result.update(peak_rss_mb=peak_rss_mb(), threads=torch.get_num_threads(),
                      other_load_cores=_other_load(before, _cpu_counters()))  # fmt: skip
        _reply(replies, result)


def _reply(replies: IO[str], message: dict[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def _cpu_counters() -> tuple[float, float, float]:
    """(wall clock, CPU seconds of the whole machine, CPU seconds of this process)."""
    fields = [int(x) for x in Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    own = os.times()
    return time.monotonic(), (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), own.user + own.system


def _other_load(before: tuple[float, float, float], after: tuple[float, float, float]) -> float:
    """Cores kept busy by OTHER processes during the row (the machine's CPU time minus ours, per second)."""
    wall = after[0] - before[0]
    return round(max(0.0, (after[1] - before[1]) - (after[2] - before[2])) / wall, 2) if wall > 0 else 0.0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m xdd.bench.rows SPEC.json REPLY_FD", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    keep_freed_memory()  # every row, the peers' included: the allocator setting `xdd` runs with
    with os.fdopen(int(argv[1]), "w", encoding="utf-8") as replies:
        serve(spec, sys.stdin, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
