"""``xdd pipeline``: the main job runs end to end, and falls back to the baselines with a banner."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from models.corpus import read_documents
from training.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "data" / "annotations"


def test_pipeline_without_phobert_says_so_and_completes_with_the_baselines(tmp_path, monkeypatch, capsys):
    def unreachable(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    runs, bundles = tmp_path / "runs", tmp_path / "models"
    code = main(["pipeline", "--set", f"data.train={GOLD}", "--runs", str(runs), "--models", str(bundles)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "The backbone 'vinai/phobert-base' of config 'phobert-joint' cannot be loaded here" in err
    assert "continues with the baselines" in err and "xdd init-model" in err
    for step in ("[1/4] xdd train --config baselines", "[2/4] xdd cv --config baselines", "[3/4] xdd export",
                 "[4/4] xdd predict"):  # fmt: skip
        assert step in out
    assert (runs / "baselines" / "model" / "baseline.json").is_file()
    cv = json.loads((runs / "baselines-cv" / "metrics.json").read_text(encoding="utf-8"))
    assert len(cv["cv"]["folds"]) == 5, "five documents: leave-one-out"
    assert (bundles / "baselines" / "bundle.json").is_file() and (bundles / "baselines" / "README.md").is_file()
    lines = (runs / "baselines" / "corpus-predictions.jsonl").read_text(encoding="utf-8").splitlines()
    predicted = [json.loads(line) for line in lines]
    gold = {d.id: d for d in read_documents(GOLD)}
    assert [p["id"] for p in predicted] == sorted(gold)
    for record in predicted:
        text = gold[record["id"]].text
        assert record["entities"] and all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])
    assert f"exported bundle:              {bundles / 'baselines'}" in out


def test_pipeline_with_a_tiny_transformer_trains_cross_validates_exports_and_predicts(tiny_model_dir, tmp_path, capsys):
    runs, bundles = tmp_path / "runs", tmp_path / "models"
    code = main(["pipeline", "--config", "tiny-joint", "--set", f"model.backbone={tiny_model_dir}",
                 "--set", "training.max_steps=2", "--set", f"data.train={GOLD}", "--folds", "2",
                 "--runs", str(runs), "--models", str(bundles)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "cannot be loaded" not in err
    assert (runs / "tiny-joint" / "model" / "model.safetensors").is_file()
    assert not (runs / "tiny-joint-cv" / "fold-0" / "checkpoints").exists(), "CV folds keep no checkpoints"
    assert json.loads((bundles / "tiny-joint" / "bundle.json").read_text(encoding="utf-8"))["kind"] == "transformer"
    assert len((runs / "tiny-joint" / "corpus-predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 5
