"""Inference rows, each loaded and measured in its own worker by :mod:`xdd.bench.rows`.

Every row loads its models, makes one untimed warm-up call on a few inputs,
then each measurement is one timed pass over all the inputs (the suite runs
it once per round, interleaved with the other rows).

Ours (``torch_fp32``, ``onnx_fp32``, ``onnx_int8``): ``Predictor.predict``
on the raw texts, in chunks of ``chunk`` documents as a streaming
``xdd predict`` would: normalisation, segmentation, alignment, windows,
length-sorted batches, one forward pass for both tasks, decoding to entities
and paragraph topics.  The peers get the pre-segmented window texts (see
:mod:`xdd.bench.workload`) and time each task apart (``task_seconds``):

- ``hf_pipeline``: the two pipelines of :mod:`xdd.bench.hf_route`, at a
  fixed batch size or at the best one found by :func:`calibrate`;
- ``tutorial_script``: the plain script of :func:`xdd.bench.hf_route.tutorial_pass`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BACKENDS = {"torch_fp32": "torch", "onnx_fp32": "onnx", "onnx_int8": "onnx-int8"}
WARMUP_INPUTS = 2
RETIME_WITHIN = 1.5  # calibration: a size this much slower than the fastest on the way up is not timed again


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call of ``work``, and its result."""
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def ours(spec: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Our predictor with the row's backend over ``spec["documents"]`` corpus texts (× ``spec["copies"]``)."""
    from xdd.bench.rows import current_rss_mb
    from xdd.bench.workload import bench_texts
    from xdd.models.document.corpus import write_documents
    from xdd.models.predict.predictor import Predictor

    texts = bench_texts(Path(spec["corpus"]), spec["documents"]) * spec.get("copies", 1)
    predictor = Predictor.load(spec["bundle"], backend=BACKENDS[spec["row"]], threads=spec["threads"],
                               batch_size=spec["batch_size"])  # fmt: skip
    loaded = current_rss_mb()
    predictor.predict(texts[:WARMUP_INPUTS])
    chunk = spec["chunk"]

    def predict_all() -> list:
        return [doc for k in range(0, len(texts), chunk) for doc in predictor.predict(texts[k:k + chunk])]

    def measure() -> dict[str, Any]:
        seconds, predicted = timed(predict_all)
        if spec.get("predictions"):
            write_documents(spec["predictions"], predicted)
        return {"seconds": seconds, "rss_after_load_mb": loaded, "entities": sum(len(d.entities) for d in predicted)}

    return measure


def hf_pipeline(spec: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Both Hugging Face pipelines over the window texts, at ``spec["batch_size"]`` or, if "best", the calibrated."""
    from xdd.bench.hf_route import load_pipelines
    from xdd.bench.rows import current_rss_mb

    texts = _window_texts(spec)
    pipelines = dict(zip(("ner", "topics"), load_pipelines(Path(spec["hf_token"]), Path(spec["hf_sequence"]))))
    loaded = current_rss_mb()
    for pipe in pipelines.values():
        pipe(texts[:WARMUP_INPUTS], batch_size=1)
    calibration = None
    if spec["batch_size"] == "best":
        calibration = {task: calibrate(pipe, texts, spec["candidates"], spec["calibration_windows"])
                       for task, pipe in pipelines.items()}  # fmt: skip
    sizes = {task: calibration[task]["best"] if calibration else spec["batch_size"] for task in pipelines}
    tokens = same_tokens(spec, sum(len(pipelines["ner"].tokenizer(t)["input_ids"]) for t in texts))

    def measure() -> dict[str, Any]:
        task_seconds = {task: timed(lambda: pipe(texts, batch_size=sizes[task]))[0] for task, pipe in pipelines.items()}
        return {"seconds": sum(task_seconds.values()), "task_seconds": task_seconds, "batch_size": sizes,
                "calibration": calibration, "rss_after_load_mb": loaded, "tokens_seen": tokens}  # fmt: skip

    return measure


def calibrate(pipe: Callable[..., Any], texts: Sequence[str], candidates: Sequence[int], windows: int) -> dict:
    """The fastest batch size of ``pipe`` among ``candidates`` on ``windows`` of the texts (ties: the smaller).

    The windows are spread evenly over the texts, so their lengths are those
    of the whole set.  Every candidate is timed in a sweep up the sizes; those
    within :data:`RETIME_WITHIN` of the fastest are timed again on the way
    back down, and a candidate's faster time counts, so among those neither
    the first size timed (which meets every new input shape first) nor the
    last is favoured; a size is left with one time only when it was that far
    behind.  Timing such sizes twice was about a third of the calibration's
    2.3 minutes on two cores (the pipelines pad a batch to its longest
    window, so 8 to 32 took 1.5-2x the time of batch 1; warm-up is at batch 1).
    """
    subset = list(texts[:: max(1, len(texts) // windows)][:windows])
    seconds = {size: timed(lambda: pipe(subset, batch_size=size))[0] for size in candidates}
    fastest = min(seconds.values())
    retimed = [size for size in reversed(candidates) if seconds[size] <= RETIME_WITHIN * fastest]
    for size in retimed:
        seconds[size] = min(seconds[size], timed(lambda: pipe(subset, batch_size=size))[0])
    best = min(candidates, key=lambda size: (seconds[size], size))
    return {"windows": len(subset), "seconds": {str(size): seconds[size] for size in candidates},
            "timed_twice": sorted(retimed), "best": best}  # fmt: skip


def tutorial_script(spec: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """The fine-tuning tutorials' closing script, one per task, over the window texts."""
    from xdd.bench.hf_route import load_task_models, tutorial_pass
    from xdd.bench.rows import current_rss_mb

    texts = _window_texts(spec)
    tokenizer, models = load_task_models(Path(spec["hf_token"]), Path(spec["hf_sequence"]))
    loaded = current_rss_mb()
    batch, length = spec["batch_size"], spec["max_length"]
    for task, model in models.items():
        tutorial_pass(tokenizer, model, task, texts[:WARMUP_INPUTS], batch, length)
    tokens = same_tokens(spec, sum(len(tokenizer(t, truncation=True, max_length=length)["input_ids"]) for t in texts))

    def measure() -> dict[str, Any]:
        task_seconds = {task: timed(lambda: tutorial_pass(tokenizer, model, task, texts, batch, length))[0]
                        for task, model in models.items()}  # fmt: skip
        return {"seconds": sum(task_seconds.values()), "task_seconds": task_seconds, "batch_size": batch,
                "max_length": length, "computed_positions": 2 * length * len(texts), "rss_after_load_mb": loaded,
                "tokens_seen": tokens}  # fmt: skip

    return measure


def same_tokens(spec: dict[str, Any], seen: int) -> int:
    """``seen``, the tokens a peer made of the window texts, if they are those our windows hold; else stop."""
    if seen != spec["tokens"]:
        raise ValueError(f"this peer tokenised the window texts to {seen} tokens where our windows hold "
                         f"{spec['tokens']}: the two sides would not do the same work (a tokenizer that splits "
                         "pre-segmented words otherwise, or a window cut at 256 positions); see bench/workload.py")
    return seen


def _window_texts(spec: dict[str, Any]) -> list[str]:
    return json.loads(Path(spec["inputs"]).read_text(encoding="utf-8"))
