"""Transformer training: wiring (overfit one document), config plumbing, missing backbone, resume."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support import REPO
from xdd.eval.evaluate import evaluate
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.errors import BackboneUnavailable
from xdd.training.backbone import load_tokenizer
from xdd.training.config import load_config
from xdd.training.transformer import training_arguments, window_dataset
from xdd.training.transformer_fit import fit_transformer

ROOT = REPO
TINY = ROOT / "training" / "configs" / "tiny-joint.yaml"
ONE_DOC = ROOT / "data" / "annotations" / "000_cao-loc.jsonl"


def tiny_config(backbone: Path, *overrides: str):
    return load_config(TINY, [f"model.backbone={backbone}", "training.logging_steps=50", *overrides])


@pytest.mark.slow
def test_tiny_model_overfits_one_document_to_f1_above_095(tiny_model_dir, tmp_path):
    docs = read_documents(ONE_DOC)
    config = tiny_config(tiny_model_dir, "training.max_steps=300", "training.eval_steps=100",
                         "training.learning_rate=3e-3")  # fmt: skip
    predictor = fit_transformer(docs, docs, config, PARTY_BUILDING, tmp_path)
    metrics = evaluate(docs, predictor.predict_documents(docs), scheme=PARTY_BUILDING, n_boot=0)
    assert metrics["ner"]["micro"]["f1"] >= 0.95
    assert metrics["topics"]["paragraph"]["micro"]["f1"] >= 0.95


def test_training_windows_label_first_subwords_and_carry_paragraph_topics(tiny_model_dir):
    from xdd.models.text.pipeline import TextPipeline

    doc = read_documents(ONE_DOC)[0]
    pipeline = TextPipeline.from_pretrained(tiny_model_dir)
    rows = window_dataset([doc], pipeline, PARTY_BUILDING, "joint")
    tags = PARTY_BUILDING.bio_tags()
    labelled = [tags[i] for row in rows["labels"] for i in row if i != -100]
    assert sum(t.startswith("B-") for t in labelled) == len(doc.entities)
    assert all(len(ids) <= 256 for ids in rows["input_ids"])
    assert rows["length"] == [len(ids) for ids in rows["input_ids"]]
    first_topics = [float(t in doc.paragraphs[0].topics) for t in PARTY_BUILDING.topics]
    assert rows["topic_labels"][0] == first_topics


def test_a_corpus_without_topics_trains_a_ner_only_model(tiny_model_dir, tmp_path):
    doc = read_documents(ONE_DOC)[0]
    scheme = LabelScheme(entities=PARTY_BUILDING.entities, topics=())
    for p in doc.paragraphs:
        p.topics = []
    predictor = fit_transformer([doc], [], tiny_config(tiny_model_dir, "training.max_steps=2"), scheme, tmp_path)
    assert predictor.model.topic_head is None and predictor.model.ner_head is not None
    (pred,) = predictor.predict_documents([doc.text])
    assert all(p.topics == [] for p in pred.paragraphs)


def test_a_missing_backbone_stops_before_any_work_naming_both_remedies(tmp_path):
    doc = read_documents(ONE_DOC)[0]
    config = tiny_config(tmp_path / "no-such-model")
    with pytest.raises(BackboneUnavailable) as err:
        fit_transformer([doc], [doc], config, PARTY_BUILDING, tmp_path / "run")
    message = str(err.value)
    assert str(tmp_path / "no-such-model") in message
    assert "--set model.backbone=" in message and "xdd init-model" in message
    assert not (tmp_path / "run").exists()


def test_a_missing_local_run_folder_backbone_is_named_as_a_folder_with_no_hub_advice(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/ here: `runs/tiny-model` must still read as a local folder
    with pytest.raises(BackboneUnavailable) as err:
        load_tokenizer("runs/tiny-model")
    message = str(err.value)
    assert "cannot load backbone 'runs/tiny-model': no such folder" in message
    assert "xdd init-model runs/tiny-model --shape tiny" in message
    assert "huggingface-cli download runs/tiny-model" not in message


def test_the_warmup_ratio_reaches_the_trainer_as_a_fraction_of_the_steps(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, "training.warmup_ratio=0.25", "training.max_steps=8")
    args = training_arguments(config, tmp_path, "joint", has_dev=False)
    assert args.get_warmup_steps(8) == 2 and args.get_warmup_steps(40) == 10


def test_an_unreachable_hub_id_fails_fast_with_the_remedies(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    doc = read_documents(ONE_DOC)[0]
    with pytest.raises(BackboneUnavailable, match="vinai/phobert-base.*cannot be reached"):
        fit_transformer([doc], [doc], tiny_config("vinai/phobert-base"), PARTY_BUILDING, tmp_path)


def test_resume_continues_from_the_last_checkpoint(tiny_model_dir, tmp_path, caplog):
    doc = read_documents(ONE_DOC)[0]
    first = tiny_config(tiny_model_dir, "training.max_steps=4", "training.eval_steps=2")
    fit_transformer([doc], [doc], first, PARTY_BUILDING, tmp_path)
    assert (tmp_path / "checkpoints" / "checkpoint-4").is_dir()
    longer = tiny_config(tiny_model_dir, "training.max_steps=6", "training.eval_steps=2")
    with caplog.at_level(logging.INFO, logger="xdd.training"):
        fit_transformer([doc], [doc], longer, PARTY_BUILDING, tmp_path, resume=True)
    assert f"resuming from {tmp_path / 'checkpoints' / 'checkpoint-4'}" in caplog.text
    state = json.loads((tmp_path / "checkpoints" / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    evaluated = [e["step"] for e in state["log_history"] if "eval_selection" in e]
    assert evaluated == [2, 4, 6], "the resumed run keeps the first run's history and adds step 6"


def test_a_run_killed_after_a_checkpoint_resumes_the_same_trajectory(tiny_model_dir, tmp_path, monkeypatch):
    from xdd.training.transformer import XddTrainer

    doc = read_documents(ONE_DOC)[0]
    config = tiny_config(tiny_model_dir, "training.max_steps=10", "training.eval_steps=4", "training.logging_steps=1")
    fit_transformer([doc], [doc], config, PARTY_BUILDING, tmp_path / "whole")
    save = XddTrainer._save_checkpoint

    def save_then_die(self, *args, **kwargs):  # the process dies right after its first checkpoint
        save(self, *args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(XddTrainer, "_save_checkpoint", save_then_die)
    with pytest.raises(SystemExit):
        fit_transformer([doc], [doc], config, PARTY_BUILDING, tmp_path / "cut")
    monkeypatch.setattr(XddTrainer, "_save_checkpoint", save)
    assert [p.name for p in (tmp_path / "cut" / "checkpoints").iterdir()] == ["checkpoint-4"]
    fit_transformer([doc], [doc], config, PARTY_BUILDING, tmp_path / "cut", resume=True)

    def losses(run):
        state = json.loads((run / "checkpoints" / "checkpoint-10" / "trainer_state.json").read_text(encoding="utf-8"))
        return {(e["step"], k): e[k] for e in state["log_history"] for k in ("loss", "eval_loss") if k in e}

    whole, resumed = losses(tmp_path / "whole"), losses(tmp_path / "cut")
    assert set(whole) == set(resumed) and max(whole) == (10, "loss")
    assert [resumed[s] for s in sorted(resumed)] == pytest.approx([whole[s] for s in sorted(whole)], rel=1e-4)


def test_resume_without_a_checkpoint_says_so_and_starts_from_scratch(tiny_model_dir, tmp_path, caplog):
    doc = read_documents(ONE_DOC)[0]
    with caplog.at_level(logging.WARNING, logger="xdd.training"):
        fit_transformer([doc], [doc], tiny_config(tiny_model_dir, "training.max_steps=1"), PARTY_BUILDING,
                        tmp_path, resume=True)  # fmt: skip
    assert "no checkpoint under" in caplog.text


def test_training_runs_unchanged_under_torchrun_with_two_cpu_processes(tiny_model_dir, tmp_path):
    import shutil
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    out = tmp_path / "ddp"
    command = [torchrun, "--nproc_per_node=2", f"--master_port={port}", "-m", "xdd.training.cli", "train",
               "--config", str(TINY), "--set", f"model.backbone={tiny_model_dir}", "--set", "training.max_steps=3",
               "--set", "training.eval_steps=3", "--set", f"data.train={ONE_DOC}", "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "world size 2" in log
    state = json.loads((out / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert (out / "model" / "model.safetensors").is_file()


def test_length_grouped_batches_cover_every_window_once_with_similar_lengths_in_a_batch():
    from xdd.training.transformer import LengthGroupedBatches

    lengths = [(i * 37) % 250 + 5 for i in range(84)]
    sampler = LengthGroupedBatches(lengths, batch_size=16, seed=3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(84)) and sorted(second) == list(range(84))
    assert first != second, "a new order every epoch"
    assert list(LengthGroupedBatches(lengths, batch_size=16, seed=3)) == first, "same seed and epoch, same order"
    def padded(order):  # positions computed when the DataLoader cuts ``order`` into batches of 16
        return sum(len(b) * max(lengths[i] for i in b) for b in (order[k : k + 16] for k in range(0, 84, 16)))

    best = padded(sorted(range(84), key=lengths.__getitem__, reverse=True))
    unsorted = padded(list(range(84)))
    assert padded(first) == padded(second) == best < 0.7 * unsorted


def test_the_trainers_batches_are_length_grouped_through_the_real_dataloader(tiny_model_dir, tmp_path):
    from xdd.models.nets.joint import JointModel
    from xdd.models.text.pipeline import TextPipeline
    from xdd.training.backbone import load_encoder
    from xdd.training.transformer import WindowCollator, XddTrainer, training_arguments

    pipeline = TextPipeline.from_pretrained(tiny_model_dir)
    data = window_dataset(read_documents(ROOT / "data" / "annotations"), pipeline, PARTY_BUILDING, "joint")
    lengths = sorted(data["length"], reverse=True)
    best = sum(len(lengths[k : k + 16]) * lengths[k] for k in range(0, len(lengths), 16))
    computed = {}
    for grouped in (True, False):
        config = tiny_config(tiny_model_dir, f"training.group_by_length={str(grouped).lower()}", "training.batch_size=16")
        args = training_arguments(config, tmp_path, "joint", has_dev=False)
        model = JointModel(load_encoder(str(tiny_model_dir)), len(PARTY_BUILDING.bio_tags()), 4)
        trainer = XddTrainer(model=model, args=args, train_dataset=data, data_collator=WindowCollator(1))
        computed[grouped] = sum(batch["input_ids"].numel() for batch in trainer.get_train_dataloader())
    assert computed[True] == best, "grouped: exactly the padding of globally length-sorted batches"
    assert computed[True] < 0.8 * computed[False]
