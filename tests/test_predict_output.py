"""Writers of ``xdd predict``: record layout, per-batch flushing, and resuming after a torn write."""

from __future__ import annotations

import json

import pytest

from models.document import Document, Entity, Paragraph
from models.errors import XddError
from models.predict_output import open_writer

TEXT = "Ban Thường vụ Huyện uỷ Cao Lộc\nHội nghị cán bộ"


def doc(doc_id: str) -> Document:
    return Document(
        doc_id, TEXT,
        entities=[Entity(0, 30, "ORG", TEXT[0:30], 0.9), Entity(23, 30, "LOC", TEXT[23:30], 0.4)][:1],
        paragraphs=[Paragraph(0, 30, ["cadre_planning"], {"cadre_planning": 0.8}),
                    Paragraph(31, 46, [], {"cadre_planning": 0.1})],
    )  # fmt: skip


def write(path, fmt, ids, **options):
    writer, done = open_writer(path, fmt, **options)
    writer.write([(doc(i), f"src/{i}.txt") for i in ids if i not in done])
    writer.close()
    return done


def test_jsonl_records_hold_id_source_entities_paragraphs_and_topics(tmp_path):
    write(tmp_path / "out.jsonl", "jsonl", ["a"])
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert list(record) == ["id", "source", "entities", "paragraphs", "topics"]
    assert record["entities"] == [{"start": 0, "end": 30, "label": "ORG", "text": TEXT[0:30], "score": 0.9}]
    first = {"start": 0, "end": 30, "topics": ["cadre_planning"], "scores": {"cadre_planning": 0.8}}
    assert record["paragraphs"][0] == first
    assert record["topics"] == ["cadre_planning"] and record["source"] == "src/a.txt"


def test_an_existing_output_is_not_replaced_without_resume_or_overwrite(tmp_path):
    write(tmp_path / "out.jsonl", "jsonl", ["a"])
    with pytest.raises(XddError, match="already exists; pass --resume to continue it or --overwrite"):
        open_writer(tmp_path / "out.jsonl", "jsonl")
    write(tmp_path / "out.jsonl", "jsonl", ["b"], overwrite=True)
    assert [json.loads(x)["id"] for x in (tmp_path / "out.jsonl").read_text().splitlines()] == ["b"]


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "labelstudio"])
def test_resume_drops_a_torn_last_record_and_skips_the_ids_already_written(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    write(path, fmt, ["a", "b"])
    with path.open("ab") as handle:
        handle.write(b'{"id": "c", "sour' if fmt != "conll" else b"-DOCSTART-\tc\tO\n\nBan\tB-O")
    assert write(path, fmt, ["a", "b", "c", "d"], resume=True) == {"a", "b"}
    assert ids_in(path, fmt) == ["a", "b", "c", "d"]


def test_conll_resume_redoes_the_last_document_because_its_end_cannot_be_told(tmp_path):
    path = tmp_path / "out.conll"
    write(path, "conll", ["a", "b"])
    whole = path.read_text(encoding="utf-8")
    assert write(path, "conll", ["a", "b"], resume=True) == {"a"}
    assert path.read_text(encoding="utf-8") == whole


def ids_in(path, fmt) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if fmt == "labelstudio":
        return [task["data"]["id"] for task in json.loads(text)]
    return [line.split("\t")[1] for line in text.splitlines() if line.startswith("-DOCSTART-")]


def test_resume_refuses_a_file_whose_middle_was_edited(tmp_path):
    path = tmp_path / "out.jsonl"
    write(path, "jsonl", ["a", "b"])
    lines = path.read_text().splitlines()
    path.write_text(lines[0][:10] + "\n" + lines[1] + "\n")
    with pytest.raises(XddError, match=r"out.jsonl:1: not a complete record.*refusing to resume"):
        open_writer(path, "jsonl", resume=True)


def test_labelstudio_output_is_a_valid_json_array_after_every_batch(tmp_path):
    path = tmp_path / "out.json"
    writer, _ = open_writer(path, "labelstudio", model_version="tiny")
    assert json.loads(path.read_text()) == []
    writer.write([(doc("a"), "a.txt")])
    assert [t["data"]["id"] for t in json.loads(path.read_text())] == ["a"]
    writer.write([(doc("b"), "b.txt"), (doc("c"), "c.txt")])
    tasks = json.loads(path.read_text())
    writer.close()
    assert [t["data"]["id"] for t in tasks] == ["a", "b", "c"]
    prediction = tasks[0]["predictions"][0]
    assert prediction["model_version"] == "tiny" and prediction["score"] == 0.9
    assert tasks[0]["data"]["meta"] == {"source": "a.txt"}


def test_labelstudio_output_reads_back_through_xdd_convert(tmp_path):
    from training.convert_labelstudio import read_labelstudio

    path = tmp_path / "out.json"
    write(path, "labelstudio", ["a"])
    (back,) = read_labelstudio(path).documents
    original = doc("a")
    assert back.id == "a" and back.text == TEXT
    assert [(e.start, e.end, e.label, e.score) for e in back.entities] == [(0, 30, "ORG", 0.9)]
    spans = [(p.start, p.end, p.topics) for p in original.paragraphs]
    assert [(p.start, p.end, p.topics) for p in back.paragraphs] == spans


def test_conll_output_tags_syllable_tokens_and_reads_back_through_xdd_convert(tmp_path):
    from training.convert_conll import read_conll

    path = tmp_path / "out.conll"
    write(path, "conll", ["a"])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:4] == ["-DOCSTART-\ta\tO", "", "Ban\tB-ORG", "Thường\tI-ORG"]
    assert "Hội\tO" in lines and lines[-1] == ""
    (back,) = read_conll(path).documents
    assert [(back.text[e.start:e.end], e.label) for e in back.entities] == [(TEXT[0:30], "ORG")]
