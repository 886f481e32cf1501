"""The benchmark suite: build the models, run every row in its own process, derive the figures.

Rows, in the order they run (each a ``python -m xdd.bench.rows`` process):

1. ``limit``: the fp32 matrix-multiply limit of this machine (:func:`xdd.bench.rows.matmul_row`);
2. ``preprocessing``: text pipeline characters/s;
3. ``inference``: ``torch_fp32``, ``onnx_fp32``, ``onnx_int8`` (ours) and ``hf_pipeline``;
4. ``scaling``: the fastest exact backend on N and on 4N documents (the same N texts four times);
5. ``training``: ``ours`` and ``fixed_padding``;
6. ``trained_agreement``: int8 against fp32 on a tiny model trained on the corpus.

Inference and scaling rows run in ``rounds`` interleaved rounds (see
:meth:`RowRunner.interleaved`); the fastest round of each row counts.

The returned dict is the JSON report; :mod:`xdd.bench.report` prints it and
checks the targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from xdd.bench.flops import EncoderShape, joint_flops, training_flops, two_pass_flops
from xdd.models.errors import XddError

ROOT = Path(__file__).resolve().parent.parent
OUR_ROWS = ("torch_fp32", "onnx_fp32", "onnx_int8")
EXACT_CANDIDATES = ("torch_fp32", "onnx_fp32")  # int8 is never exact
LOG_TAIL = 3000


@dataclass(frozen=True)
class BenchSettings:
    """Everything a run depends on; saved in the JSON report."""

    corpus: Path
    work: Path
    threads: int
    shape: str = "phobert-base"
    documents: int = 10  # N for the inference rows
    scaling_documents: int = 5  # N for the scaling rows (4N = the same texts four times)
    rounds: int = 3  # each inference and scaling row runs once per round, rows interleaved; the fastest counts
    batch_size: int = 16  # windows per forward pass, and documents per predict() call (xdd predict's default)
    hf_batch_size: int = 1  # the pipelines' default
    train_windows: int = 84  # windows of the corpus trained on (one epoch), both training rows
    train_batch_size: int = 16  # the shipped phobert-*.yaml configs' batch size
    max_tokens: int = 256
    trained_agreement: bool = True
    seed: int = 0

    def quick(self) -> BenchSettings:
        """A small run: two documents, one round, eight training windows, no training of the agreement model."""
        return replace(self, documents=2, scaling_documents=1, rounds=1, train_windows=8, trained_agreement=False)


def run_suite(settings: BenchSettings, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every row and return the report (see the module docstring)."""
    from xdd.bench.artifacts import prepare

    models = prepare(settings.work, settings.shape, settings.corpus, say)
    context = _workload(settings, models)
    runner = RowRunner(settings, settings.work / "logs", say)
    limit = runner.run("limit", {"kind": "matmul"})
    preprocess = {"kind": "preprocess", "bundle": str(models.bundle), "corpus": str(settings.corpus),
                  "documents": settings.documents}  # fmt: skip
    report: dict[str, Any] = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()},
        "workload": context["workload"].to_json(),
        "limit": {"matmul_gflops": limit["gflops"], "size": limit["size"], "threads": limit["threads"]},
        "preprocessing": runner.run("preprocessing", preprocess),
    }
    report["inference"] = _inference(settings, models, context, runner, limit["gflops"])
    report["scaling"] = _scaling(settings, models, report["inference"], runner)
    report["training"] = _training(settings, models, context, runner)
    report["trained_agreement"] = None
    if settings.trained_agreement:
        trained = {"kind": "trained_agreement", "folder": str(settings.work / "trained-tiny"),
                   "corpus": str(settings.corpus)}  # fmt: skip
        report["trained_agreement"] = runner.run("trained_agreement", trained)
    return report


def _workload(settings: BenchSettings, models) -> dict[str, Any]:
    """Sizes of the N bench documents, their window texts for the HF side, and the model's shape."""
    from transformers import AutoConfig
    from xdd.bench.workload import bench_texts, describe
    from xdd.models.document.labels import scheme_for
    from xdd.models.text.pipeline import TextPipeline

    texts = bench_texts(settings.corpus, settings.documents)
    workload, window_texts = describe(TextPipeline.from_pretrained(models.bundle), texts)
    inputs = settings.work / "hf_inputs.json"
    inputs.write_text(json.dumps(window_texts, ensure_ascii=False), encoding="utf-8")
    scheme = scheme_for(settings.corpus)
    shape = EncoderShape.from_config(AutoConfig.from_pretrained(str(models.bundle)))
    return {"workload": workload, "inputs": inputs, "shape": shape, "tags": len(scheme.bio_tags()),
            "topics": len(scheme.topics)}  # fmt: skip


def _inference(settings: BenchSettings, models, context: dict[str, Any], runner: RowRunner, limit: float) -> dict:
    from xdd.bench.agreement import prediction_agreement
    from xdd.models.document.corpus import read_documents

    predictions = settings.work / "predictions"
    predictions.mkdir(parents=True, exist_ok=True)
    specs = {row: _our_spec(settings, models, row, settings.documents) for row in OUR_ROWS}
    for row in OUR_ROWS:
        specs[row]["predictions"] = str(predictions / f"{row}.jsonl")
    specs["hf_pipeline"] = {"kind": "hf_pipeline", "inputs": str(context["inputs"]), "hf_token": str(models.hf_token),
                            "hf_sequence": str(models.hf_sequence), "hf_batch_size": settings.hf_batch_size}
    results = runner.interleaved(specs, settings.rounds)
    workload, shape, tags, topics = (context[k] for k in ("workload", "shape", "tags", "topics"))
    flops = {row: joint_flops(shape, workload.lengths, tags, topics) for row in OUR_ROWS}
    flops["hf_pipeline"] = two_pass_flops(shape, workload.lengths, tags, topics)
    rows = {row: _rates(results[row], workload, flops[row], limit) for row in specs}
    reference = read_documents(predictions / "torch_fp32.jsonl")
    for row in OUR_ROWS:
        predicted = read_documents(predictions / f"{row}.jsonl")
        rows[row]["agreement_with_torch_fp32"] = prediction_agreement(reference, predicted)
        rows[row]["speedup_vs_hf"] = rows[row]["docs_per_s"] / rows["hf_pipeline"]["docs_per_s"]
    rows["hf_pipeline"]["agreement_with_torch_fp32"] = None
    return rows


def _our_spec(settings: BenchSettings, models, row: str, documents: int, copies: int = 1,
              chunk: int | None = None) -> dict[str, Any]:  # fmt: skip
    return {"kind": "ours", "row": row, "bundle": str(models.bundle), "corpus": str(settings.corpus),
            "documents": documents, "copies": copies, "batch_size": settings.batch_size,
            "chunk": chunk or settings.batch_size}  # fmt: skip


def _rates(result: dict[str, Any], workload, flops: int, limit: float) -> dict[str, Any]:
    """docs/s, tokens/s and GFLOP/s of a row that processed ``workload`` in ``result["seconds"]``."""
    seconds = result["seconds"]
    achieved = flops / seconds / 1e9
    return {"docs_per_s": workload.documents / seconds, "tokens_per_s": workload.tokens / seconds,
            "gflop": flops / 1e9, "achieved_gflops": achieved, "fraction_of_limit": achieved / limit,
            **result}  # fmt: skip


def fastest_exact(inference: dict[str, dict[str, Any]]) -> str:
    """The fastest of our fp32 backends whose predictions equal torch fp32's exactly."""
    exact = [r for r in EXACT_CANDIDATES if inference[r]["agreement_with_torch_fp32"]["exact"]]
    return max(exact, key=lambda r: inference[r]["docs_per_s"])


def _scaling(settings: BenchSettings, models, inference: dict, runner: RowRunner) -> dict[str, Any]:
    """Time and peak memory of the fastest exact backend on N and on 4N documents.

    4N is the same N texts four times, fed in chunks of N documents (as ``xdd
    predict`` streams batches of documents): four times the same work, so any
    departure from 4x time or 1x memory is something that accumulates.
    """
    row = fastest_exact(inference)
    n = settings.scaling_documents
    specs = {f"scaling_{row}_x{k}": _our_spec(settings, models, row, n, copies=k, chunk=n) for k in (1, 4)}
    small, large = runner.interleaved(specs, settings.rounds).values()
    return {
        "backend": row,
        "documents": [n, 4 * n],
        "seconds": [small["seconds"], large["seconds"]],
        "peak_rss_mb": [small["peak_rss_mb"], large["peak_rss_mb"]],
        "time_ratio_4x": large["seconds"] / small["seconds"],
        "rss_ratio_4x": large["peak_rss_mb"] / small["peak_rss_mb"],
    }


def _training(settings: BenchSettings, models, context: dict[str, Any], runner: RowRunner) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for variant in ("ours", "fixed_padding"):
        spec = {"kind": "train", "variant": variant, "bundle": str(models.bundle), "corpus": str(settings.corpus),
                "windows": settings.train_windows, "batch_size": settings.train_batch_size,
                "max_tokens": settings.max_tokens, "seed": settings.seed,
                "scratch": str(settings.work / "scratch" / variant)}  # fmt: skip
        result = runner.run(f"training_{variant}", spec)
        flops = training_flops(context["shape"], result.pop("lengths"), context["tags"], context["topics"])
        result["tokens_per_s"] = result["real_tokens"] / result["seconds"]
        result["achieved_gflops"] = flops / result["seconds"] / 1e9
        out[variant] = result
    out["speedup"] = out["ours"]["tokens_per_s"] / out["fixed_padding"]["tokens_per_s"]
    return out


class RowRunner:
    """Runs rows as ``python -m xdd.bench.rows`` processes with the same threads and environment."""

    def __init__(self, settings: BenchSettings, logs: Path, say: Callable[[str], None]) -> None:
        self.threads = settings.threads
        self.folder = logs
        self.say = say

    def run(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.folder.mkdir(parents=True, exist_ok=True)
        spec_path, result_path, log_path = (self.folder / f"{name}.{ext}" for ext in ("spec.json", "json", "log"))
        spec_path.write_text(json.dumps({**spec, "threads": self.threads}, indent=2), encoding="utf-8")
        result_path.unlink(missing_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "TOKENIZERS_PARALLELISM": "false",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
        self.say(f"  {name} ...")
        with log_path.open("w", encoding="utf-8") as log:
            command = [sys.executable, "-m", "xdd.bench.rows", str(spec_path), str(result_path)]
            done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False)
        if done.returncode != 0 or not result_path.is_file():
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
            raise XddError(f"benchmark row '{name}' failed (exit {done.returncode}); its log is {log_path}:\n{tail}")
        result = json.loads(result_path.read_text(encoding="utf-8"))
        self.say(f"  {name}: {result.get('seconds', 0):.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
                 f"other processes {result['other_load_cores']:.2f} cores")  # fmt: skip
        return result

    def interleaved(self, specs: dict[str, dict[str, Any]], rounds: int) -> dict[str, dict[str, Any]]:
        """Each spec once per round, in turn; per row, the fastest round with every round's seconds and load.

        Interleaving spreads every row over the same stretch of time, so that
        other processes on a shared machine do not slow one row only.
        """
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
        for k in range(rounds):
            for name, spec in specs.items():
                runs[name].append(self.run(f"{name}.round{k + 1}", spec))
        merged = {}
        for name, results in runs.items():
            best = min(results, key=lambda r: r["seconds"])
            merged[name] = {**best, "rounds_seconds": [r["seconds"] for r in results],
                            "rounds_other_load_cores": [r["other_load_cores"] for r in results],
                            "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}  # fmt: skip
        return merged


def machine() -> dict[str, Any]:
    """The CPU, core count, GPU (if any) and the versions that shape the figures."""
    import importlib.metadata
    import platform

    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
               platform.processor() or platform.machine())  # fmt: skip
    versions = {name: importlib.metadata.version(name) for name in ("torch", "transformers", "onnxruntime")}
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu, "python": platform.python_version(), **versions}


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
