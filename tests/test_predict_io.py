"""Inputs of ``xdd predict``: discovery, ids, sources, and the reasons bad inputs are refused."""

from __future__ import annotations

import io
import json

from models.predict_io import InputDocument, InputError, iter_inputs


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


def test_text_is_kept_exactly_as_decoded_with_crlf_and_bom(tmp_path):
    raw = "\ufeffDòng một\r\nDòng hai\r\n"
    (tmp_path / "a.txt").write_bytes(raw.encode("utf-8"))
    (doc,) = items(tmp_path / "a.txt")
    assert doc.text == raw


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
