"""Inference rows, each run in its own process by :mod:`xdd.bench.rows`.

Both sides: load the models, one untimed warm-up call on a few inputs, then
one timed pass over all the inputs.  (:mod:`xdd.bench.suite` runs each row in
several rounds, interleaved with the other rows, and keeps the fastest.)

Ours (``torch_fp32``, ``onnx_fp32``, ``onnx_int8``): ``Predictor.predict``
on the raw texts, in chunks of ``chunk`` documents as a streaming
``xdd predict`` would: normalisation, segmentation, alignment, windows,
length-sorted batches, one forward pass for both tasks, decoding to entities
and paragraph topics.  The usual route (``hf_pipeline``): the two pipelines
of :mod:`xdd.bench.hf_route` over the pre-segmented window texts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BACKENDS = {"torch_fp32": "torch", "onnx_fp32": "onnx", "onnx_int8": "onnx-int8"}
WARMUP_INPUTS = 2


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call of ``work``, and its result."""
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def ours(spec: dict[str, Any]) -> dict[str, Any]:
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

    seconds, predicted = timed(predict_all)
    if spec.get("predictions"):
        write_documents(spec["predictions"], predicted)
    return {"seconds": seconds, "rss_after_load_mb": loaded, "entities": sum(len(d.entities) for d in predicted)}


def hf_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """Both Hugging Face pipelines over the pre-segmented window texts in ``spec["inputs"]``."""
    from xdd.bench.hf_route import load_pipelines, run_both
    from xdd.bench.rows import current_rss_mb

    texts = json.loads(Path(spec["inputs"]).read_text(encoding="utf-8"))
    ner, topics = load_pipelines(Path(spec["hf_token"]), Path(spec["hf_sequence"]))
    loaded = current_rss_mb()
    run_both(ner, topics, texts[:WARMUP_INPUTS], spec["hf_batch_size"])
    seconds, (entities, _) = timed(lambda: run_both(ner, topics, texts, spec["hf_batch_size"]))
    tokens = sum(len(ner.tokenizer(t)["input_ids"]) for t in texts)
    return {"seconds": seconds, "rss_after_load_mb": loaded, "entities": sum(len(e) for e in entities),
            "tokens_seen": tokens}  # fmt: skip
