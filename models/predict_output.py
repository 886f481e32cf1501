"""Outputs of ``xdd predict``: JSON Lines, CoNLL and Label Studio, written per batch and resumable.

Formats (one record per document, in input order):

- ``jsonl``: ``{"id", "source", ["meta",] ["text",] "entities", "paragraphs", "topics"}``
  per line; entities carry ``start, end, label, text, score`` on the original
  text, paragraphs ``start, end, topics, scores``; ``topics`` is the union of
  the paragraphs' topics.
- ``conll``: as ``xdd convert --to conll`` writes it: a ``-DOCSTART-<TAB>ID<TAB>O``
  line and a blank line per document, then one ``TOKEN<TAB>TAG`` line per
  syllable token (:mod:`models.syllables`), a blank line after each paragraph.
  A token takes the tag of the entity it overlaps.
- ``labelstudio``: a JSON array of tasks, one task per line, each with
  ``data`` (id, text, meta with the source) and ``predictions`` (entity
  ``labels`` regions with scores, ``paragraph`` regions, per-paragraph topic
  ``choices``) -- the layout ``xdd convert --from labelstudio`` reads back, so
  corrected tasks exported from Label Studio become training data.  The array
  is closed after every batch, so the file is valid JSON whenever no write is
  in progress.

Every batch is written and flushed at once.  :func:`open_writer` with
``resume=True`` keeps the complete records of an existing output, cuts off a
record torn by a crash, and returns the ids already written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from models.align import Word, spans_to_tags
from models.document import Document
from models.labelstudio import document_results
from models.errors import XddError
from models.syllables import syllable_spans

FORMATS = ("jsonl", "conll", "labelstudio")
STDOUT = "-"
DOCSTART = b"-DOCSTART-\t"
Record = tuple[Document, str]  # a predicted document and its source


class Writer:
    """Writes batches of predicted documents to a binary stream, flushing after each batch."""

    def __init__(self, stream: BinaryIO, options: dict[str, Any]) -> None:
        self.stream = stream
        self.options = options

    def write(self, records: Sequence[Record]) -> None:
        self.stream.write("".join(self.render(doc, source) for doc, source in records).encode("utf-8"))
        self.stream.flush()

    def render(self, doc: Document, source: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()
        if self.stream is not sys.stdout.buffer:
            self.stream.close()


class JsonlWriter(Writer):
    def render(self, doc: Document, source: str) -> str:
        record: dict[str, Any] = {"id": doc.id, "source": source}
        if doc.meta:
            record["meta"] = doc.meta
        if self.options.get("include_text"):
            record["text"] = doc.text
        record["entities"] = [e.to_json() for e in doc.entities]
        record["paragraphs"] = [p.to_json() for p in doc.paragraphs]
        record["topics"] = doc.topics
        return json.dumps(record, ensure_ascii=False) + "\n"


class ConllWriter(Writer):
    def render(self, doc: Document, source: str) -> str:
        lines = [f"{DOCSTART.decode()}{doc.id}\tO", ""]
        for paragraph in doc.paragraphs:
            tokens = [Word(s, e, doc.text[s:e]) for s, e in syllable_spans(doc.text, paragraph.start, paragraph.end)]
            inside = [e for e in doc.entities if paragraph.start <= e.start < paragraph.end]
            lines += [f"{t.form}\t{tag}" for t, tag in zip(tokens, spans_to_tags(tokens, inside))]
            lines.append("")
        return "\n".join(lines) + "\n"


class LabelStudioWriter(Writer):
    """A JSON array, one task per line, re-closed with ``]`` after each batch when the stream can seek."""

    CLOSE = b"\n]\n"

    def __init__(self, stream: BinaryIO, options: dict[str, Any], body_end: int | None = None, tasks: int = 0) -> None:
        super().__init__(stream, options)
        self.seekable = stream.seekable()
        if body_end is None:
            stream.write(b"[\n")
            body_end = stream.tell() if self.seekable else 0
        elif self.seekable:
            stream.seek(body_end)
            stream.truncate()
        self.body_end, self.tasks = body_end, tasks
        self._close_array()

    def write(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self.seekable:
            self.stream.seek(self.body_end)
            self.stream.truncate()
        for doc, source in records:
            self.stream.write(((",\n" if self.tasks else "") + self.render(doc, source)).encode("utf-8"))
            self.tasks += 1
        self.body_end = self.stream.tell() if self.seekable else 0
        self._close_array()

    def close(self) -> None:
        if not self.seekable:
            self.stream.write(self.CLOSE)
        super().close()

    def _close_array(self) -> None:
        if self.seekable:
            self.stream.write(self.CLOSE)
        self.stream.flush()

    def render(self, doc: Document, source: str) -> str:
        result = document_results(doc)
        prediction: dict[str, Any] = {"model_version": self.options.get("model_version", "xdd"), "result": result}
        scores = [e.score for e in doc.entities if e.score is not None]
        if scores:
            prediction["score"] = min(scores)  # Label Studio sorts tasks by it: least confident first
        data = {"id": doc.id, "text": doc.text, "meta": {**doc.meta, "source": source}}
        task = {"data": data, "predictions": [prediction]}
        return json.dumps(task, ensure_ascii=False)


WRITERS: dict[str, type[Writer]] = {"jsonl": JsonlWriter, "conll": ConllWriter, "labelstudio": LabelStudioWriter}


# --- opening and resuming ------------------------------------------------------


def open_writer(
    path: str | Path, fmt: str, *, resume: bool = False, overwrite: bool = False, **options: Any
) -> tuple[Writer, set[str]]:
    """A writer for ``path`` (``"-"``: standard output) and the ids already in it (with ``resume``).

    Without ``resume`` or ``overwrite`` an existing file is an error, so a
    finished run is never clobbered by accident.
    """
    if fmt not in WRITERS:
        raise XddError(f"output format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if str(path) == STDOUT:
        if resume:
            raise XddError("--resume needs an output file; it cannot resume standard output")
        return WRITERS[fmt](sys.stdout.buffer, options), set()
    path = Path(path)
    if path.exists() and not (resume or overwrite):
        raise XddError(f"{path}: already exists; pass --resume to continue it or --overwrite to replace it")
    if not (resume and path.exists() and path.stat().st_size):
        path.parent.mkdir(parents=True, exist_ok=True)
        return WRITERS[fmt](path.open("w+b"), options), set()
    stream = path.open("r+b")
    if fmt == "labelstudio":
        body_end, ids = _scan_labelstudio(stream, path)
        return LabelStudioWriter(stream, options, body_end, len(ids)), set(ids)
    keep, ids = (_scan_jsonl if fmt == "jsonl" else _scan_conll)(stream, path)
    stream.seek(keep)
    stream.truncate()
    return WRITERS[fmt](stream, options), set(ids)


def _scan_jsonl(stream: BinaryIO, path: Path) -> tuple[int, list[str]]:
    """Bytes of the complete lines and their ids; what follows the last newline is a torn record."""
    ids, keep = [], 0
    for number, line in enumerate(stream.read().split(b"\n")[:-1], start=1):
        record = _json_object(line)
        if record is None or not isinstance(record.get("id"), str):
            raise _not_ours(path, number)
        ids.append(record["id"])
        keep += len(line) + 1
    return keep, ids


def _scan_conll(stream: BinaryIO, path: Path) -> tuple[int, list[str]]:
    """Bytes up to the last ``-DOCSTART-`` line and the ids before it: the last document is always redone."""
    data = stream.read()
    if DOCSTART.startswith(data):  # empty, or torn inside the first marker
        return 0, []
    if not data.startswith(DOCSTART):
        raise _not_ours(path, 1)
    starts = [0]
    at = data.find(b"\n" + DOCSTART)
    while at != -1:
        starts.append(at + 1)
        at = data.find(b"\n" + DOCSTART, at + 1)
    ids = [data[s + len(DOCSTART):data.index(b"\t", s + len(DOCSTART))].decode("utf-8") for s in starts[:-1]]
    return starts[-1], ids


def _scan_labelstudio(stream: BinaryIO, path: Path) -> tuple[int | None, list[str]]:
    """Where the last complete task ends and the tasks' ids; the array is re-closed after it.

    None: not even the opening ``[`` line is complete; the file is started afresh.
    """
    data = stream.read()
    if b"[\n".startswith(data):
        stream.seek(0)
        stream.truncate()
        return None, []
    if not data.startswith(b"[\n"):
        raise _not_ours(path, 1)
    ids, body_end, pos = [], 2, 2
    lines = data[2:].split(b"\n")
    for number, line in enumerate(lines, start=2):
        task_id = _task_id(line)
        if task_id is None:
            if any(_task_id(rest) is not None for rest in lines[number - 1:]):
                raise _not_ours(path, number)
            break
        ids.append(task_id)
        body_end = pos + len(line.removesuffix(b","))
        pos += len(line) + 1
    return body_end, ids


def _task_id(line: bytes) -> str | None:
    """The ``data.id`` of a task line (``{...}`` with or without its separating comma), or None."""
    task = _json_object(line.removeprefix(b",").removesuffix(b","))
    data = task.get("data") if task else None
    return data["id"] if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _not_ours(path: Path, line: int) -> XddError:
    return XddError(
        f"{path}:{line}: not a complete record of this output format, so this file was not written by "
        "`xdd predict` in this format (or was edited); refusing to resume it: use --overwrite or another --output"
    )
