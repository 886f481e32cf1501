"""int8 against fp32 on a model that has learned something.

The speed rows use random weights, whose near-uniform scores make any
rounding flip labels; agreement there says little.  This row trains the
``tiny`` shape on the corpus with the shipped ``tiny-joint`` config (``xdd
train``'s own code path: 40 epochs, a few hundred steps), exports it with
``--quantize int8`` and compares what each backend predicts on the corpus:
entity F1 and topic decisions of ONNX fp32 and ONNX int8 against PyTorch
fp32, plus the export's own word-tag parity figures.  The trained bundle is
kept in the work folder and reused while the corpus and the export code
(:data:`xdd.bench.artifacts.EXPORT_CODE`) are unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHAPE = "tiny"
CONFIG = "tiny-joint"
# One training with a dev split: the row needs a trained model, not the n + 1 out-of-fold trainings a corpus
# under data.oof_below gets (docs/training.md), which would take six times as long.
OVERRIDES = ("data.oof_below=0", "training.logging_steps=1000")


def trained_agreement(spec: dict[str, Any]) -> dict[str, Any]:
    from xdd.bench.agreement import prediction_agreement
    from xdd.bench.artifacts import EXPORT_CODE, SEED, cached, code_sha256, corpus_sha256
    from xdd.models.document.corpus import read_documents
    from xdd.models.predict.predictor import Predictor

    folder, corpus = Path(spec["folder"]), Path(spec["corpus"])
    stamp = {"shape": SHAPE, "config": CONFIG, "overrides": list(OVERRIDES), "seed": SEED,
             "corpus_sha256": corpus_sha256(corpus), "export_code_sha256": code_sha256(EXPORT_CODE)}  # fmt: skip
    cached(folder, stamp, lambda: _train_and_export(folder, corpus), lambda message: None)
    docs = read_documents(corpus)
    predicted = {b: Predictor.load(folder / "bundle", backend=b, threads=spec["threads"]).predict(docs)
                 for b in ("torch", "onnx", "onnx-int8")}  # fmt: skip
    parity = json.loads((folder / "bundle" / "parity.json").read_text(encoding="utf-8"))
    dev = folder / "run" / "dev" / "metrics.json"
    dev_metrics = json.loads(dev.read_text(encoding="utf-8")) if dev.is_file() else None
    return {
        "model": f"{SHAPE} shape trained on {corpus} with the {CONFIG} config",
        "steps": _steps(folder / "run"),
        "dev_entity_f1": dev_metrics["ner"]["micro"]["f1"] if dev_metrics else None,
        "onnx_fp32": prediction_agreement(predicted["torch"], predicted["onnx"]),
        "onnx_int8": prediction_agreement(predicted["torch"], predicted["onnx-int8"]),
        "word_tag_agreement_int8": parity["checks"]["int8"]["tag_agreement"],
        "max_abs_logit_diff_int8": parity["checks"]["int8"]["max_abs_logit_diff"],
    }


def _train_and_export(folder: Path, corpus: Path) -> None:
    from xdd.bench.artifacts import SEED
    from xdd.models.export.bundle import export_run
    from xdd.training.config import load_config, resolve_config_path
    from xdd.training.init_model import init_model
    from xdd.training.text_cli import corpus_texts
    from xdd.training.train_cli import train_fn_for
    from xdd.training.train_run import run_training

    init_model(folder / "backbone", SHAPE, corpus_texts(corpus), seed=SEED)
    overrides = [f"model.backbone={folder / 'backbone'}", f"data.train={corpus}", *OVERRIDES]
    config = load_config(resolve_config_path(CONFIG), overrides)
    run_training(config, folder / "run", train_fn_for(config))
    export_run(folder / "run", folder / "bundle", quantize="int8", data=corpus, overwrite=True)


def _steps(run: Path) -> int | None:
    """Optimiser steps of the run, from the name of its last checkpoint."""
    steps = [int(p.name.split("-")[-1]) for p in (run / "checkpoints").glob("checkpoint-*")]
    return max(steps, default=None)
