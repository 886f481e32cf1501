"""``xdd export``: a training run folder → a verified model bundle.

The run folder is read as files (``training/`` is never imported)::

    RUN/model/              TransformerPredictor.save or BaselineModel.save output
    RUN/config.yaml, corpus.json, versions.json, [git.json, train.log]
    RUN/metrics.json, RUN/dev/metrics.json, RUN/test/metrics.json, RUN/train/metrics.json  (whichever exist)

The bundle is assembled in a temporary folder (:func:`xdd.models.document.bundle.staged_bundle`):
model files, training metadata under ``training/``, optionally ONNX (the
optimised fp32 graph and its int8 copy) with a parity check against PyTorch on
the run's corpus, ``bundle.json``,
the model card, and the manifest last; it is verified as a user would load it,
then renamed into place.
"""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from xdd.models.document.bundle import BUNDLE_FILE, FORMAT, FORMAT_VERSION, sha256_file, verify_bundle
from xdd.models.export.staging import staged_bundle, write_manifest
from xdd.models.document.corpus import read_documents
from xdd.models.document import Document
from xdd.models.checks import read_json
from xdd.models.errors import BundleError, ConfigError
from xdd.models.export.model_card import model_card

if TYPE_CHECKING:  # pragma: no cover - onnx.py imports torch, which only the export path may
    from xdd.models.export.onnx import GraphReport

MODEL_FOLDER = "model"
TRAINING_FOLDER = "training"
RUN_FILES = ("config.yaml", "corpus.json", "versions.json")  # required
OPTIONAL_RUN_FILES = ("git.json", "train.log", "choices.json")
CV_SPLIT = "cross-validation"  # the model card's name for the figures of `export --cv`
METRICS_FILES = {"test": "test/metrics.json", "dev": "dev/metrics.json", "train": "train/metrics.json",
                 "evaluation": "metrics.json"}  # fmt: skip
ONNX_FILE, INT8_FILE, PARITY_FILE = "model.onnx", "model.int8.onnx", "parity.json"
RANDOM_BACKBONE_MARKER = "Random PhoBERT-format encoder"  # first line of `xdd init-model`'s README.md
NORMALIZER = "Unicode NFC per character cluster, invisible format characters removed, whitespace and symbols as spaces, tone marks"


@dataclass
class TrainedRun:
    """What export needs from a run folder."""

    path: Path
    kind: str  # "transformer" or "baselines"
    description: dict[str, Any]  # xdd_model.json or baseline.json
    config: dict[str, Any]
    corpus: dict[str, Any]
    metrics: dict[str, dict]  # by split


def read_run(path: str | Path) -> TrainedRun:
    """The model kind, config, corpus record and metrics of a run folder; missing pieces are named."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such run folder; give the folder `xdd train` wrote (e.g. runs/NAME)")
    missing = [name for name in (MODEL_FOLDER, *RUN_FILES) if not (path / name).exists()]
    if missing:
        raise BundleError(f"{path}: not a complete run folder, missing {missing}; did `xdd train` finish?")
    kind, description = _model_description(path / MODEL_FOLDER)
    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise BundleError(f"{path / 'config.yaml'}: not valid YAML: {err}") from err
    metrics = {split: read_json(path / name, BundleError) for split, name in METRICS_FILES.items() if (path / name).is_file()}
    return TrainedRun(path, kind, description, config, read_json(path / "corpus.json", BundleError), metrics)


def _model_description(model: Path) -> tuple[str, dict[str, Any]]:
    for kind, name in (("transformer", "xdd_model.json"), ("baselines", "baseline.json")):
        if (model / name).is_file():
            return kind, read_json(model / name, BundleError)
    raise BundleError(f"{model}: no xdd_model.json or baseline.json, so no model to export; did training finish?")


def export_run(
    run_path: str | Path,
    out: str | Path,
    *,
    onnx: bool = False,
    quantize: str | None = None,
    data: str | Path | None = None,
    license_id: str = "other",
    overwrite: bool = False,
    cv: str | Path | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Write the bundle of ``run_path`` to ``out``; returns its bundle.json.

    ``quantize="int8"`` adds ``model.int8.onnx`` (and implies ``onnx``);
    ``data`` is the corpus for the parity check (default: the run's corpus);
    ``cv`` an ``xdd cv`` run folder of the same config, whose cross-validated
    figures the model card leads with (copied to ``training/cv/metrics.json``).
    Raises :class:`BundleError` when fp32 ONNX labels differ from PyTorch's.
    """
    if quantize not in (None, "int8"):
        raise ConfigError(f"--quantize {quantize!r}: only 'int8' is supported")
    run = read_run(run_path)
    metrics = {**({CV_SPLIT: read_json(Path(cv) / "metrics.json", BundleError, "cross-validation metrics")}
                  if cv is not None else {}), **run.metrics}  # fmt: skip
    onnx = onnx or quantize is not None
    if onnx and run.kind != "transformer":
        raise ConfigError(f"{run.path}: a {run.kind} model has no ONNX form; export it without --onnx/--quantize")
    out = Path(out)
    with staged_bundle(out, overwrite) as folder:
        shutil.copytree(run.path / MODEL_FOLDER, folder, dirs_exist_ok=True)
        _copy_training_files(run, folder / TRAINING_FOLDER)
        if cv is not None:
            (folder / TRAINING_FOLDER / "cv").mkdir()
            shutil.copy2(Path(cv) / "metrics.json", folder / TRAINING_FOLDER / "cv" / "metrics.json")
        parity = _add_onnx(run, folder, quantize, data, say) if onnx else None
        info = bundle_info(run, folder, out.name)
        (folder / BUNDLE_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (folder / "README.md").write_text(model_card(info, metrics, parity, license_id), encoding="utf-8")
        write_manifest(folder)
        verify_bundle(folder)
    say(f"wrote {out} ({info['kind']}{', ' + ', '.join(info['files']) if info['files'] else ''})")
    return info


def _copy_training_files(run: TrainedRun, target: Path) -> None:
    names = [*RUN_FILES, *(n for n in OPTIONAL_RUN_FILES if (run.path / n).is_file())]
    names += [METRICS_FILES[split] for split in run.metrics]
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run.path / name, target / name)


def bundle_info(run: TrainedRun, folder: Path, name: str) -> dict[str, Any]:
    """bundle.json: what the bundle is, in one readable file (the model files stay authoritative)."""
    candidates = (("onnx", ONNX_FILE), ("onnx-int8", INT8_FILE))
    files = {backend: file for backend, file in candidates if (folder / file).is_file()}
    if run.kind == "transformer":
        labels, thresholds = run.description["labels"], run.description["thresholds"]
        text = read_json(folder / "text_settings.json", BundleError)
        backbone = str(run.config.get("model", {}).get("backbone"))
        backbone_info = {"name": backbone, "random_init": random_backbone(read_json(folder / "config.json", BundleError), backbone)}
    else:
        labels, text = run.description["scheme"], run.description["text"]
        thresholds = (run.description.get("topics") or {}).get("thresholds", {})
        backbone_info = None
    corpus = run.corpus.get("corpora", {})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "kind": run.kind,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "labels": labels,
        "thresholds": thresholds,
        "text": {**text, "normalizer": f"{NORMALIZER} placed by the '{text['tone']}' convention"},
        "backbone": backbone_info,
        "files": files,
        "training": {
            "run": str(run.path),
            "config": f"{TRAINING_FOLDER}/config.yaml",
            "corpus_sha256": run.corpus.get("sha256"),
            "documents": {role: block.get("documents") for role, block in corpus.items()},
            "metrics": {split: f"{TRAINING_FOLDER}/{METRICS_FILES[split]}" for split in run.metrics},
            "choices": _choices(run.path),
        },
    }


def _choices(run_path: Path) -> dict[str, Any] | None:
    """How the run chose its thresholds (and a transformer its epochs): ``chosen_on``, on how many documents."""
    path = run_path / "choices.json"
    if not path.is_file():
        return None
    choices = read_json(path, BundleError)
    summary = {key: choices.get(key) for key in ("chosen_on", "paragraphs", "epochs")}
    return {**summary, "documents": len(choices.get("documents") or [])}


def random_backbone(model_config: dict[str, Any], backbone: str) -> bool | None:
    """Whether the backbone was a random ``xdd init-model`` encoder; None when it cannot be told.

    Read from an ``xdd_random_init`` key in the model's config, else from the
    backbone folder's README (the init-model marker), else from the Hugging Face
    cache (a Hub model is never an init-model output).
    """
    if "xdd_random_init" in model_config:
        return bool(model_config["xdd_random_init"])
    folder = Path(backbone)
    if folder.is_dir():
        readme = folder / "README.md"
        return readme.is_file() and RANDOM_BACKBONE_MARKER in readme.read_text(encoding="utf-8", errors="replace")
    try:
        from huggingface_hub import try_to_load_from_cache

        return False if isinstance(try_to_load_from_cache(backbone, "config.json"), str) else None
    except ValueError:  # not a valid repo id
        return None


# --- ONNX --------------------------------------------------------------------


def _add_onnx(
    run: TrainedRun, folder: Path, quantize: str | None, data: str | Path | None, say: Callable[[str], None]
) -> dict[str, Any]:
    """model.onnx (optimised) and model.int8.onnx, the parity check, parity.json; fp32 disagreement stops the export.

    parity.json also records what ``model.onnx`` is (:class:`xdd.models.export.onnx.GraphReport`):
    the fused ops, or the unfused fallback and its reason.
    """
    from xdd.models.export.onnx import quantize_int8, write_onnx
    from xdd.models.predict.onnx_backend import OnnxScorer
    from xdd.models.export.parity import parity_check
    from xdd.models.predict.torch_backend import TransformerPredictor

    docs, source, changed = parity_documents(run, data)
    predictor = TransformerPredictor.load(folder)
    graph = write_onnx(predictor.model, folder / ONNX_FILE)
    say(f"{ONNX_FILE}: {graph.summary()}")
    files = {"fp32": ONNX_FILE}
    if quantize == "int8":
        quantize_int8(folder / ONNX_FILE, folder / INT8_FILE)
        files["int8"] = INT8_FILE
    say(f"parity check on {len(docs)} documents from {source}")
    scorers = {name: OnnxScorer(folder / file) for name, file in files.items()}
    parity = parity_check(predictor, scorers, docs)
    graph_record = {**asdict(graph), "summary": graph.summary()}
    parity.update(data=source, corpus_changed_since_training=changed, graph=graph_record)
    for name, file in files.items():
        parity["checks"][name]["file"] = file
    (folder / PARITY_FILE).write_text(json.dumps(parity, indent=2) + "\n", encoding="utf-8")
    _require_fp32_agreement(parity["checks"]["fp32"], graph)
    return parity


def _require_fp32_agreement(check: dict[str, Any], graph: GraphReport) -> None:
    disagreements = [
        f"{name.split('_')[0]} agreement {check[name]:.4%}"
        for name in ("tag_agreement", "topic_agreement")
        if check[name] is not None and check[name] < 1.0
    ]
    if disagreements:
        raise BundleError(
            f"ONNX fp32 labels differ from PyTorch ({', '.join(disagreements)}; max logit difference "
            f"{check['max_abs_logit_diff']:.3g}; {ONNX_FILE} is the {graph.summary()}); the export is not faithful, "
            "nothing was written. "
            "Check the torch/onnxruntime versions, or ship the bundle without --onnx"
        )


def parity_documents(run: TrainedRun, data: str | Path | None) -> tuple[list[Document], str, bool | None]:
    """The parity corpus: ``data``, else the run's corpus files; with its name and whether it changed since training."""
    if data is not None:
        return read_documents(data), str(data), None
    files = [f for block in run.corpus.get("corpora", {}).values() for f in block.get("files", [])]
    missing = [f["path"] for f in files if not Path(f["path"]).is_file()]
    if not files or missing:
        raise BundleError(
            f"{run.path}/corpus.json: corpus file(s) {missing or 'none recorded'} not found from "
            f"{Path.cwd()}; give the parity corpus with --data PATH"
        )
    docs: dict[str, Document] = {}
    for f in files:
        for doc in read_documents(f["path"]):
            docs.setdefault(doc.id, doc)
    changed = any(sha256_file(Path(f["path"])) != f.get("sha256") for f in files)
    return list(docs.values()), f"the run's corpus ({len(files)} file(s))", changed
