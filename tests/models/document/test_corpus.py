"""Reading and writing corpora: models/document/corpus.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import (
    atomic_write_text,
    read_documents,
    record_problems,
    write_documents,
)
from xdd.models.errors import CorpusError

FIXTURES = FIXTURES_DIR
CORPUS = FIXTURES / "corpus"
GOLD = REPO / "data" / "annotations"
CANONICAL_FILES = sorted(CORPUS.rglob("*.jsonl")) + sorted((FIXTURES / "phoner" / "expected").glob("*.jsonl"))


def good_record(doc_id: str = "doc-1") -> dict:
    text = "Huyện ủy Cao Lộc họp.\nBàn công tác cán bộ."
    return {
        "id": doc_id,
        "meta": {},
        "text": text,
        "entities": [{"start": 0, "end": 16, "label": "ORG", "text": "Huyện ủy Cao Lộc"}],
        "paragraphs": [{"start": 0, "end": 21, "topics": []}, {"start": 22, "end": 42, "topics": ["cadre_planning"]}],
    }


def write_lines(path: Path, *lines: object) -> Path:
    """Write records (dicts are dumped as JSON, strings written as they are), one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else x) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def test_read_documents_loads_every_jsonl_file_below_a_directory_in_sorted_order():
    docs = read_documents(CORPUS)
    assert [d.id for d in docs] == ["fx_cao-loc", "fx_thai-thuy", "fx_trung-khanh"]
    assert docs[0].entities[1] == Entity(22, 29, "LOC", "Cao Lộc")
    assert docs[0].paragraphs[1] == Paragraph(22, 64, ["cadre_planning"])
    assert docs[0].meta["source"] == "seeds/000_663989248e740749.txt"


def test_read_documents_loads_a_single_file():
    docs = read_documents(CORPUS / "more" / "trung-khanh.jsonl")
    assert [d.id for d in docs] == ["fx_trung-khanh"]


@pytest.mark.parametrize("path", CANONICAL_FILES, ids=lambda p: p.name)
def test_loading_then_saving_a_canonical_fixture_is_byte_identical(path, tmp_path):
    write_documents(tmp_path / "out.jsonl", read_documents(path))
    assert (tmp_path / "out.jsonl").read_bytes() == path.read_bytes()


def test_loading_then_saving_the_gold_corpus_is_byte_identical(tmp_path):
    files = sorted(GOLD.glob("*.jsonl"))
    if not files:
        pytest.skip("data/annotations/*.jsonl not written yet")
    for path in files:
        write_documents(tmp_path / path.name, read_documents(path))
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path


def test_blank_lines_are_skipped_and_line_numbers_still_count_them(tmp_path):
    path = write_lines(tmp_path / "c.jsonl", good_record("a"), "", "   ", {**good_record("b"), "text": 5})
    with pytest.raises(CorpusError) as err:
        read_documents(path)
    assert f"{path}:4: id=b: record: 'text' must be a string, got integer 5" in str(err.value)


def test_read_documents_reports_every_bad_record_with_file_line_and_id(tmp_path):
    bad_type = {**good_record("a"), "entities": [{"start": "0", "end": 16, "label": "ORG"}]}
    reversed_span = {**good_record("b"), "entities": [{"start": 16, "end": 0, "label": "ORG"}]}
    path = write_lines(tmp_path / "c.jsonl", bad_type, good_record("ok"), reversed_span, '{"id": "d", "text": ')
    with pytest.raises(CorpusError) as err:
        read_documents(path)
    lines = str(err.value).splitlines()
    assert lines[0] == f"{path}:1: id=a: entities[0]: 'start' must be an integer, got string \"0\""
    assert lines[1] == f"{path}:3: id=b: entities[0]: start 16 > end 0 (reversed offsets)"
    assert lines[2].startswith(f"{path}:4: id=d: invalid JSON: Expecting value at column")
    assert lines[3] == "3 problem(s); fix them and read again"


def test_read_documents_reports_a_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(json.dumps(good_record()).encode() + b"\n" + b'{"id": "x\xff"}\n')
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: id=\?: not valid UTF-8 \(byte 0xff at column 10\)"):
        read_documents(path)


BOM = b"\xef\xbb\xbf"


def test_a_utf8_bom_at_the_start_of_a_file_is_skipped_and_the_offsets_still_index_the_text(tmp_path):
    plain = write_lines(tmp_path / "plain.jsonl", good_record("a"), good_record("b"))
    with_bom = tmp_path / "bom" / "c.jsonl"
    with_bom.parent.mkdir()
    with_bom.write_bytes(BOM + plain.read_bytes())
    docs = read_documents(with_bom)
    assert docs == read_documents(plain)
    first = docs[0].entities[0]
    assert docs[0].text[first.start : first.end] == first.text == "Huyện ủy Cao Lộc"
    write_documents(tmp_path / "out.jsonl", docs)
    assert (tmp_path / "out.jsonl").read_bytes() == plain.read_bytes()  # written back canonical, without the BOM


def test_a_bom_further_down_a_file_says_where_it_came_from(tmp_path):
    path = tmp_path / "c.jsonl"
    first, second = (json.dumps(good_record(doc_id)).encode() for doc_id in "ab")
    path.write_bytes(BOM + first + b"\n" + BOM + second + b"\n")  # two files with BOMs, concatenated
    with pytest.raises(CorpusError) as err:
        read_documents(path)
    assert str(err.value).splitlines()[0] == (
        f"{path}:2: id=b: the line starts with a byte order mark (U+FEFF), which belongs only at the start of a "
        "file (were files concatenated?); delete it"
    )


def test_read_documents_reports_a_missing_path():
    with pytest.raises(CorpusError, match="nowhere.jsonl: no such file or directory"):
        read_documents("nowhere.jsonl")


def test_read_documents_reports_a_directory_without_jsonl_files(tmp_path):
    with pytest.raises(CorpusError, match=r"no \*\.jsonl files in this directory"):
        read_documents(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"entites": []}, "record: unknown key 'entites'; did you mean 'entities'?"),
        ({"id": ""}, "'id' is empty"),
        ({"meta": None}, "record: 'meta' must be an object, got null"),
        ({"entities": [{"start": 0, "end": 99, "label": "ORG"}]}, "entities[0]: end 99 is past the end of the text (42 characters)"),
        ({"entities": [{"start": 3, "end": 3, "label": "ORG"}]}, "entities[0]: empty span (start == end == 3)"),
        ({"entities": [{"start": -1, "end": 3, "label": "ORG"}]}, "entities[0]: start -1 is negative"),
        ({"entities": [{"start": True, "end": 3, "label": "ORG"}]}, "entities[0]: 'start' must be an integer, got boolean"),
        ({"entities": [{"start": 0, "end": 3, "label": ""}]}, "entities[0]: 'label' is empty"),
        ({"entities": ["ORG"]}, "entities[0] must be a JSON object, got string"),
        ({"paragraphs": [{"start": 0, "end": 21}]}, "paragraphs[0]: missing key 'topics'"),
        ({"paragraphs": [{"start": 0, "end": 21, "topics": [1]}]}, "paragraphs[0]: 'topics' must be a list of non-empty strings"),
        ({"paragraphs": [{"start": 0, "end": 21, "topics": [], "scores": {"a": "x"}}]}, "'scores' must map topics to numbers"),
    ],
)
def test_record_problems_names_the_structural_problem(change, message):
    assert message in " | ".join(record_problems({**good_record(), **change}))


def test_record_problems_rejects_a_record_that_is_not_an_object():
    assert record_problems([1, 2]) == ["a record must be a JSON object, got list"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path):
    path = tmp_path / "c.jsonl"
    write_documents(path, [Document("a", "x")])
    before = path.read_bytes()

    def documents():
        yield Document("b", "y")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_documents(path, documents())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.jsonl"]


def test_writing_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("")
    path.chmod(0o640)
    atomic_write_text(path, "{}\n")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text() == "{}\n"


def test_write_documents_creates_missing_folders(tmp_path):
    write_documents(tmp_path / "a" / "b" / "c.jsonl", [Document("a", "x")])
    assert read_documents(tmp_path / "a") == [Document("a", "x")]


def test_read_documents_reports_a_file_it_cannot_open(tmp_path, monkeypatch):
    path = write_lines(tmp_path / "c.jsonl", good_record())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("xdd.models.document.corpus.open", refuse, raising=False)
    with pytest.raises(CorpusError, match=r"c\.jsonl: cannot read: Permission denied"):
        read_documents(path)
