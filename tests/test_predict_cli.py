"""``xdd predict`` end to end: bad inputs reported, long articles whole, kill and resume, formats, workers."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.cli import main

ROOT = Path(__file__).resolve().parent.parent


def seed_texts(model_corpus_path: Path) -> list[str]:
    from models.corpus import read_documents

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
        text = (folder / f"{record['id']}.txt").read_text(encoding="utf-8")
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
    process = subprocess.Popen([sys.executable, "-m", "training.cli", *argv], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if out.is_file() and out.read_bytes().count(b"\n") >= 3:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed; give it more documents"
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
