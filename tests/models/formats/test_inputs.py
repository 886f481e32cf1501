"""Inputs of ``xdd predict``: discovery, ids, sources, and the reasons bad inputs are refused."""

from __future__ import annotations

import codecs
import io
import json
import os
from pathlib import Path

import pytest
from xdd.models.formats.inputs import (
    InputDocument,
    InputError,
    clash_with_inputs,
    input_files,
    iter_inputs,
)


def items(*inputs, **options):
    return list(iter_inputs([str(i) for i in inputs], **options))


def test_a_folder_yields_txt_and_jsonl_files_recursively_in_sorted_order_with_relative_ids(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_text("Hà Nội", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Cao Lộc", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not an input", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "k", "text": "Lạng Sơn"}) + "\n", encoding="utf-8")
    found = items(tmp_path)
    assert [(d.id, d.text) for d in found] == [("a", "Cao Lộc"), ("b/x", "Hà Nội"), ("k", "Lạng Sơn")]
    assert found[0].source == str(tmp_path / "a.txt") and found[2].source == f"{tmp_path / 'c.jsonl'}:1"


def test_text_keeps_crlf_and_drops_a_utf8_byte_order_mark_as_utf8_sig_does(tmp_path):
    raw = "\ufeffDòng một\r\nDòng hai\r\n"
    (tmp_path / "a.txt").write_bytes(raw.encode("utf-8"))
    (doc,) = items(tmp_path / "a.txt")
    assert doc.text == raw[1:]
    with open(tmp_path / "a.txt", encoding="utf-8-sig", newline="") as handle:  # what docs/inference.md says
        assert doc.text == handle.read()


@pytest.mark.parametrize(("codec", "mark"), [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                             ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE)])
def test_utf16_and_utf32_files_are_decoded_when_their_byte_order_mark_says_so(tmp_path, codec, mark):
    raw = "Dòng một\r\nHà Nội\r\n"
    (tmp_path / "a.txt").write_bytes(mark + raw.encode(codec))
    (doc,) = items(tmp_path / "a.txt")
    assert doc.text == raw  # without the mark, CRLF kept
    with open(tmp_path / "a.txt", encoding=codec[:6], newline="") as handle:  # "utf-16" / "utf-32" read the mark
        assert doc.text == handle.read()


def test_a_truncated_utf16_file_and_one_without_its_mark_are_refused(tmp_path):
    (tmp_path / "cut.txt").write_bytes(codecs.BOM_UTF16_LE + "Hà Nội".encode("utf-16-le")[:-1])
    (tmp_path / "nomark.txt").write_bytes("Hà Nội".encode("utf-16-le"))
    reasons = {e.source.rsplit("/", 1)[1]: e.reason for e in items(tmp_path)}
    assert reasons["cut.txt"].startswith("starts with a UTF-16 LE byte-order mark but is not valid UTF-16 LE")
    assert reasons["nomark.txt"] == "looks like UTF-16 LE text without a byte-order mark; re-save it as UTF-8"


@pytest.mark.parametrize(("codec", "name"), [("utf-16-le", "UTF-16 LE"), ("utf-16-be", "UTF-16 BE")])
def test_unmarked_utf16_is_named_and_real_binary_data_is_still_binary(tmp_path, codec, name):
    text = "Đồng chí Nguyễn Văn A, Bí thư Tỉnh ủy Cao Bằng, dự hội nghị ngày 12/3/2021.\n" * 3
    (tmp_path / "wide.txt").write_bytes(text.encode(codec))
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    (tmp_path / "odd.txt").write_bytes(text.encode(codec) + b"x")  # an odd length is no UTF-16
    reasons = {e.source.rsplit("/", 1)[1]: e.reason for e in items(tmp_path)}
    assert reasons["wide.txt"] == f"looks like {name} text without a byte-order mark; re-save it as UTF-8"
    assert reasons["image.txt"] == "binary data (NUL byte at offset 8), not text"
    assert reasons["odd.txt"].startswith("binary data (NUL byte at offset")


def test_jsonl_drops_a_utf8_byte_order_mark_and_refuses_utf16_once_for_the_file(tmp_path):
    line = json.dumps({"id": "a", "text": "Hà Nội"}, ensure_ascii=False) + "\n"
    (tmp_path / "bom.jsonl").write_bytes(codecs.BOM_UTF8 + (line * 2).encode("utf-8"))
    (tmp_path / "wide.jsonl").write_bytes((line * 2).encode("utf-16"))
    bom, wide = items(tmp_path / "bom.jsonl")[0], items(tmp_path / "wide.jsonl")
    assert (bom.id, bom.text) == ("a", "Hà Nội")
    assert wide == [InputError(str(tmp_path / "wide.jsonl"),
                               "UTF-16 LE text; JSON Lines are read as UTF-8: re-save it as UTF-8")]  # fmt: skip


def test_jsonl_lines_take_their_id_or_file_and_line_and_keep_meta(tmp_path):
    lines = [{"text": "một"}, {"id": 7, "text": "hai", "meta": {"url": "u"}}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    first, second = items(path)
    assert first.id == f"{path}:1" and second == InputDocument("7", f"{path}:2", "hai", {"url": "u"})


def test_bad_text_files_are_reported_with_their_reason(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Hà Nam".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b" \n\t\n")
    (tmp_path / "scan.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "big.txt").write_bytes(b"a" * 101)
    reasons = {e.source.rsplit("/", 1)[1]: e.reason for e in items(tmp_path, max_bytes=100)}
    assert reasons["latin1.txt"].startswith("not UTF-8 (byte 0xe0 at offset 1); re-save it as UTF-8")
    assert reasons["empty.txt"] == "empty (no text)"
    assert reasons["blank.txt"] == "only whitespace, no text"
    assert reasons["scan.txt"] == "binary data (NUL byte at offset 4), not text"
    assert reasons["big.txt"] == "over the size limit of 100 bytes; split it, or raise --max-bytes"


def test_bad_jsonl_lines_are_reported_with_file_and_line_and_the_good_ones_still_read(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [b'{"text": "ok"}', b"{broken", b'{"id": "x"}', b'{"text": "   "}', b'{"id": true, "text": "t"}',
             '{"text": "Hà"}'.encode("latin-1"), b'{"text": "' + b"a" * 200 + b'"}', b'{"text": "last"}']  # fmt: skip
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = items(path, max_bytes=100)
    assert [d.text for d in found if isinstance(d, InputDocument)] == ["ok", "last"]
    errors = {e.source: e.reason for e in found if isinstance(e, InputError)}
    assert errors[f"{path}:2"].startswith("invalid JSON")
    assert errors[f"{path}:3"] == 'expected an object with a string "text" (and optionally "id", "meta")'
    assert errors[f"{path}:4"] == '"text" is empty'
    assert errors[f"{path}:5"].startswith('"id" must be a non-empty string or an integer')
    assert errors[f"{path}:6"].startswith("not UTF-8")
    assert errors[f"{path}:7"].startswith("line over the size limit of 100 bytes")


def test_stdin_reads_one_text_or_json_lines():
    (doc,) = items("-", stdin=io.BytesIO("Bắc Giang".encode()))
    assert (doc.id, doc.source, doc.text) == ("stdin", "<stdin>", "Bắc Giang")
    docs = items("-", stdin=io.BytesIO(b'{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n'), stdin_format="jsonl")
    assert [(d.id, d.source) for d in docs] == [("a", "<stdin>:1"), ("b", "<stdin>:2")]


def test_a_missing_input_is_reported(tmp_path):
    assert items(tmp_path / "nope.txt") == [InputError(str(tmp_path / "nope.txt"), "no such file or folder")]
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nope.txt")
    assert items(tmp_path / "gone.txt") == [InputError(str(tmp_path / "gone.txt"), "dangling symbolic link")]


def test_a_folder_reads_links_to_files_and_reports_links_it_does_not_follow_in_sorted_place(tmp_path):
    folder, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.txt").write_text("Hà Nội", encoding="utf-8")
    (folder / "a.txt").write_text("Cao Lộc", encoding="utf-8")
    (folder / "b-folder").symlink_to(elsewhere, target_is_directory=True)
    (folder / "c.txt").symlink_to(elsewhere / "x.txt")
    (folder / "d.txt").symlink_to(elsewhere / "deleted.txt")
    (folder / "e").symlink_to(folder, target_is_directory=True)  # a loop: not followed either
    found = [(i.id, i.text) if isinstance(i, InputDocument) else (Path(i.source).name, i.reason) for i in items(folder)]
    assert found == [("a", "Cao Lộc"), ("b-folder", "symbolic link to a folder, not followed"), ("c", "Hà Nội"),
                     ("d.txt", "dangling symbolic link"), ("e", "symbolic link to a folder, not followed")]  # fmt: skip
    assert [path.name for path in input_files([folder])] == ["a.txt", "c.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may list a folder it has no permission on")
def test_a_sub_folder_that_cannot_be_listed_is_reported(tmp_path):
    (tmp_path / "a.txt").write_text("Cao Lộc", encoding="utf-8")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0)
    try:
        found = items(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert found[1] == InputError(str(tmp_path / "locked"), "cannot read this folder: Permission denied")


def test_clash_with_inputs_compares_files_by_identity_and_folders_by_containment(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "a.txt").write_text("Cao Lộc", encoding="utf-8")
    os.link(tmp_path / "in" / "sub" / "a.txt", tmp_path / "hard.txt")
    (tmp_path / "soft.txt").symlink_to(tmp_path / "in" / "sub" / "a.txt")
    (tmp_path / "other.txt").write_text("Hà Nội", encoding="utf-8")
    inputs = [str(tmp_path / "in"), "-"]
    assert clash_with_inputs(tmp_path / "in" / "new" / "out.jsonl", inputs).startswith("is inside the input folder")
    assert "(the same file under another name)" in clash_with_inputs(tmp_path / "hard.txt", inputs)
    assert clash_with_inputs(tmp_path / "soft.txt", inputs).startswith("is inside the input folder")  # resolved
    assert clash_with_inputs(tmp_path / "soft.txt", [tmp_path / "hard.txt"]).startswith("is the input")
    assert clash_with_inputs(tmp_path / "other.txt", inputs) is None
    assert clash_with_inputs(tmp_path / "new.jsonl", inputs) is None


def test_a_folder_without_any_input_file_is_an_error_naming_it_and_what_it_holds(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "word").mkdir()
    (tmp_path / "word" / "a.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "word" / "b.html").write_text("<p>Hà Nội</p>", encoding="utf-8")
    (empty,) = items(tmp_path / "empty")
    assert isinstance(empty, InputError) and empty.source == str(tmp_path / "empty")
    assert empty.reason == "no .txt or .jsonl file in this folder"
    (word,) = items(tmp_path / "word")
    assert word.reason == "no .txt or .jsonl file in this folder (2 other file(s) not read)"
