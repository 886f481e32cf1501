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

ROOT = Path(__file__).resolve().parent.parent
GOLD_CORPUS = ROOT / "data" / "annotations"
FIXTURE_CORPUS = Path(__file__).resolve().parent / "fixtures" / "text_pipeline"


def model_corpus() -> Path:
    """The corpus the tiny model learns its vocabulary from: the gold corpus when it exists."""
    return GOLD_CORPUS if any(GOLD_CORPUS.glob("*.jsonl")) else FIXTURE_CORPUS


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random PhoBERT-format model folder (tokenizer, config, safetensors, text_settings.json)."""
    from models.local_model import init_model
    from models.text_cli import corpus_texts

    folder = tmp_path_factory.mktemp("tiny-phobert")
    init_model(folder, "tiny", corpus_texts(model_corpus()))
    return folder
