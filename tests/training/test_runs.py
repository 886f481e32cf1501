"""The run folder shared by ``xdd train`` and ``xdd cv``."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import yaml
from support import FIXTURES_DIR
from xdd.models.document import Document, Entity, Paragraph
from xdd.training.config import load_config
from xdd.training.runs import (
    RunFolder,
    default_out_dir,
    describe_corpus,
    git_state,
    package_versions,
)

FIXTURE = FIXTURES_DIR / "baselines" / "joint"


def test_record_writes_resolved_config_corpus_versions_and_git(tmp_path):
    config = load_config(None, ["name=probe", "crf.c1=0.2"])
    with RunFolder(tmp_path / "run") as run:
        run.record(config, {"train": str(FIXTURE), "test": None})
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text(encoding="utf-8"))
    assert saved["name"] == "probe" and saved["crf"]["c1"] == 0.2 and saved["training"]["seed"] == 42
    corpus = json.loads((tmp_path / "run" / "corpus.json").read_text(encoding="utf-8"))
    assert corpus["corpora"]["train"]["documents"] == 4 and "test" not in corpus["corpora"]
    assert len(corpus["sha256"]) == 64 and len(corpus["corpora"]["train"]["files"][0]["sha256"]) == 64
    versions = json.loads((tmp_path / "run" / "versions.json").read_text(encoding="utf-8"))
    assert versions["packages"]["sklearn-crfsuite"] and versions["python"].count(".") == 2
    assert (tmp_path / "run" / "git.json").is_file()


def test_corpus_hash_changes_when_a_file_changes_and_not_otherwise(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    before = describe_corpus({"train": corpus})["sha256"]
    assert describe_corpus({"train": corpus})["sha256"] == before
    path = corpus / "documents.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert describe_corpus({"train": corpus})["sha256"] != before


def test_corpus_hash_depends_on_the_role_of_each_corpus():
    assert describe_corpus({"train": FIXTURE})["sha256"] != describe_corpus({"test": FIXTURE})["sha256"]


def test_package_versions_are_null_for_packages_that_are_not_installed(monkeypatch):
    monkeypatch.setattr("xdd.training.runs.RECORDED_PACKAGES", ("numpy", "no-such-package-xdd"))
    packages = package_versions()["packages"]
    assert packages["numpy"] and packages["no-such-package-xdd"] is None


def test_git_state_is_null_outside_a_git_checkout(tmp_path):
    assert git_state(tmp_path) is None


def test_git_state_names_the_commit_of_a_checkout():
    state = git_state()
    assert state is None or (len(state["commit"]) == 40 and isinstance(state["dirty"], bool))


def test_run_folder_writes_log_records_to_train_log_and_detaches_afterwards(tmp_path):
    probe = logging.getLogger("xdd.training.probe")
    with RunFolder(tmp_path) as run:
        probe.info("inside the run")
        assert run.path == tmp_path
    probe.warning("after the run")
    text = (tmp_path / "train.log").read_text(encoding="utf-8")
    assert "INFO xdd.training.probe: inside the run" in text and "after the run" not in text


def test_run_folder_logs_the_error_that_ended_the_run(tmp_path):
    try:
        with RunFolder(tmp_path):
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    assert "run failed: RuntimeError: disk full" in (tmp_path / "train.log").read_text(encoding="utf-8")


def test_write_predictions_and_metrics_go_to_the_named_subfolder(tmp_path):
    doc = Document("d", "Hà Nội", [Entity(0, 6, "LOC", "Hà Nội", 0.9)], [Paragraph(0, 6, [], {"t": 0.1})])
    run = RunFolder(tmp_path)
    predictions = run.write_predictions([doc], "fold-0")
    metrics = run.write_metrics({"ner": {"micro": {"f1": 1.0}}}, "fold-0")
    assert predictions.read_text(encoding="utf-8") == doc.to_jsonl_line() + "\n"
    assert json.loads(metrics.read_text(encoding="utf-8")) == {"ner": {"micro": {"f1": 1.0}}}
    assert predictions.parent == metrics.parent == tmp_path / "fold-0"


def test_default_out_dir_is_runs_slash_the_config_name():
    assert default_out_dir(load_config(None, ["name=crf-try"])) == Path("runs") / "crf-try"


def test_warnings_logged_before_the_run_folder_existed_are_in_its_train_log(tmp_path, caplog):
    import logging

    from xdd.training.runs import RunFolder, kept_log_records

    with kept_log_records() as early:
        logging.getLogger("xdd.training.splits").warning("only one document (a): dev = train")
    assert "only one document" in caplog.text, "still reported at once"
    with RunFolder(tmp_path / "run", early=early):
        logging.getLogger("xdd.training").info("training")
    lines = (tmp_path / "run" / "train.log").read_text(encoding="utf-8").splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["only one document (a): dev = train", "training"]
    assert "WARNING xdd.training.splits" in lines[0]
