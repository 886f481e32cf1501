"""Shared fixtures.

``tiny_model_dir``: a PhoBERT-format model folder with RANDOM weights, built
once per test session by ``init-model --shape tiny`` from the gold corpus
(``data/annotations``) or, before the gold exists, from the text pipeline's
fixture corpus.  Its vocabulary is learned from those texts, so the words of
the corpus never become ``<unk>``.  Treat the folder as read-only: copy it
first (``shutil.copytree``) to change anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO as ROOT
from support import model_corpus


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random PhoBERT-format model folder (tokenizer, config, safetensors, text_settings.json)."""
    from xdd.training.init_model import init_model
    from xdd.training.text_cli import corpus_texts

    folder = tmp_path_factory.mktemp("tiny-phobert")
    init_model(folder, "tiny", corpus_texts(model_corpus()))
    return folder


# --- training runs and bundles (export and inference tests) -----------------------


@pytest.fixture(scope="session")
def tiny_run_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder (``xdd train`` layout) of the tiny random model trained for 3 steps on ``model_corpus()``.

    Barely trained: its predictions are noise, but it predicts entities and
    topics, which is what export and inference tests need.
    """
    from xdd.training.config import load_config
    from xdd.training.train_run import run_training
    from xdd.training.transformer_fit import make_train_fn

    # data.oof_below=0: the dev split decides (one training, and a dev/ report for the export tests); the
    # out-of-fold path of a corpus this small is tested in test_transformer_oof.py and by test_pipeline.py.
    overrides = [f"model.backbone={tiny_model_dir}", f"data.train={model_corpus()}", "training.max_steps=3",
                 "training.logging_steps=50", "data.oof_below=0"]  # fmt: skip
    config = load_config(ROOT / "training" / "configs" / "tiny-joint.yaml", overrides)
    out = tmp_path_factory.mktemp("tiny-run")
    run_training(config, out, make_train_fn(config))
    return out


@pytest.fixture(scope="session")
def baseline_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the CRF + TF-IDF baselines trained on ``model_corpus()`` (about a second)."""
    from xdd.training.baselines import baseline_train_fn
    from xdd.training.config import load_config
    from xdd.training.train_run import run_training

    config = load_config(ROOT / "training" / "configs" / "baselines.yaml",
                         [f"data.train={model_corpus()}", "crf.max_iterations=50"])  # fmt: skip
    out = tmp_path_factory.mktemp("baseline-run")
    run_training(config, out, baseline_train_fn)
    return out


@pytest.fixture(scope="session")
def tiny_bundle_dir(tiny_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run exported with ONNX and int8 (read-only: copy it to change anything)."""
    from xdd.models.export.bundle import export_run

    out = tmp_path_factory.mktemp("bundles") / "tiny"
    export_run(tiny_run_dir, out, onnx=True, quantize="int8")
    return out


@pytest.fixture(scope="session")
def baseline_bundle_dir(baseline_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline run exported (read-only: copy it to change anything)."""
    from xdd.models.export.bundle import export_run

    out = tmp_path_factory.mktemp("bundles") / "baselines"
    export_run(baseline_run_dir, out)
    return out


@pytest.fixture(scope="session")
def model_corpus_path() -> Path:
    """``model_corpus()`` as a fixture, for test modules (conftest is not importable by path everywhere)."""
    return model_corpus()
