"""``xdd pipeline``: the main job runs end to end, falls back to the baselines with a banner, and its
reports (the baselines' CV report, a tiny-model run's report) render in a real headless browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from support import REPO
from support import chromium, run_chromium
from xdd.models.document.corpus import read_documents

ROOT = REPO
GOLD = ROOT / "data" / "annotations"


def run_xdd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    return subprocess.run([sys.executable, "-m", "xdd.training.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**environ, **(env or {})})  # fmt: skip


@pytest.fixture(scope="module")
def baseline_job(tmp_path_factory):
    """``xdd pipeline`` with the default config where the hub cannot be reached and nothing is cached."""
    out = tmp_path_factory.mktemp("baseline-job")
    unreachable = {"HF_ENDPOINT": "https://127.0.0.1:9", "HF_HOME": str(out / "hf-home")}
    done = run_xdd("pipeline", "--set", f"data.train={GOLD}", "--runs", str(out / "runs"),
                   "--bundles", str(out / "bundles"), env=unreachable)  # fmt: skip
    return done.returncode, done.stdout, done.stderr, out


@pytest.fixture(scope="module")
def tiny_job(tiny_model_dir, tmp_path_factory):
    """``xdd pipeline`` with a tiny random transformer (a few steps)."""
    out = tmp_path_factory.mktemp("tiny-job")
    done = run_xdd("pipeline", "--config", "tiny-joint", "--set", f"model.backbone={tiny_model_dir}",
                   "--set", "training.max_steps=2", "--set", f"data.train={GOLD}", "--folds", "2",
                   "--runs", str(out / "runs"), "--bundles", str(out / "bundles"))  # fmt: skip
    return done.returncode, done.stdout, done.stderr, out


def test_pipeline_without_phobert_says_so_and_completes_with_the_baselines(baseline_job):
    code, out, err, folder = baseline_job
    runs, bundles = folder / "runs", folder / "bundles"
    assert code == 0, err
    assert "The backbone 'vinai/phobert-base' of config 'phobert-joint' cannot be loaded here" in err
    assert "127.0.0.1 cannot be reached" in err
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


def test_the_pipelines_predictions_can_be_scored_with_xdd_evaluate(baseline_job):
    predictions = baseline_job[3] / "runs" / "baselines" / "corpus-predictions.jsonl"
    done = run_xdd("evaluate", "--predictions", str(predictions), "--data", str(GOLD))
    assert done.returncode == 0, done.stderr
    assert "micro" in done.stdout and "Nothing was written" in done.stdout


def test_pipeline_with_a_tiny_transformer_trains_cross_validates_exports_and_predicts(tiny_job):
    code, out, err, folder = tiny_job
    runs, bundles = folder / "runs", folder / "bundles"
    assert code == 0, err
    assert "cannot be loaded" not in err
    assert (runs / "tiny-joint" / "model" / "model.safetensors").is_file()
    assert not (runs / "tiny-joint-cv" / "fold-0" / "checkpoints").exists(), "CV folds keep no checkpoints"
    assert json.loads((bundles / "tiny-joint" / "bundle.json").read_text(encoding="utf-8"))["kind"] == "transformer"
    assert len((runs / "tiny-joint" / "corpus-predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 5


@pytest.mark.browser
@pytest.mark.parametrize(
    ("job", "report", "cv"),
    [("baseline_job", "runs/baselines-cv/report.html", True), ("tiny_job", "runs/tiny-joint/train/report.html", False)],
    ids=["baselines-cv-report", "tiny-model-run-report"],
)
def test_real_reports_render_in_headless_chromium_with_tables_and_highlighted_errors(job, report, cv, request, tmp_path):
    binary = chromium()
    folder = request.getfixturevalue(job)[3]
    url = (folder / report).resolve().as_uri()
    dom = run_chromium(binary, tmp_path / "profile", "--dump-dom", url).stdout
    assert '<table class="metrics" id="ner-per-label">' in dom
    assert all(f"<td>{label}</td>" in dom for label in ("PER", "ORG", "LOC", "POSITION", "DOCUMENT", "DATE"))
    assert re.search(r'<mark class="(missed|spurious|wrong-type|wrong-boundary)[^"]*">', dom)
    assert re.search(r'<img src="data:image/png;base64,', dom)
    assert ('id="cross-validation-folds"' in dom) == cv
    shot = tmp_path / "screenshot.png"
    run_chromium(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1300,3000", url)
    assert shot.stat().st_size > 10_000


def test_a_failing_step_stops_the_pipeline_and_says_which(tmp_path):
    not_a_folder = tmp_path / "bundles"
    not_a_folder.write_text("a file where the bundles should go\n", encoding="utf-8")
    done = run_xdd("pipeline", "--config", "baselines", "--set", f"data.train={GOLD}", "--folds", "2",
                   "--runs", str(tmp_path / "runs"), "--bundles", str(not_a_folder))  # fmt: skip
    assert done.returncode == 2
    assert "xdd pipeline: step 3 failed (exit 2); later steps not run" in done.stderr
    assert "[4/4]" not in done.stdout and not (tmp_path / "runs" / "baselines" / "corpus-predictions.jsonl").exists()
