"""Outputs of ``xdd predict``: JSON Lines, CoNLL and Label Studio, written per batch and resumable.

Formats (one record per document, in input order):

- ``jsonl``: ``{"id", "source", ["meta",] ["text",] "entities", "paragraphs", "topics"}``
  per line; entities carry ``start, end, label, text, score`` on the original
  text, paragraphs ``start, end, topics, scores``; ``topics`` is the union of
  the paragraphs' topics.
- ``conll``: :mod:`xdd.models.formats.conll`, the writer of ``xdd convert --to
  conll``: a ``-DOCSTART-<TAB>ID<TAB>O`` line and a blank line per document,
  then one ``TOKEN<TAB>TAG`` line per syllable token, a blank line after each
  paragraph.  An entity whose edges fall inside a token is not written, and
  ``xdd predict`` says so (the writer's ``warnings``).
- ``labelstudio``: a JSON array of tasks, one task per line, each with
  ``data`` (id, text, meta with the source) and ``predictions`` (entity
  ``labels`` regions with scores, ``paragraph`` regions, per-paragraph topic
  ``choices``) -- the layout ``xdd convert --from labelstudio`` reads back, so
  corrected tasks exported from Label Studio become training data.  The array
  is closed after every batch, so the file is valid JSON whenever no write is
  in progress.

Every batch is written and flushed at once.  The output file is opened (and
its folder created) at the first batch, so a run with nothing to write creates
no file and leaves an existing one as it was.  :func:`open_writer` with
``resume=True`` keeps the complete records of an existing output, cuts off a
record torn by a crash, and returns the ids already written.
:func:`check_writable` refuses, before any input is read, an output that
cannot be created.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from xdd.models.document import Document
from xdd.models.errors import XddError
from xdd.models.formats.conll import DOCSTART as CONLL_DOCSTART
from xdd.models.formats.conll import conll_document
from xdd.models.formats.labelstudio import document_results

FORMATS = ("jsonl", "conll", "labelstudio")
STDOUT = "-"
DOCSTART = f"{CONLL_DOCSTART}\t".encode()
PredictedRecord = tuple[Document, str]  # a predicted document and its source


@dataclass(frozen=True)
class Resumed:
    """What an existing output keeps when it is resumed: its first ``keep`` bytes, holding the records of ``ids``."""

    keep: int
    ids: list[str] = field(default_factory=list)


class Writer:
    """Writes batches of predicted documents to a binary stream, flushing after each batch.

    The stream is opened by ``opener`` at the first batch (:meth:`start`),
    and a resumed file is cut to the records it keeps only then: a run with
    nothing to write leaves no empty file behind and an existing one intact.
    """

    def __init__(self, opener: Callable[[], BinaryIO], options: dict[str, Any], resumed: Resumed | None = None) -> None:
        self.opener = opener
        self.options = options
        self.resumed = resumed
        self.stream: BinaryIO | None = None

    @property
    def started(self) -> bool:
        return self.stream is not None

    def start(self) -> BinaryIO:
        """The output stream, opened on the first call; a resumed file is cut after its complete records."""
        if self.stream is None:
            self.stream = self.opener()
            self.begin(self.stream)
        return self.stream

    def begin(self, stream: BinaryIO) -> None:
        if self.resumed is not None:
            stream.seek(self.resumed.keep)
            stream.truncate()

    def write(self, records: Sequence[PredictedRecord]) -> None:
        if not records:
            return
        stream = self.start()
        stream.write("".join(self.render(doc, source) for doc, source in records).encode("utf-8"))
        stream.flush()

    def render(self, doc: Document, source: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        if self.stream is None:
            return
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
    """:func:`xdd.models.formats.conll.conll_document`; entities CoNLL cannot hold are kept in ``warnings``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = []

    def render(self, doc: Document, source: str) -> str:
        text, warnings = conll_document(doc)
        self.warnings += warnings
        return text


class LabelStudioWriter(Writer):
    """A JSON array, one task per line, re-closed with ``]`` after each batch when the stream can seek."""

    CLOSE = b"\n]\n"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks = len(self.resumed.ids) if self.resumed else 0
        self.seekable, self.body_end = False, 0

    def begin(self, stream: BinaryIO) -> None:
        super().begin(stream)
        self.seekable = stream.seekable()
        if not self.resumed or not self.resumed.keep:  # a new file, or one torn before its "[" line was complete
            stream.write(b"[\n")
        self.body_end = stream.tell() if self.seekable else 0
        self._close_array()

    def write(self, records: Sequence[PredictedRecord]) -> None:
        if not records:
            return
        stream = self.start()
        if self.seekable:
            stream.seek(self.body_end)
            stream.truncate()
        for doc, source in records:
            stream.write(((",\n" if self.tasks else "") + self.render(doc, source)).encode("utf-8"))
            self.tasks += 1
        self.body_end = stream.tell() if self.seekable else 0
        self._close_array()

    def close(self) -> None:
        if self.stream is not None and not self.seekable:
            self.stream.write(self.CLOSE)
        super().close()

    def _close_array(self) -> None:
        assert self.stream is not None
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
    finished run is never clobbered by accident.  Only reads ``path``: the
    writer opens it for writing at its first batch.
    """
    if fmt not in WRITERS:
        raise XddError(f"output format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if str(path) == STDOUT:
        if resume:
            raise XddError("--resume needs an output file; it cannot resume standard output")
        writer = WRITERS[fmt](lambda: sys.stdout.buffer, options)
        writer.start()  # standard output exists anyway: an empty Label Studio run still prints its array
        return writer, set()
    path = Path(path)
    if path.exists() and not (resume or overwrite):
        raise XddError(f"{path}: already exists; pass --resume to continue it or --overwrite to replace it")
    if not (resume and path.is_file() and path.stat().st_size):
        return WRITERS[fmt](partial(open_for_writing, path), options), set()
    resumed = SCANNERS[fmt](path.read_bytes(), path)
    return WRITERS[fmt](partial(open_for_writing, path, "r+b"), options, resumed), set(resumed.ids)


def open_for_writing(path: Path, mode: str = "w+b") -> BinaryIO:
    """``path`` opened in binary ``mode``, its folder created; an ``OSError`` becomes one line naming the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open(mode)  # type: ignore[return-value]
    except OSError as err:
        raise XddError(f"{path}: cannot write it: {err.strerror or err}") from err


def check_writable(path: Path, what: str) -> None:
    """Refuse an output that cannot be written, naming it, before any input is read and without creating it.

    ``what`` names the option (``--output``).  Checked: not a folder, no file
    where its folder should be, and write permission on the file or on the
    nearest folder that exists (where the missing ones would be created).
    """
    if path.is_dir():
        raise XddError(f"{what} {path} is a folder; give a file name")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise XddError(f"{what} {path}: cannot write it (permission denied: a read-only file)")
        return
    folder = next(parent for parent in (path.parent, *path.parent.parents) if parent.exists())
    if not folder.is_dir():
        raise XddError(f"{what} {path}: cannot create its folder, {folder} is a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise XddError(f"{what} {path}: cannot create it, the folder {folder} is not writable (permission denied)")


def _scan_jsonl(data: bytes, path: Path) -> Resumed:
    """Bytes of the complete lines and their ids; what follows the last newline is a torn record."""
    ids, keep = [], 0
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        record = _json_object(line)
        if record is None or not isinstance(record.get("id"), str):
            raise _not_ours(path, number)
        ids.append(record["id"])
        keep += len(line) + 1
    return Resumed(keep, ids)


def _scan_conll(data: bytes, path: Path) -> Resumed:
    """Bytes up to the last ``-DOCSTART-`` line and the ids before it: the last document is always redone."""
    if DOCSTART.startswith(data):  # empty, or torn inside the first marker
        return Resumed(0)
    if not data.startswith(DOCSTART):
        raise _not_ours(path, 1)
    starts = [0]
    at = data.find(b"\n" + DOCSTART)
    while at != -1:
        starts.append(at + 1)
        at = data.find(b"\n" + DOCSTART, at + 1)
    ids = [data[s + len(DOCSTART):data.index(b"\t", s + len(DOCSTART))].decode("utf-8") for s in starts[:-1]]
    return Resumed(starts[-1], ids)


def _scan_labelstudio(data: bytes, path: Path) -> Resumed:
    """Where the last complete task ends and the tasks' ids; the array is re-closed after it.

    Keeping 0 bytes: not even the opening ``[`` line is complete; the file is started afresh.
    """
    if b"[\n".startswith(data):
        return Resumed(0)
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
    return Resumed(body_end, ids)


SCANNERS: dict[str, Callable[[bytes, Path], Resumed]] = {
    "jsonl": _scan_jsonl, "conll": _scan_conll, "labelstudio": _scan_labelstudio,
}  # fmt: skip


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
