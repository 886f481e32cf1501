"""Inputs of ``xdd predict``: files, folders, JSON Lines and standard input, read one document at a time.

:func:`iter_inputs` yields, in order, an :class:`InputDocument` for every
readable document and an :class:`InputError` (source and reason) for every one
that cannot be predicted, so a run reports bad inputs and carries on.

- ``.txt`` (or any file not ending in ``.jsonl``): one document, the file's
  whole text.  It is decoded as UTF-8, or as UTF-16 / UTF-32 when it starts
  with that byte-order mark (Notepad's "Unicode").  A byte-order mark is not
  part of the text (a UTF-8 one is dropped, as ``utf-8-sig`` does) and line
  endings stay as stored (CRLF stays CRLF), so offsets index exactly
  ``open(path, encoding="utf-8-sig", newline="").read()`` (``"utf-16"`` for a
  UTF-16 file).  Its id is the path without extension, relative to the folder
  it was found in.
- ``.jsonl``: one document per line, an object with a string ``text`` and
  optionally ``id`` (string or integer; default ``FILE:LINE``) and ``meta``;
  UTF-8 (a UTF-8 byte-order mark before the first line is dropped).
- a folder: every ``*.txt`` and ``*.jsonl`` below it, recursively, sorted;
  other files are not inputs.  Symbolic links to files are read (the id is
  the link's path); links to folders are not followed, and they, dangling
  links and sub-folders that cannot be listed are reported as errors.
- ``-``: standard input, one text (``stdin_format="txt"``) or JSON Lines.

Refused, with the reason: text that is not UTF-8 (legacy 8-bit files,
Windows-1258 or TCVN3, among it), binary data (NUL bytes), empty or
whitespace-only text, and files or lines over ``max_bytes``.  Memory stays
bounded: one document (at most ``max_bytes``) is held at a time.

:func:`clash_with_inputs` lets the command line refuse, before anything is
opened for writing, an output path that is an input or would be read as one.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

STDIN = "-"
DEFAULT_MAX_BYTES = 5_000_000
INPUT_SUFFIXES = (".txt", ".jsonl")
# (mark, codec of the bytes after it, name); UTF-32 LE comes first because its mark begins with UTF-16 LE's.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)  # fmt: skip
NO_MARK = (b"", "utf-8", "UTF-8")
FoundFile = tuple[Path, Path]  # a file to read, and the name its text document's id is made from


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


class _NotText(ValueError):
    """Why some bytes are not a text document (raised by :func:`_decode`)."""


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
        for found in _files(Path(given)):
            if isinstance(found, InputError):
                yield found
            else:
                yield from _file(*found, max_bytes)


# --- finding the files ---------------------------------------------------------


def _files(given: Path) -> Iterator[FoundFile | InputError]:
    """The files an input path stands for (a folder's in sorted order), and errors for what cannot be read."""
    if given.is_dir():
        yield from _folder_files(given)
    elif given.is_file():
        yield given, given
    elif given.is_symlink():
        yield InputError(str(given), "dangling symbolic link")
    else:
        yield InputError(str(given), "not a regular file or folder" if given.exists() else "no such file or folder")


def _folder_files(folder: Path) -> Iterator[FoundFile | InputError]:
    """Every ``*.txt`` and ``*.jsonl`` below ``folder``, sorted by path, with what was not read in its place.

    Links to folders are not followed (one could loop back up the tree, or
    reach a folder twice); they, dangling links and folders that cannot be
    listed are errors, so no input is skipped without a word.  Links to files
    are read like the files themselves.  A folder with no input file at all is
    an error too (a folder of ``.docx`` files, a mistyped folder), not an
    empty run.
    """
    found: list[tuple[Path, FoundFile | InputError]] = []

    def not_read(path: Path, reason: str) -> None:
        found.append((path, InputError(str(path), reason)))

    def unlistable(err: OSError) -> None:
        not_read(Path(err.filename), f"cannot read this folder: {err.strerror}")

    other = 0  # files without an input suffix, named when the folder has nothing else
    for root, folders, files in os.walk(folder, onerror=unlistable):  # os.walk does not follow links to folders
        for name in folders:
            if os.path.islink(os.path.join(root, name)):
                not_read(Path(root, name), "symbolic link to a folder, not followed")
        for name in files:
            path = Path(root, name)
            if not path.exists():
                not_read(path, "dangling symbolic link")
            elif path.suffix.lower() not in INPUT_SUFFIXES:
                other += 1
                continue
            elif path.is_file():
                found.append((path, (path, path.relative_to(folder))))
            else:
                not_read(path, "not a regular file (a pipe, socket or device)")
    if not found:
        others = f" ({other} other file(s) not read)" if other else ""
        yield InputError(str(folder), f"no {' or '.join(INPUT_SUFFIXES)} file in this folder{others}")
        return
    for _, item in sorted(found, key=lambda pair: pair[0]):
        yield item


def input_files(inputs: Sequence[str | Path]) -> Iterator[Path]:
    """The paths of every file :func:`iter_inputs` would read (standard input aside), none of them opened."""
    for given in inputs:
        if str(given) != STDIN:
            yield from (found[0] for found in _files(Path(given)) if not isinstance(found, InputError))


def clash_with_inputs(target: Path, inputs: Sequence[str | Path]) -> str | None:
    """How writing ``target`` would destroy an input or be read back as one (a phrase), or None if it would not.

    By file identity as well as by path, so another spelling of the path, a
    symbolic link or a hard link to an input counts: writing it would empty
    that input.  A target inside an input folder would be read while written.
    """
    for given in inputs:
        if str(given) != STDIN and Path(given).is_dir() and _inside(target, Path(given)):
            return f"is inside the input folder {given}: it would be read back as an input while being written"
    for path in input_files(inputs) if target.exists() else ():  # what does not exist yet is no input
        if same_file(target, path):
            alias = "" if target.resolve() == path.resolve() else " (the same file under another name)"
            return f"is the input {path}{alias}: writing it would empty that input"
    return None


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: the same path once resolved, or the same device and inode."""
    if a.resolve() == b.resolve():
        return True
    identity = _identity(a)
    return identity is not None and identity == _identity(b)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies below ``folder``, comparing folder identities (case and links do not fool it)."""
    target = _identity(folder)
    return any(_identity(parent) == target for parent in path.resolve().parents)


def _identity(path: Path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of what ``path`` leads to, or None if it leads nowhere."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


# --- reading them --------------------------------------------------------------


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
    try:
        return InputDocument(doc_id, source, _decode(data))
    except _NotText as err:
        return InputError(source, str(err))


def _byte_order_mark(data: bytes) -> tuple[bytes, str, str]:
    """``(mark, codec, name)`` of the byte-order mark ``data`` starts with; no mark means UTF-8."""
    return next((mark for mark in BYTE_ORDER_MARKS if data.startswith(mark[0])), NO_MARK)


def _decode(data: bytes) -> str:
    """The text of a file: what follows its byte-order mark, decoded as the mark says (UTF-8 without one).

    Line endings are not touched, so offsets hold on the text as stored.
    Raises :class:`_NotText` for binary data, undecodable bytes and empty text.
    """
    mark, codec, name = _byte_order_mark(data)
    if codec == "utf-8" and b"\x00" in data:  # said first: binary files are rarely valid UTF-8 either
        wide = _unmarked_utf16(data)
        if wide:
            raise _NotText(f"looks like {wide} text without a byte-order mark; re-save it as UTF-8")
        raise _NotText(f"binary data (NUL byte at offset {data.index(0)}), not text")
    try:
        text = data[len(mark):].decode(codec)
    except UnicodeDecodeError as err:
        raise _NotText(_undecodable(data, len(mark) + err.start, name, bool(mark))) from None
    if "\x00" in text:
        raise _NotText(f"binary data (NUL character at offset {text.index(chr(0))} of the {name} text), not text")
    if not text.strip():
        raise _NotText("empty (no text)" if not text else "only whitespace, no text")
    return text


def _unmarked_utf16(data: bytes, sample: int = 4096) -> str | None:
    """``"UTF-16 LE"``/``"UTF-16 BE"`` when ``data`` reads as such and its NUL bytes sit on one side of each pair.

    Vietnamese in UTF-16 has a NUL high byte for every ASCII character (spaces,
    digits, unaccented letters), so at least a quarter of the pairs have one.
    Only named, never decoded on a guess: the user re-saves the file.
    """
    head = data[: sample - sample % 2]
    pairs = len(head) // 2
    if len(data) % 2 or not pairs:
        return None
    for name, codec, high in (("UTF-16 LE", "utf-16-le", 1), ("UTF-16 BE", "utf-16-be", 0)):
        nul_high, nul_low = head[high::2].count(0), head[1 - high :: 2].count(0)
        if nul_high >= pairs / 4 and nul_low == 0:
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                return None
            return name
    return None


def _undecodable(data: bytes, offset: int, name: str, marked: bool) -> str:
    if not marked:
        return f"not UTF-8 (byte {data[offset]:#04x} at offset {offset}); re-save it as UTF-8 (e.g. with iconv)"
    return f"starts with a {name} byte-order mark but is not valid {name} (at byte offset {offset}); re-save it"


def _jsonl_lines(stream: BinaryIO, name: str, max_bytes: int) -> Iterator[InputItem]:
    for number, raw in _bounded_lines(stream, max_bytes):
        source = f"{name}:{number}"
        if number == 1 and raw is not None:
            mark, codec, encoding = _byte_order_mark(raw)
            if codec != "utf-8":  # every line would fail to decode: one error for the file says it better
                yield InputError(name, f"{encoding} text; JSON Lines are read as UTF-8: re-save it as UTF-8")
                return
            raw = raw[len(mark):]
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
