"""``xdd predict`` end to end: bad inputs reported, long articles whole, kill and resume, formats, workers."""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, kill_once_written
from xdd.training.cli import main

ROOT = REPO


def seed_texts(model_corpus_path: Path) -> list[str]:
    from xdd.models.document.corpus import read_documents

    return [doc.text for doc in read_documents(model_corpus_path)]


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def articles(tmp_path_factory, model_corpus_path) -> Path:
    """Good articles, a Latin-1 file, an empty file, a binary file and a 200,000-character article."""
    folder = tmp_path_factory.mktemp("articles")
    texts = seed_texts(model_corpus_path)
    (folder / "good").mkdir()
    for number, text in enumerate(texts[:2]):
        (folder / "good" / f"article-{number}.txt").write_text(text, encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Thành Hà Nam".encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    joined = "\n".join(texts)
    (folder / "long.txt").write_text((joined * (200_000 // len(joined) + 1))[:200_000], encoding="utf-8")
    return folder


def check_entities_match_the_original_text(output: Path, folder: Path) -> None:
    for record in records(output):
        with open(folder / f"{record['id']}.txt", encoding="utf-8-sig", newline="") as handle:  # as docs say
            text = handle.read()
        assert all(e["text"] == text[e["start"]:e["end"]] for e in record["entities"]), record["id"]


def test_predict_writes_every_good_article_and_reports_each_bad_one(baseline_bundle_dir, articles, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    code = main(["predict", "--model", str(baseline_bundle_dir), str(articles), "--output", str(out), "--quiet"])
    assert code == 1  # some inputs failed
    assert [r["id"] for r in records(out)] == ["good/article-0", "good/article-1", "long"]
    check_entities_match_the_original_text(out, articles)
    long_doc = records(out)[2]
    assert long_doc["paragraphs"][-1]["end"] > 199_000 and max(e["end"] for e in long_doc["entities"]) > 190_000
    errors = {Path(e["source"]).name: e["reason"] for e in records(Path(f"{out}.errors.jsonl"))}
    assert errors == {
        "empty.txt": "empty (no text)",
        "latin1.txt": "not UTF-8 (byte 0xe0 at offset 2); re-save it as UTF-8 (e.g. with iconv)",
        "scan.txt": "binary data (NUL byte at offset 8), not text",
    }
    stderr = capsys.readouterr().err
    assert f"skipped {articles / 'latin1.txt'}: not UTF-8" in stderr
    assert "wrote 3 document(s)" in stderr and "3 input(s) failed" in stderr
    # three batches of one: the time of the run, and the rate after the first batch
    code = main(["predict", "--model", str(baseline_bundle_dir), str(articles / "good"), str(articles / "long.txt"),
                 "--output", str(out), "--overwrite", "--batch-size", "1", "--quiet"])  # fmt: skip
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(rf"xdd predict: wrote 3 document\(s\) to {re.escape(str(out))} in \d+\.\d s "
                        r"\(first batch after \d+\.\d s, then \d+\.\d documents/s\)", summary), summary


def test_the_onnx_backend_predicts_a_long_article_whole_with_exact_offsets(tiny_bundle_dir, articles, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    one_line = (articles / "long.txt").read_text(encoding="utf-8")[:30_000].replace("\n", " ").strip()
    (folder / "one-paragraph.txt").write_text(one_line, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["predict", "--model", str(tiny_bundle_dir), str(folder), "--output", str(out), "--backend", "onnx",
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    (record,) = records(out)
    assert [(p["start"], p["end"]) for p in record["paragraphs"]] == [(0, len(one_line))]
    check_entities_match_the_original_text(out, folder)


def test_a_killed_run_resumes_without_duplicates(baseline_bundle_dir, tmp_path, model_corpus_path):
    texts = seed_texts(model_corpus_path)
    inputs = tmp_path / "in.jsonl"
    ids = [f"doc-{n:02d}" for n in range(40)]
    lines = [json.dumps({"id": i, "text": texts[n % len(texts)]}, ensure_ascii=False) for n, i in enumerate(ids)]
    inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = ["predict", "--model", str(baseline_bundle_dir), str(inputs), "--output", str(out), "--batch-size", "1",
            "--quiet"]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "xdd.training.cli", *argv], cwd=ROOT, stderr=subprocess.DEVNULL)
    kill_once_written(process, out, 3, os.kill)
    written = records(out)
    assert 3 <= len(written) < len(ids)
    with out.open("ab") as handle:
        handle.write(b'{"id": "doc-39", "source": "in.js')  # a torn last write
    assert main([*argv, "--resume"]) == 0
    assert [r["id"] for r in records(out)] == ids  # valid JSONL, every id exactly once, in input order


def test_an_existing_output_stops_the_run_without_resume_or_overwrite(baseline_bundle_dir, articles, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    out.write_text("", encoding="utf-8")
    assert main(["predict", "--model", str(baseline_bundle_dir), str(articles / "good"), "--output", str(out)]) == 2
    assert "already exists; pass --resume to continue it or --overwrite to replace it" in capsys.readouterr().err


def test_a_corrupted_bundle_stops_the_run_with_exit_code_2(baseline_bundle_dir, articles, tmp_path, capsys):
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(baseline_bundle_dir, bundle)
    (bundle / "ner.crfsuite").write_bytes(b"tampered")
    argv = ["predict", "--model", str(bundle), str(articles / "good"), "--output", str(tmp_path / "o.jsonl")]
    assert main(argv) == 2
    assert "ner.crfsuite: SHA-256 differs from SHA256SUMS" in capsys.readouterr().err


def test_stdin_jsonl_to_stdout_with_duplicate_ids_reported(baseline_bundle_dir, monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(b'{"id": "a", "text": "Cao L\xe1\xbb\x99c"}\n{"id": "a", "text": "x"}\n'))
    monkeypatch.setattr(sys, "stdin", stdin)
    argv = ["predict", "--model", str(baseline_bundle_dir), "-", "--stdin-format", "jsonl", "--output", "-", "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert json.loads(line)["source"] == "<stdin>:1"
    assert "<stdin>:2: duplicate id 'a'" in captured.err


@pytest.mark.parametrize("fmt", ["conll", "labelstudio"])
def test_other_output_formats_are_written(baseline_bundle_dir, articles, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    argv = ["predict", "--model", str(baseline_bundle_dir), str(articles / "good"), "--output", str(out),
            "--format", fmt, "--quiet"]  # fmt: skip
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "labelstudio":
        assert [t["data"]["id"] for t in json.loads(text)] == ["article-0", "article-1"]
    else:
        assert text.count("-DOCSTART-\t") == 2 and "\tB-" in text


@pytest.mark.slow  # spawning two workers that import the stack and load the bundle takes ~15 s on 2 cores
def test_two_workers_write_the_same_output_as_one(baseline_bundle_dir, articles, tmp_path):
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.jsonl"
        argv = ["predict", "--model", str(baseline_bundle_dir), str(articles / "good"), "--output", str(out),
                "--workers", workers, "--batch-size", "1", "--quiet"]  # fmt: skip
        assert main(argv) == 0
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == 2


# --- inputs are never lost; outputs that cannot be written stop the run first -------------------


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every file below ``folder`` with its bytes, and every symbolic link with its target (links not followed)."""
    found: dict[str, bytes | str] = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root, name)
            if path.is_symlink():
                found[str(path)] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[str(path)] = path.read_bytes()
    return found


def predict(bundle: Path, *argv: str | Path) -> int:
    return main(["predict", "--model", str(bundle), *map(str, argv), "--quiet"])


def one_error_line(capsys) -> str:
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("xdd: error: ")
    return line


@pytest.fixture
def inputs_folder(tmp_path) -> Path:
    """A .txt article, a .jsonl file and a folder with an article, under ``tmp_path/in``."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes("Ban Thường vụ Huyện uỷ Cao Lộc họp.\r\n".encode())
    (folder / "b.jsonl").write_bytes(json.dumps({"id": "b", "text": "Tỉnh uỷ Lạng Sơn"}).encode() + b"\n")
    (folder / "sub" / "c.txt").write_bytes("Hội nghị cán bộ".encode())
    return folder


@pytest.mark.parametrize(
    ("inputs", "output", "flags", "message"),
    [
        (["b.jsonl"], "b.jsonl", ["--overwrite"], ("xdd: error: --output {in}/b.jsonl is the input {in}/b.jsonl: "
         "writing it would empty that input; nothing was changed: choose a path outside the inputs")),
        (["a.txt"], "a.txt", ["--overwrite"], "--output {in}/a.txt is the input {in}/a.txt: writing it"),
        (["a.txt"], "a.txt", ["--resume"], "--output {in}/a.txt is the input {in}/a.txt: writing it"),
        (["a.txt"], "./sub/../a.txt", ["--overwrite"], "is the input {in}/a.txt: writing it would empty"),
        (["sub"], "hard-link.txt", ["--overwrite"], "is the input {in}/sub/c.txt (the same file under another name)"),
        (["sub"], "sub/out.jsonl", [], "--output {in}/sub/out.jsonl is inside the input folder {in}/sub: it would"),
        (["."], "sub/out.conll", ["--resume"], "is inside the input folder {in}: it would be read back"),
        (["a.txt", "b.jsonl"], "o.jsonl", ["--errors", "{in}/b.jsonl"], "--errors {in}/b.jsonl is the input"),
        (["sub"], "sub.jsonl", ["--errors", "{in}/sub/errors.jsonl"], "--errors {in}/sub/errors.jsonl is inside"),
        (["a.txt"], "out.jsonl", ["--errors", "{in}/out.jsonl"], "--errors {in}/out.jsonl is the --output file"),
    ],
)  # fmt: skip
def test_an_output_or_errors_file_that_is_an_input_is_refused_and_every_input_kept(
    baseline_bundle_dir, inputs_folder, capsys, inputs, output, flags, message
):
    os.link(inputs_folder / "sub" / "c.txt", inputs_folder / "hard-link.txt")
    before = snapshot(inputs_folder)
    where = {"in": str(inputs_folder)}
    flags = [flag.format(**where) for flag in flags]
    assert predict(baseline_bundle_dir, *(inputs_folder / i for i in inputs), "--output", inputs_folder / output,
                   *flags) == 2  # fmt: skip
    assert message.format(**where) in one_error_line(capsys)
    assert snapshot(inputs_folder) == before  # byte-identical, and nothing created


def test_crlf_offsets_and_text_index_the_file_read_without_newline_translation(baseline_bundle_dir, tmp_path,
                                                                               model_corpus_path):  # fmt: skip
    path = tmp_path / "windows.txt"
    path.write_bytes(seed_texts(model_corpus_path)[0][:3000].replace("\n", "\r\n").encode("utf-8"))
    before = path.read_bytes()
    out = tmp_path / "out.jsonl"
    assert predict(baseline_bundle_dir, path, "--output", out, "--include-text") == 0
    (record,) = records(out)
    with open(path, encoding="utf-8", newline="") as handle:  # the one line docs/inference.md gives
        assert record["text"] == handle.read()
    assert "\r\n" in record["text"] and record["entities"]
    assert all(e["text"] == record["text"][e["start"]:e["end"]] for e in record["entities"])
    assert all(not record["text"][p["start"]:p["end"]].endswith("\r") for p in record["paragraphs"])
    assert path.read_bytes() == before


def cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 stores it: precomposed letters (ư, ơ, â ...) followed by a combining tone mark."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = b""
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        letter = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out += (letter + "".join(c for c in parts if c in tones)).encode("cp1258")
    return out


def test_files_windows_tools_write_are_read_or_refused_with_a_way_out(baseline_bundle_dir, tmp_path, capsys):
    text = "Ban Thường vụ Huyện uỷ Cao Lộc họp.\r\nTỉnh uỷ Lạng Sơn chỉ đạo.\r\n"
    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "notepad-unicode.txt": text.encode("utf-16"),  # BOM FF FE, little-endian
        "unicode-big-endian.txt": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "utf8-bom.txt": codecs.BOM_UTF8 + text.encode("utf-8"),
        "windows-1258.txt": cp1258("Ban Thường vụ Huyện uỷ Cao Lộc"),
        "tcvn3.txt": "Céng hoµ x· héi chñ nghÜa ViÖt Nam".encode("latin-1"),  # TCVN3 bytes, seen as Latin-1
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    before = snapshot(folder)
    out = tmp_path / "out.jsonl"
    assert predict(baseline_bundle_dir, folder, "--output", out, "--include-text") == 1
    read = {r["id"]: r for r in records(out)}
    assert sorted(read) == ["notepad-unicode", "unicode-big-endian", "utf8-bom"]
    assert all(record["entities"] for record in read.values())
    for record in read.values():
        assert record["text"] == text  # no byte-order mark, CRLF kept
        assert all(e["text"] == text[e["start"]:e["end"]] for e in record["entities"])
    errors = {Path(e["source"]).name: e["reason"] for e in records(Path(f"{out}.errors.jsonl"))}
    legacy = "not UTF-8 (byte {} at offset {}); re-save it as UTF-8 (e.g. with iconv)"
    assert errors == {"windows-1258.txt": legacy.format("0xfd", 6), "tcvn3.txt": legacy.format("0xe9", 1)}
    assert f"skipped {folder / 'tcvn3.txt'}: not UTF-8" in capsys.readouterr().err
    assert snapshot(folder) == before


def an_input_is_read(*args, **kwargs):
    raise AssertionError("an input was read before the output was checked")


def test_an_output_under_a_file_stops_the_run_with_one_line_before_any_input_is_read(
    baseline_bundle_dir, inputs_folder, tmp_path, capsys, monkeypatch
):
    from xdd.models.formats import inputs

    monkeypatch.setattr(inputs, "_file", an_input_is_read)
    before = snapshot(tmp_path)
    out = inputs_folder / "a.txt" / "results" / "out.jsonl"
    assert predict(baseline_bundle_dir, inputs_folder / "b.jsonl", "--output", out) == 2
    parent = inputs_folder / "a.txt"
    assert one_error_line(capsys) == f"xdd: error: --output {out}: cannot create its folder, {parent} is a file"
    assert snapshot(tmp_path) == before


def test_an_errors_file_under_a_file_stops_the_run_too(baseline_bundle_dir, inputs_folder, tmp_path, capsys):
    before = snapshot(tmp_path)
    errors = inputs_folder / "a.txt" / "errors.jsonl"
    argv = [inputs_folder / "b.jsonl", "--output", tmp_path / "o.jsonl", "--errors", errors]
    assert predict(baseline_bundle_dir, *argv) == 2
    assert f"--errors {errors}: cannot create its folder" in one_error_line(capsys)
    assert snapshot(tmp_path) == before


def test_a_read_only_output_folder_stops_the_run_with_one_line_before_any_input_is_read(
    baseline_bundle_dir, inputs_folder, tmp_path, capsys, monkeypatch
):
    from xdd.models.formats import inputs

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # what a user who is not root meets in a chmod 555 folder (root may write there, and tests run as root)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    monkeypatch.setattr(inputs, "_file", an_input_is_read)
    before = snapshot(tmp_path)
    out = locked / "new" / "out.jsonl"
    assert predict(baseline_bundle_dir, inputs_folder, "--output", out) == 2
    message = f"--output {out}: cannot create it, the folder {locked} is not writable (permission denied)"
    assert one_error_line(capsys) == f"xdd: error: {message}"
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_chmod_read_only_output_folder_stops_the_run(baseline_bundle_dir, inputs_folder, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert predict(baseline_bundle_dir, inputs_folder, "--output", locked / "out.jsonl") == 2
    finally:
        locked.chmod(0o755)
    assert f"--output {locked / 'out.jsonl'}: cannot create it" in one_error_line(capsys)
    assert not (locked / "out.jsonl").exists()


def test_a_missing_input_creates_no_output_and_leaves_an_existing_one_as_it_was(
    baseline_bundle_dir, tmp_path, capsys
):
    out = tmp_path / "results" / "out.jsonl"
    assert predict(baseline_bundle_dir, tmp_path / "nope.txt", "--output", out) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"skipped {tmp_path / 'nope.txt'}: no such file or folder" in err
    assert f"nothing to write, {out} not created; 1 input(s) failed" in err
    assert [e["reason"] for e in records(Path(f"{out}.errors.jsonl"))] == ["no such file or folder"]
    torn = b'{"id": "a", "source": "a.txt", "entities": [], "paragraphs": [], "topics": []}\n{"id": "b", "sour'
    out.write_bytes(torn)
    for flag in ("--resume", "--overwrite"):
        assert predict(baseline_bundle_dir, tmp_path / "nope.txt", "--output", out, flag) == 1
        assert out.read_bytes() == torn  # never emptied, never cut, never removed
        assert f"nothing to write, {out} left as it was" in capsys.readouterr().err


def test_links_in_an_input_folder_that_are_not_followed_are_reported(baseline_bundle_dir, inputs_folder, tmp_path,
                                                                      capsys):  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "d.txt").write_text("Đảng uỷ xã họp.", encoding="utf-8")
    (inputs_folder / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    (inputs_folder / "linked.txt").symlink_to(elsewhere / "d.txt")
    (inputs_folder / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    before = snapshot(tmp_path)
    out = tmp_path / "out.jsonl"
    assert predict(baseline_bundle_dir, inputs_folder, "--output", out) == 1
    assert [r["id"] for r in records(out)] == ["a", "b", "linked", "sub/c"]  # a link to a file is read
    errors = [(e["source"], e["reason"]) for e in records(Path(f"{out}.errors.jsonl"))]
    assert errors == [(str(inputs_folder / "gone.txt"), "dangling symbolic link"),
                      (str(inputs_folder / "linked-folder"), "symbolic link to a folder, not followed")]  # fmt: skip
    err = capsys.readouterr().err
    assert f"skipped {inputs_folder / 'linked-folder'}: symbolic link to a folder, not followed" in err
    assert "2 input(s) failed" in err
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(str(out))} == before


def test_a_folder_without_input_files_fails_the_run_and_is_listed_in_the_errors_file(baseline_bundle_dir, tmp_path,
                                                                                      capsys):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.docx").write_bytes(b"PK\x03\x04")
    out = tmp_path / "out.jsonl"
    assert predict(baseline_bundle_dir, folder, "--output", out) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"{folder}: no .txt or .jsonl file in this folder (1 other file(s) not read)" in err
    assert [e["source"] for e in records(Path(f"{out}.errors.jsonl"))] == [str(folder)]


def test_an_existing_errors_file_given_with_errors_is_replaced_only_with_overwrite_or_resume(
    baseline_bundle_dir, inputs_folder, tmp_path, capsys
):
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"mine": true}\n', encoding="utf-8")
    before = snapshot(tmp_path)
    argv = [inputs_folder / "b.jsonl", tmp_path / "missing.txt", "--output", tmp_path / "o.jsonl", "--errors", notes]
    assert predict(baseline_bundle_dir, *argv) == 2
    assert f"--errors {notes}: already exists and would be rewritten; pass --overwrite" in one_error_line(capsys)
    assert snapshot(tmp_path) == before
    assert predict(baseline_bundle_dir, *argv, "--overwrite") == 1
    assert [e["reason"] for e in records(notes)] == ["no such file or folder"]


def test_the_rate_in_the_summary_leaves_the_first_batch_out(monkeypatch):
    from xdd.training import predict_cli

    clock = iter([112.0, 130.0])  # started at 100; the first batch (16 documents) at 12 s; 90 more by 30 s
    monkeypatch.setattr(predict_cli.time, "monotonic", lambda: next(clock))
    tally = predict_cli.Tally(started=100.0)
    tally.wrote(16)
    tally.written += 90
    assert tally.timing() == "in 30.0 s (first batch after 12.0 s, then 5.0 documents/s)"
    one_batch = predict_cli.Tally(started=0.0, first_batch=(1.0, 4), written=4)
    monkeypatch.setattr(predict_cli.time, "monotonic", lambda: 2.5)
    assert one_batch.timing() == "in 2.5 s"  # no rate from a single batch
