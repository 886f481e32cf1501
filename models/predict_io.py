"""Inputs of ``xdd predict``: files, folders, JSON Lines and standard input, read one document at a time.

:func:`iter_inputs` yields, in order, an :class:`InputDocument` for every
readable document and an :class:`InputError` (source and reason) for every one
that cannot be predicted, so a run reports bad inputs and carries on.

- ``.txt`` (or any file not ending in ``.jsonl``): one document, the file's
  whole text decoded as UTF-8 (a BOM stays, as one character, so offsets index
  the text exactly as ``open(path, encoding="utf-8").read()`` returns it); its
  id is the path without extension, relative to the folder it was found in.
- ``.jsonl``: one document per line, an object with a string ``text`` and
  optionally ``id`` (string or integer; default ``FILE:LINE``) and ``meta``.
- a folder: every ``*.txt`` and ``*.jsonl`` below it, recursively, sorted;
  other files are not inputs.
- ``-``: standard input, one text (``stdin_format="txt"``) or JSON Lines.

Refused, with the reason: text that is not UTF-8, binary data (NUL bytes),
empty or whitespace-only text, and files or lines over ``max_bytes``.  Memory
stays bounded: one document (at most ``max_bytes``) is held at a time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

STDIN = "-"
DEFAULT_MAX_BYTES = 5_000_000
INPUT_SUFFIXES = (".txt", ".jsonl")


@dataclass(frozen=True)
class InputDocument:
    """A document to predict: its id, where it came from (``PATH`` or ``PATH:LINE``), its text and meta."""

    id: str
    source: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InputError:
    """An input that cannot be predicted, and why."""

    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


InputItem = InputDocument | InputError


def iter_inputs(
    inputs: Sequence[str | Path],
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin_format: str = "txt",
    stdin: BinaryIO | None = None,
) -> Iterator[InputItem]:
    """Every document (or error) of ``inputs``, in the order given, folders expanded in sorted order."""
    for given in inputs:
        if str(given) == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            if stdin_format == "jsonl":
                yield from _jsonl_lines(stream, "<stdin>", max_bytes)
            else:
                yield _text_document(stream, "stdin", "<stdin>", max_bytes)
            continue
        path = Path(given)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in INPUT_SUFFIXES and p.is_file()):
                yield from _file(file, file.relative_to(path), max_bytes)
        elif path.is_file():
            yield from _file(path, path, max_bytes)
        else:
            yield InputError(str(path), "no such file or folder")


def _file(path: Path, name: Path, max_bytes: int) -> Iterator[InputItem]:
    """The documents of one file; ``name`` gives text documents their id."""
    try:
        handle = path.open("rb")
    except OSError as err:
        yield InputError(str(path), f"cannot open: {err.strerror}")
        return
    with handle:
        if path.suffix.lower() == ".jsonl":
            yield from _jsonl_lines(handle, str(path), max_bytes)
        else:
            yield _text_document(handle, name.with_suffix("").as_posix(), str(path), max_bytes)


def _text_document(stream: BinaryIO, doc_id: str, source: str, max_bytes: int) -> InputItem:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return InputError(source, f"over the size limit of {max_bytes:,} bytes; split it, or raise --max-bytes")
    problem = _text_problem(data)
    return InputError(source, problem) if problem else InputDocument(doc_id, source, data.decode("utf-8"))


def _text_problem(data: bytes) -> str | None:
    """Why ``data`` is not a text document (binary, not UTF-8, empty), or None."""
    if b"\x00" in data:
        return f"binary data (NUL byte at offset {data.index(0)}), not text"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 (byte {data[err.start]:#04x} at offset {err.start}); re-save it as UTF-8 (e.g. with iconv)"
    if not text.strip():
        return "empty (no text)" if not text else "only whitespace, no text"
    return None


def _jsonl_lines(stream: BinaryIO, name: str, max_bytes: int) -> Iterator[InputItem]:
    for number, raw in _bounded_lines(stream, max_bytes):
        source = f"{name}:{number}"
        if raw is None:
            yield InputError(source, f"line over the size limit of {max_bytes:,} bytes; raise --max-bytes")
        elif raw.strip():
            yield _jsonl_document(raw, source)


def _jsonl_document(raw: bytes, source: str) -> InputItem:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        return InputError(source, f"not UTF-8 (byte {raw[err.start]:#04x} at column {err.start + 1})")
    except json.JSONDecodeError as err:
        return InputError(source, f"invalid JSON: {err.msg} at column {err.colno}")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return InputError(source, 'expected an object with a string "text" (and optionally "id", "meta")')
    doc_id = record.get("id", source)
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)) or doc_id == "":
        return InputError(source, f'"id" must be a non-empty string or an integer, got {json.dumps(doc_id)[:40]}')
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        return InputError(source, '"meta" must be an object')
    if not record["text"].strip():
        return InputError(source, '"text" is empty')
    return InputDocument(str(doc_id), source, record["text"], meta)


def _bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` per line, or ``(number, None)`` for a line over ``max_bytes`` (skipped unread)."""
    number = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line.rstrip(b"\n")) <= max_bytes:
            yield number, line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(max_bytes + 1)
        yield number, None
