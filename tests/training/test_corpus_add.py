"""``xdd corpus add``: every bad task named by its task id, and the corpus untouched unless all is well."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from support import FIXTURES_DIR
from xdd.models.document import Document
from xdd.models.document.corpus import read_documents
from xdd.models.errors import CorpusError
from xdd.training.cli import main
from xdd.training.convert_labelstudio import dump_labelstudio
from xdd.training.corpus_add import add_to_corpus, output_name
from xdd.training.validate import check_corpus

JOINT = FIXTURES_DIR / "baselines" / "joint" / "documents.jsonl"


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A corpus folder holding the first two fixture documents."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = JOINT.read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "base.jsonl").write_text("".join(lines[:2]), encoding="utf-8")
    return folder


@pytest.fixture
def new_docs() -> list[Document]:
    """The two fixture documents the corpus does not hold yet."""
    return read_documents(JOINT)[2:]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden temporary files too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def export(path: Path, docs: list[Document], edit=None) -> Path:
    """A Label Studio export of ``docs`` as annotations, task ids 101, 102, ...; ``edit(tasks)`` spoils it."""
    tasks = json.loads(dump_labelstudio(docs)[0])
    for number, task in enumerate(tasks, start=101):
        task["id"] = number
    if edit is not None:
        edit(tasks)
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def entity_results(task: dict) -> list[dict]:
    return [r for r in task["annotations"][0]["result"] if r["from_name"] == "label"]


def add(capsys, *args: str) -> tuple[int, str]:
    code = main(["corpus", "add", *args])
    return code, capsys.readouterr().err


# --- accepted ---------------------------------------------------------------------


def test_a_valid_export_lands_in_a_new_file_and_the_corpus_validates(corpus, new_docs, tmp_path, capsys):
    for doc in new_docs:  # scores carried over from a prediction are not gold
        doc.entities[0].score = 0.42
    before = snapshot(corpus)
    code, err = add(capsys, str(export(tmp_path / "export.json", new_docs)), "--to", str(corpus), "--name", "batch-1")
    assert code == 0, err
    assert "2 document(s) added to" in err and "batch-1.jsonl" in err
    after = snapshot(corpus)
    assert {k: v for k, v in after.items() if k != "batch-1.jsonl"} == before
    added = read_documents(corpus / "batch-1.jsonl")
    for doc in new_docs:
        doc.entities[0].score = None
    assert added == new_docs
    assert check_corpus(corpus) == []


def test_the_default_name_is_the_time_of_the_run_and_an_existing_file_is_never_replaced(corpus, new_docs, tmp_path):
    moment = datetime.datetime(2026, 12, 1, 9, 30, 5)
    assert output_name(None, moment) == "added-20261201-093005.jsonl"
    source = export(tmp_path / "export.json", new_docs)
    report = add_to_corpus(source, corpus, now=moment)
    assert report.written == corpus / "added-20261201-093005.jsonl"
    before = snapshot(corpus)
    with pytest.raises(CorpusError, match="already exists"):
        add_to_corpus(source, corpus, now=moment)
    assert snapshot(corpus) == before
    with pytest.raises(CorpusError, match="without folders"):
        add_to_corpus(source, corpus, name="../elsewhere.jsonl")


# --- refused, each named by its task, nothing changed ----------------------------------


def unknown_label(tasks):
    entity_results(tasks[1])[0]["value"]["labels"] = ["MISC"]


def overlapping(tasks):
    first = entity_results(tasks[0])[0]
    clash = json.loads(json.dumps(first))
    clash["id"], clash["value"]["labels"] = "clash", ["LOC"]
    clash["value"]["end"] += 3
    tasks[0]["annotations"][0]["result"].append(clash)


def outside_the_text(tasks):
    value = entity_results(tasks[1])[-1]["value"]
    value["start"], value["end"] = len(tasks[1]["data"]["text"]) + 2, len(tasks[1]["data"]["text"]) + 9


def unreviewed(tasks):
    tasks[0]["predictions"] = tasks[0].pop("annotations")


def cancelled(tasks):
    tasks[1]["annotations"][0]["was_cancelled"] = True


@pytest.mark.parametrize(
    ("spoil", "task", "message"),
    [
        (unknown_label, 102, "unknown label 'MISC'"),
        (overlapping, 101, "overlap"),
        (outside_the_text, 102, "past the end of the text"),
        (unreviewed, 101, "no submitted annotation"),
        (cancelled, 102, "no submitted annotation"),
    ],
)
def test_a_bad_task_is_named_and_nothing_is_written(spoil, task, message, corpus, new_docs, tmp_path, capsys):
    before = snapshot(corpus)
    code, err = add(capsys, str(export(tmp_path / "export.json", new_docs, spoil)), "--to", str(corpus))
    assert code == 1, err
    bad = [line for line in err.splitlines() if message in line]
    assert bad and all(f"(Label Studio task {task})" in line for line in bad), err
    assert f"task {task - 100} (Label Studio task {task}): id={new_docs[task - 101].id}:" in bad[0]
    assert "nothing written" in err and "the corpus is unchanged" in err
    assert snapshot(corpus) == before


def test_a_task_already_in_the_corpus_is_refused_by_id_and_by_text(corpus, new_docs, tmp_path, capsys):
    in_corpus = read_documents(corpus)
    same_id = in_corpus[0]
    before = snapshot(corpus)

    def edit(tasks):  # the second task: the corpus's second text, spaced out and shouted, under a new id
        tasks[1]["data"]["text"] = in_corpus[1].text.replace(" ", "  ").upper()
        tasks[1]["data"]["id"] = "fresh-id"
        tasks[1]["annotations"][0]["result"] = []

    source = export(tmp_path / "export.json", [same_id, new_docs[0]], edit)
    code, err = add(capsys, str(source), "--to", str(corpus))
    assert code == 1
    assert f"(Label Studio task 101): id={same_id.id}: duplicate id (first used at {corpus / 'base.jsonl'}:1)" in err
    assert "(Label Studio task 102): id=fresh-id: the same text (normalised) as" in err
    assert "base.jsonl:2 (id joint_b)" in err
    assert snapshot(corpus) == before


def test_the_same_article_twice_in_one_export_is_refused_the_second_time(corpus, new_docs, tmp_path, capsys):
    def twice(tasks):
        tasks.append(json.loads(json.dumps(tasks[0])) | {"id": 103})
        tasks[2]["data"]["id"] = "copy"

    code, err = add(capsys, str(export(tmp_path / "export.json", new_docs, twice)), "--to", str(corpus))
    assert code == 1
    assert "(Label Studio task 103): id=copy: the same text (normalised) as" in err and "earlier in this input" in err


def test_skip_invalid_adds_the_good_tasks_and_reports_the_skipped(corpus, new_docs, tmp_path, capsys):
    code, err = add(capsys, str(export(tmp_path / "export.json", new_docs, unknown_label)), "--to", str(corpus),
                    "--skip-invalid", "--name", "partial")  # fmt: skip
    assert code == 0, err
    assert "1 document(s) added" in err and "1 skipped" in err and "unknown label 'MISC'" in err
    assert [d.id for d in read_documents(corpus / "partial.jsonl")] == [new_docs[0].id]
    assert check_corpus(corpus) == []


def test_jsonl_input_refuses_a_broken_line_by_its_number(corpus, new_docs, tmp_path, capsys):
    source = tmp_path / "more.jsonl"
    source.write_text(new_docs[0].to_jsonl_line() + "\n{not json\n", encoding="utf-8")
    before = snapshot(corpus)
    code, err = add(capsys, str(source), "--to", str(corpus), "--from", "jsonl")
    assert code == 1 and f"{source}:2: id=?: invalid JSON" in err
    assert snapshot(corpus) == before


def test_an_unreadable_export_or_a_missing_corpus_stops_with_exit_2(corpus, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    code, err = add(capsys, str(tmp_path / "bad.json"), "--to", str(corpus))
    assert code == 2 and "expected a JSON array of tasks" in err
    code, err = add(capsys, str(tmp_path / "bad.json"), "--to", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in err


def test_a_corpus_with_its_own_labels_judges_by_them(tmp_path, capsys):
    ner_only = FIXTURES_DIR / "baselines" / "ner_only"
    corpus = tmp_path / "ner"
    corpus.mkdir()
    (corpus / "labels.json").write_bytes((ner_only / "labels.json").read_bytes())
    docs = read_documents(ner_only)
    code, err = add(capsys, str(export(tmp_path / "export.json", docs)), "--to", str(corpus))
    assert code == 0, err
    assert check_corpus(corpus) == [p for p in check_corpus(corpus) if p.is_warning]
