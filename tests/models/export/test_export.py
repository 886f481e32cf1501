"""``xdd export``: run folder → bundle, model card, ONNX parity, and what stops an export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from support import REPO
from xdd.models.document.bundle import verify_bundle
from xdd.models.errors import BundleError, ConfigError
from xdd.models.export.bundle import RANDOM_BACKBONE_MARKER, export_run, random_backbone
from xdd.training.cli import main


def front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_a_tiny_run_exports_to_a_bundle_with_weights_tokenizer_metadata_card_and_manifest(tiny_bundle_dir):
    info = verify_bundle(tiny_bundle_dir)
    assert info["kind"] == "transformer" and info["backbone"]["random_init"] is True
    files = {p.relative_to(tiny_bundle_dir).as_posix() for p in tiny_bundle_dir.rglob("*") if p.is_file()}
    expected = {"model.safetensors", "config.json", "heads.json", "vocab.txt", "bpe.codes", "text_settings.json",
                "xdd_model.json", "bundle.json", "README.md", "SHA256SUMS", "model.onnx", "model.int8.onnx",
                "parity.json", "training/config.yaml", "training/corpus.json", "training/versions.json",
                "training/dev/metrics.json"}  # fmt: skip
    assert expected <= files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl"))]
    assert info["text"]["segmenter_version"].startswith("underthesea ")
    corpus = json.loads((tiny_bundle_dir / "training/corpus.json").read_text())
    assert info["training"]["corpus_sha256"] == corpus["sha256"]
    assert info["training"]["choices"]["chosen_on"] == "dev"  # the fixture sets data.oof_below=0
    assert "(chosen on the dev split on 1 document(s)" in (tiny_bundle_dir / "README.md").read_text(encoding="utf-8")


def test_the_model_card_has_hub_metadata_with_the_run_metrics_and_says_the_backbone_was_random(tiny_bundle_dir):
    meta = front_matter(tiny_bundle_dir / "README.md")
    assert meta["language"] == "vi" and meta["library_name"] == "xdd" and meta["license"] == "other"
    metrics = json.loads((tiny_bundle_dir / "training/dev/metrics.json").read_text())
    (ner,) = [r for r in meta["model-index"][0]["results"] if r["task"]["type"] == "token-classification"]
    f1 = next(m["value"] for m in ner["metrics"] if m["name"] == "Entity micro f1")
    assert f1 == round(metrics["ner"]["micro"]["f1"], 4) and ner["dataset"]["split"] == "dev"
    card = (tiny_bundle_dir / "README.md").read_text(encoding="utf-8")
    assert "RANDOMLY initialised" in card and "ONNX parity with PyTorch" in card


def test_onnx_export_records_a_parity_check_with_full_fp32_label_agreement(tiny_bundle_dir):
    parity = json.loads((tiny_bundle_dir / "parity.json").read_text())
    fp32, int8 = parity["checks"]["fp32"], parity["checks"]["int8"]
    assert fp32["tag_agreement"] == 1.0 and fp32["topic_agreement"] == 1.0
    assert fp32["max_abs_logit_diff"] < 1e-3 and fp32["tags_compared"] == parity["words"] > 0
    assert int8["file"] == "model.int8.onnx" and int8["max_abs_logit_diff"] >= 0
    assert parity["corpus_changed_since_training"] is False


def test_the_bundle_records_and_its_card_names_the_fused_onnx_graph(tiny_bundle_dir):
    graph = json.loads((tiny_bundle_dir / "parity.json").read_text())["graph"]
    assert graph["optimized"] is True and graph["fallback_reason"] is None and graph["missing_fusions"] == []
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= set(graph["fused_operators"])
    card = (tiny_bundle_dir / "README.md").read_text(encoding="utf-8")
    assert f"`model.onnx` is the {graph['summary']}; `model.int8.onnx` is its dynamic int8 quantisation." in card


def test_when_the_onnx_optimiser_fails_the_export_ships_the_unfused_graph_and_says_so(
    tiny_run_dir, tmp_path, monkeypatch
):
    def failing(*args, **kwargs):
        raise RuntimeError("no fusion for you")

    monkeypatch.setattr("onnxruntime.transformers.optimizer.optimize_model", failing)
    said = []
    export_run(tiny_run_dir, tmp_path / "b", onnx=True, say=said.append)
    parity = json.loads((tmp_path / "b" / "parity.json").read_text())
    assert parity["graph"]["optimized"] is False and "no fusion for you" in parity["graph"]["fallback_reason"]
    assert parity["checks"]["fp32"]["tag_agreement"] == 1.0 and "int8" not in parity["checks"]
    assert "model.onnx: UNFUSED graph: ONNX Runtime's optimiser failed" in said[0]
    card = (tmp_path / "b" / "README.md").read_text(encoding="utf-8")
    assert "`model.onnx` is the UNFUSED graph: ONNX Runtime's optimiser failed (RuntimeError: no fusion" in card


def test_a_baseline_run_exports_to_a_bundle_of_the_same_layout(baseline_bundle_dir):
    info = verify_bundle(baseline_bundle_dir)
    assert info["kind"] == "baselines" and info["backbone"] is None and info["files"] == {}
    assert (baseline_bundle_dir / "baseline.json").is_file()
    assert (baseline_bundle_dir / "training/config.yaml").is_file()
    assert "crf" in front_matter(baseline_bundle_dir / "README.md")["tags"]
    # model_corpus() has fewer documents than data.oof_below: thresholds chosen out of fold, and the card says so
    choices = json.loads((baseline_bundle_dir / "training/choices.json").read_text(encoding="utf-8"))
    assert info["training"]["choices"] == {"chosen_on": "out_of_fold", "paragraphs": choices["paragraphs"],
                                           "epochs": None, "documents": len(choices["documents"])}  # fmt: skip
    card = (baseline_bundle_dir / "README.md").read_text(encoding="utf-8")
    assert (f"(chosen out of fold (leave one document out) on {len(choices['documents'])} document(s), "
            f"{choices['paragraphs']} paragraphs)") in card


def test_onnx_export_of_a_baseline_run_is_refused(baseline_run_dir, tmp_path):
    with pytest.raises(ConfigError, match="baselines model has no ONNX form"):
        export_run(baseline_run_dir, tmp_path / "b", onnx=True)
    assert not (tmp_path / "b").exists()


def test_fp32_disagreement_stops_the_export_and_writes_nothing(tiny_run_dir, tmp_path, monkeypatch):
    import xdd.models.export.parity

    def disagreeing(predictor, scorers, docs):
        check = {"max_abs_logit_diff": 0.5, "tag_agreement": 0.99, "topic_agreement": 1.0, "tags_compared": 100,
                 "topic_labels_compared": 4}  # fmt: skip
        checks = {name: dict(check) for name in scorers}
        return {"documents": 1, "windows": 1, "words": 100, "paragraphs": 1, "checks": checks}

    monkeypatch.setattr(xdd.models.export.parity, "parity_check", disagreeing)
    with pytest.raises(BundleError, match=r"PyTorch \(tag agreement 99.0000%.*; model.onnx is the graph optimised by"):
        export_run(tiny_run_dir, tmp_path / "b", onnx=True)
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_run_folder_is_refused_naming_what_is_missing(baseline_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(baseline_run_dir, run)
    (run / "corpus.json").unlink()
    with pytest.raises(BundleError, match=r"missing \['corpus.json'\]; did `xdd train` finish"):
        export_run(run, tmp_path / "b")


def test_a_run_without_a_model_is_refused(baseline_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(baseline_run_dir, run)
    (run / "model" / "baseline.json").unlink()
    with pytest.raises(BundleError, match="no xdd_model.json or baseline.json"):
        export_run(run, tmp_path / "b")


def test_parity_needs_data_when_the_recorded_corpus_is_gone(tiny_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run)
    corpus = json.loads((run / "corpus.json").read_text())
    for block in corpus["corpora"].values():
        for f in block["files"]:
            f["path"] = str(tmp_path / "moved" / Path(f["path"]).name)
    (run / "corpus.json").write_text(json.dumps(corpus))
    with pytest.raises(BundleError, match="not found from .*give the parity corpus with --data PATH"):
        export_run(run, tmp_path / "b", onnx=True)


def test_the_backbone_is_recognised_as_random_from_the_init_model_readme_or_a_config_key(tiny_model_dir, tmp_path):
    assert RANDOM_BACKBONE_MARKER in (tiny_model_dir / "README.md").read_text(encoding="utf-8")
    assert random_backbone({}, str(tiny_model_dir)) is True
    (tmp_path / "real").mkdir()
    assert random_backbone({}, str(tmp_path / "real")) is False
    assert random_backbone({"xdd_random_init": True}, "vinai/phobert-base") is True
    assert random_backbone({}, str(tmp_path / "gone" / "model")) is None


def test_xdd_export_cli_writes_the_bundle_and_refuses_an_existing_one(baseline_run_dir, tmp_path, capsys):
    assert main(["export", str(baseline_run_dir), "--out", str(tmp_path / "b")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["export", str(baseline_run_dir), "--out", str(tmp_path / "b")]) == 2
    assert "already exists; choose another --out, or pass --force" in capsys.readouterr().err
    assert main(["export", str(baseline_run_dir), "--out", str(tmp_path / "b"), "--force", "--license", "mit"]) == 0
    assert front_matter(tmp_path / "b" / "README.md")["license"] == "mit"


def test_the_model_card_usage_example_runs_as_written(baseline_run_dir, tmp_path, monkeypatch, capsys):
    import re

    bundle = tmp_path / "bundles" / "baselines"
    export_run(baseline_run_dir, bundle)
    card = (bundle / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    assert "from xdd.models import Predictor" in example and 'Predictor.load("bundles/baselines")' in example
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    assert "[(" in capsys.readouterr().out  # the entities it prints


def test_a_run_whose_dev_set_is_its_training_set_never_publishes_dev_figures(tmp_path):
    one_doc = REPO / "data" / "annotations" / "000_cao-loc.jsonl"
    assert main(["train", "--config", "baselines", "--set", f"data.train={one_doc}", "--out", str(tmp_path / "run")]) == 0
    assert not (tmp_path / "run" / "dev").exists() and (tmp_path / "run" / "train" / "metrics.json").is_file()
    export_run(tmp_path / "run", tmp_path / "b")
    card = (tmp_path / "b" / "README.md").read_text(encoding="utf-8")
    splits = {r["dataset"]["split"] for r in front_matter(tmp_path / "b" / "README.md")["model-index"][0]["results"]}
    assert splits == {"train"}
    assert "the TRAINING documents (no held-out dev: not a measure of quality on new articles)" in card
    assert "| dev" not in card and "split: dev" not in card


def test_with_a_cv_run_the_model_card_leads_with_the_cross_validated_figures(baseline_run_dir, tmp_path):
    from xdd.training.config import load_config
    from xdd.training.cv import run_cv

    root = REPO
    corpus = root / "tests" / "fixtures" / "baselines" / "joint"
    config = load_config(root / "training" / "configs" / "baselines.yaml", [f"data.train={corpus}"])
    from xdd.training.baselines import baseline_train_fn

    metrics = run_cv(config, "loo", tmp_path / "cv", baseline_train_fn)
    export_run(baseline_run_dir, tmp_path / "b", cv=tmp_path / "cv")
    card = (tmp_path / "b" / "README.md").read_text(encoding="utf-8")
    results = front_matter(tmp_path / "b" / "README.md")["model-index"][0]["results"]
    assert results[0]["dataset"]["split"] == "cross-validation"
    assert results[0]["metrics"][2]["value"] == round(metrics["ner"]["micro"]["f1"], 4)
    evaluation = card.split("## Evaluation")[1]
    assert evaluation.index("cross-validation") < evaluation.index("| train")  # the run: OOF, no held-out dev
    assert f"**cross-validation** ({metrics['n_documents']} documents)" in card
    assert (tmp_path / "b" / "training" / "cv" / "metrics.json").is_file()


def test_export_with_a_cv_folder_that_has_no_metrics_names_it_and_writes_nothing(baseline_run_dir, tmp_path):
    with pytest.raises(BundleError, match=r"no-cv/metrics.json: cannot read the cross-validation metrics"):
        export_run(baseline_run_dir, tmp_path / "b", cv=tmp_path / "no-cv")
    assert not (tmp_path / "b").exists()
