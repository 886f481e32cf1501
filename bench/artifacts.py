"""The models every benchmark row loads, built once and kept in the work folder.

``WORK/<shape>/``::

    backbone/        `xdd init-model --shape <shape>`: RANDOM encoder + PhoBERT-format tokenizer
    run/             a run folder whose model/ is a TransformerPredictor.save() of a JointModel
                     wrapping that encoder (random heads, no training: speed does not depend on weights)
    bundle/          `xdd export run --quantize int8`: model files, model.onnx, model.int8.onnx
    hf/token-classification, hf/text-classification
                     the same encoder and heads as Hugging Face Auto* model folders (bench.hf_route)
    stamp.json       shape, seed, corpus hash and code hash the folders were built from

A folder whose stamp matches is reused, so repeated runs skip the export.  The
code hash covers the source of everything that shapes the built files
(:data:`MODEL_CODE`: the export, the networks, ``init-model``, this module
and the Hugging Face twins), so a changed export graph is rebuilt, not reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STAMP_FILE = "stamp.json"
SEED = 0
EXPORT_CODE = ("xdd.models.export", "xdd.models.nets")  # the exported graph, its quantisation and parity check
MODEL_CODE = (*EXPORT_CODE, "xdd.training.init_model", "xdd.bench.artifacts", "xdd.bench.hf_route")


@dataclass(frozen=True)
class BenchModels:
    """Paths of the bench models of one shape (see the module docstring)."""

    folder: Path

    @property
    def backbone(self) -> Path:
        return self.folder / "backbone"

    @property
    def run(self) -> Path:
        return self.folder / "run"

    @property
    def bundle(self) -> Path:
        return self.folder / "bundle"

    @property
    def hf_token(self) -> Path:
        return self.folder / "hf" / "token-classification"

    @property
    def hf_sequence(self) -> Path:
        return self.folder / "hf" / "text-classification"


def prepare(work: Path, shape: str, corpus: Path, say: Callable[[str], None] = print) -> BenchModels:
    """The bench models of ``shape`` for ``corpus`` under ``work``, built unless already there."""
    models = BenchModels(Path(work) / shape)
    stamp = {"shape": shape, "seed": SEED, "corpus_sha256": corpus_sha256(corpus),
             "code_sha256": code_sha256(MODEL_CODE)}  # fmt: skip
    cached(models.folder, stamp, lambda: _build(models, shape, corpus, say), say)
    return models


def cached(folder: Path, stamp: dict, build: Callable[[], None], say: Callable[[str], None]) -> None:
    """Run ``build`` into an emptied ``folder`` unless the folder's stamp equals ``stamp``."""
    stamp_path = folder / STAMP_FILE
    if stamp_path.is_file() and json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
        say(f"reusing {folder} (built from the same corpus and code; delete it to rebuild)")
        return
    shutil.rmtree(folder, ignore_errors=True)
    say(f"building {folder}")
    build()
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def corpus_sha256(corpus: Path) -> str:
    from xdd.training.runs import describe_corpus

    return describe_corpus({"train": corpus})["sha256"]


def code_sha256(modules: tuple[str, ...]) -> str:
    """SHA-256 of the Python source of ``modules`` (a package: every ``.py`` file below it), file names included."""
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ValueError(f"cannot hash the source of {name}: no such module")
        folders = [Path(folder) for folder in spec.submodule_search_locations or []]
        files = [(f"{name}/{f.relative_to(folder)}", f) for folder in folders for f in sorted(folder.rglob("*.py"))]
        for label, file in files or [(name, Path(spec.origin))]:
            digest.update(f"{label}\n".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _build(models: BenchModels, shape: str, corpus: Path, say: Callable[[str], None]) -> None:
    from xdd.bench.hf_route import write_hf_models
    from xdd.models.export.bundle import export_run
    from xdd.training.init_model import init_model
    from xdd.training.text_cli import corpus_texts

    init_model(models.backbone, shape, corpus_texts(corpus), seed=SEED)
    write_random_run(models.backbone, corpus, models.run)
    export_run(models.run, models.bundle, quantize="int8", data=corpus, overwrite=True, say=say)
    write_hf_models(models.bundle, models.hf_token, models.hf_sequence, seed=SEED)


def write_random_run(backbone: Path, corpus: Path, run: Path) -> None:
    """A run folder (as `xdd train` writes it) holding an UNTRAINED JointModel on ``backbone``."""
    import torch
    from transformers import AutoModel
    from xdd.models.document.labels import scheme_for
    from xdd.models.nets.joint import JointModel, encoder_kwargs
    from xdd.models.predict.torch_backend import TransformerPredictor
    from xdd.models.text.pipeline import TextPipeline
    from xdd.training.config import load_config
    from xdd.training.runs import RunFolder

    scheme = scheme_for(corpus)
    torch.manual_seed(SEED)
    encoder = AutoModel.from_pretrained(str(backbone), **encoder_kwargs("roberta"))
    model = JointModel(encoder, len(scheme.bio_tags()), len(scheme.topics)).eval()
    pipeline = TextPipeline.from_pretrained(backbone)
    predictor = TransformerPredictor(model, pipeline, scheme, {t: 0.5 for t in scheme.topics})
    predictor.save(run / "model", extra={"note": "untrained heads on a random encoder, for benchmarks"})
    config = load_config(None, [f"model.backbone={backbone}", "name=bench-random", f"data.train={corpus}"])
    with RunFolder(run) as folder:
        folder.record(config, {"train": corpus})
