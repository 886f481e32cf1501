"""Writers of ``xdd predict``: record layout, per-batch flushing, and resuming after a torn write."""

from __future__ import annotations

import json
import os

import pytest
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.errors import XddError
from xdd.models.formats.outputs import check_writable, open_writer

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


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "labelstudio"])
def test_a_writer_with_nothing_to_write_creates_no_file_and_leaves_an_existing_one_untouched(tmp_path, fmt):
    path = tmp_path / "new" / f"out.{fmt}"
    assert write(path, fmt, []) == set()
    assert not path.parent.exists()
    write(path, fmt, ["a", "b"])
    with path.open("ab") as handle:
        handle.write(b"-DOCSTART-\tc\tO\n\nBan\tB-O" if fmt == "conll" else b'{"id": "c", "sour')
    torn = path.read_bytes()
    for options in ({"resume": True}, {"overwrite": True}):
        write(path, fmt, [], **options)
        assert path.read_bytes() == torn  # not cut, not emptied: nothing was written


def test_labelstudio_to_stdout_prints_an_empty_array_when_there_is_nothing(capsys):
    writer, _ = open_writer("-", "labelstudio")
    writer.close()
    assert json.loads(capsys.readouterr().out) == []


def test_check_writable_names_the_output_that_cannot_be_written(tmp_path, monkeypatch):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(XddError, match=r"--output .*file.txt/a/out.jsonl: cannot create its folder, .* is a file"):
        check_writable(tmp_path / "file.txt" / "a" / "out.jsonl", "--output")
    with pytest.raises(XddError, match=r"--output .* is a folder; give a file name"):
        check_writable(tmp_path, "--output")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # read-only, as a user who is not root sees it
    with pytest.raises(XddError, match=r"file.txt: cannot write it \(permission denied"):
        check_writable(tmp_path / "file.txt", "--output")
    with pytest.raises(XddError, match=r"cannot create it, the folder .* is not writable"):
        check_writable(tmp_path / "sub" / "out.jsonl", "--output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_file_that_cannot_be_opened_at_the_first_batch_is_one_error_naming_it(tmp_path):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    writer, _ = open_writer(tmp_path / "file.txt" / "out.jsonl", "jsonl")
    with pytest.raises(XddError, match=r"file.txt/out.jsonl: cannot write it: "):
        writer.write([(doc("a"), "a.txt")])


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
    assert not path.exists()  # created with the first batch
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
    from xdd.training.convert_labelstudio import read_labelstudio

    path = tmp_path / "out.json"
    write(path, "labelstudio", ["a"])
    (back,) = read_labelstudio(path).documents
    original = doc("a")
    assert back.id == "a" and back.text == TEXT
    assert [(e.start, e.end, e.label, e.score) for e in back.entities] == [(0, 30, "ORG", 0.9)]
    spans = [(p.start, p.end, p.topics) for p in original.paragraphs]
    assert [(p.start, p.end, p.topics) for p in back.paragraphs] == spans


def test_conll_output_tags_syllable_tokens_and_reads_back_through_xdd_convert(tmp_path):
    from xdd.training.convert_conll import read_conll

    path = tmp_path / "out.conll"
    write(path, "conll", ["a"])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:4] == ["-DOCSTART-\ta\tO", "", "Ban\tB-ORG", "Thường\tI-ORG"]
    assert "Hội\tO" in lines and lines[-1] == ""
    (back,) = read_conll(path).documents
    assert [(back.text[e.start:e.end], e.label) for e in back.entities] == [(TEXT[0:30], "ORG")]


def test_conll_output_never_snaps_an_entity_inside_a_token_it_warns_instead(tmp_path):
    text = "lúc 17h20 hôm nay"
    predicted = Document("t", text, entities=[Entity(4, 6, "DATE", "17", 0.9)], paragraphs=[Paragraph(0, len(text))])
    writer, _ = open_writer(tmp_path / "out.conll", "conll")
    writer.write([(predicted, "t.txt")])
    writer.close()
    lines = (tmp_path / "out.conll").read_text(encoding="utf-8").splitlines()
    assert "17h20\tO" in lines  # not B-DATE: the entity covers part of the token
    assert writer.warnings == [
        "id=t: entity DATE [4:6] '17' not written: its start or end falls inside a token or on whitespace "
        "(tokens are syllables and single punctuation marks)"
    ]


def test_xdd_predict_says_how_many_entities_the_conll_output_could_not_hold(
    baseline_bundle_dir, tmp_path, capsys, monkeypatch
):
    from xdd.models.formats import outputs
    from xdd.training.cli import main

    (tmp_path / "a.txt").write_text("Hội nghị lúc 17h20 hôm nay.", encoding="utf-8")
    original = outputs.ConllWriter.render

    def with_a_partial_token(self, doc, source):  # stands in for a model that tags "17" of "17h20"
        doc.entities = [Entity(13, 15, "DATE", "17", 0.9)]
        return original(self, doc, source)

    monkeypatch.setattr(outputs.ConllWriter, "render", with_a_partial_token)
    assert main(["predict", "--model", str(baseline_bundle_dir), str(tmp_path / "a.txt"), "--format", "conll",
                 "--output", str(tmp_path / "out.conll"), "--quiet"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "xdd predict: 1 predicted entit(y/ies) not written, the format cannot hold them:" in err
    assert "entity DATE [13:15] '17' not written: its start or end falls inside a token" in err
