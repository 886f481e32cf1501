"""Reading and writing corpora of :class:`~xdd.models.document.Document` (JSON Lines).

A corpus is one ``.jsonl`` file or a directory of them (all ``*.jsonl`` below
it, recursively, in sorted order).  Every line is one record in the format of
``shared/annotation-scheme.md``; blank lines are skipped.

Reading checks each record's *structure* (JSON, keys, types, offsets inside
the text) because a document with a string offset or a span past the end of
its text would crash training or scoring far from the cause.  The *content*
checks (overlaps, span edges, labels, paragraphs, NFC, duplicate ids) live in
``xdd.training.validate``, which reuses :func:`iter_records` and
:func:`record_problems` so that no check is written twice.

Writing is canonical (``Document.to_jsonl_line()`` + ``"\\n"``) and atomic, so
loading and saving a canonical file is byte-identical and a failure half-way
leaves the old file intact.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from xdd.models.document import Document
from xdd.models.checks import is_int
from xdd.models.errors import CorpusError

RECORD_KEYS = {"id": str, "meta": dict, "text": str, "entities": list, "paragraphs": list}
OPTIONAL_RECORD_KEYS = {"meta"}
ENTITY_KEYS = {"start": int, "end": int, "label": str, "text": str, "score": float}
OPTIONAL_ENTITY_KEYS = {"text", "score"}
PARAGRAPH_KEYS = {"start": int, "end": int, "topics": list, "scores": dict}
OPTIONAL_PARAGRAPH_KEYS = {"scores"}

_ID_IN_BROKEN_LINE = re.compile(r'"id"\s*:\s*"([^"\\]{1,200})"')
# A byte order mark is skipped at the start of a file only; further down, it is
# nearly always the start of another file pasted in (``cat a.jsonl b.jsonl``).
_MID_FILE_BOM = (
    "the line starts with a byte order mark (U+FEFF), which belongs only at the start of a file "
    "(were files concatenated?); delete it"
)


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus, located as ``PATH:LINE: id=ID: problem``.

    ``line`` is ``None`` for a problem of the whole file (``PATH: problem``).  A
    ``"warning"`` is reported but does not stop training; it reads
    ``PATH:LINE: id=ID: warning: problem``, as compilers write theirs.
    """

    path: str
    line: int | None
    doc_id: str | None
    message: str
    severity: Severity = "error"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}: id={self.doc_id if self.doc_id is not None else '?'}"
        return f"{where}: {'warning: ' if self.is_warning else ''}{self.message}"


@dataclass
class Record:
    """One non-blank line of a corpus file: its parsed JSON (``None`` if invalid) and structural problems."""

    path: Path
    line: int
    data: Any
    problems: list[Problem] = field(default_factory=list)

    @property
    def doc_id(self) -> str | None:
        if isinstance(self.data, dict) and isinstance(self.data.get("id"), str):
            return self.data["id"]
        return None


def jsonl_files(path: str | Path) -> list[Path]:
    """The corpus files named by ``path``: the file itself, or every ``*.jsonl`` below a directory, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        if not files:
            raise CorpusError(f"{path}: no *.jsonl files in this directory (or below it)")
        return files
    raise CorpusError(f"{path}: no such file or directory")


Prepare = Callable[[dict[str, Any]], dict[str, Any]]


def iter_records(path: str | Path, prepare: Prepare | None = None) -> Iterator[Record]:
    """Every record of a corpus file or directory, parsed and structurally checked, lazily.

    ``prepare`` rewrites each parsed JSON object before the check (e.g. to read
    ``xdd predict`` output, which has extra keys and may leave out the text).
    A UTF-8 byte order mark at the start of a file (Windows editors write one)
    is skipped, as ``utf-8-sig`` does: it precedes the JSON, so no offset into
    a record's ``text`` moves.
    """
    for file in jsonl_files(path):
        try:
            handle = open(file, "rb")
        except OSError as err:
            raise CorpusError(f"{file}: cannot read: {err.strerror}") from err
        with handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if raw.strip():
                    yield _parse_line(file, number, raw, prepare)


def _parse_line(file: Path, number: int, raw: bytes, prepare: Prepare | None = None) -> Record:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = f"not valid UTF-8 (byte {raw[err.start]:#04x} at column {err.start + 1}); re-save the file as UTF-8"
        return Record(file, number, None, [Problem(str(file), number, None, problem)])
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        guess = _ID_IN_BROKEN_LINE.search(line)
        problem = _MID_FILE_BOM if line.startswith("\ufeff") else f"invalid JSON: {err.msg} at column {err.colno}"
        return Record(file, number, None, [Problem(str(file), number, guess and guess.group(1), problem)])
    if prepare is not None and isinstance(data, dict):
        data = prepare(data)
    record = Record(file, number, data)
    record.problems = [Problem(str(file), number, record.doc_id, p) for p in record_problems(data)]
    return record


def read_documents(path: str | Path, prepare: Prepare | None = None) -> list[Document]:
    """All documents of a ``.jsonl`` file or a directory of them.

    Raises :class:`CorpusError` listing every structural problem of every
    record, one ``PATH:LINE: id=ID: problem`` per line.
    """
    records = list(iter_records(path, prepare))
    problems = [str(p) for record in records for p in record.problems]
    if problems:
        raise CorpusError("\n".join(problems + [f"{len(problems)} problem(s); fix them and read again"]))
    return [Document.from_json(record.data) for record in records]


def write_documents(path: str | Path, docs: Iterable[Document]) -> None:
    """Write canonical JSONL lines atomically: the old file stays whole if anything fails."""
    with atomic_writer(path) as handle:
        for doc in docs:
            handle.write(doc.to_jsonl_line() + "\n")


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """``with atomic_writer(path) as f:`` writes a temporary file beside ``path``, moved in place on success.

    The result keeps the mode of the file it replaces (or the umask's default),
    not the private mode of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.chmod(temp, _target_mode(path))
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    with atomic_writer(path) as handle:
        handle.write(text)


def _target_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# --- structural checks ---------------------------------------------------


def record_problems(record: object) -> list[str]:
    """What is structurally wrong with one parsed record (messages without location).

    Structure means: an object with the scheme's keys and types, entity and
    paragraph offsets that are integers with ``0 <= start < end <= len(text)``.
    """
    if not isinstance(record, dict):
        return [f"a record must be a JSON object, got {_json_type(record)}"]
    problems = _key_problems("record", record, RECORD_KEYS, OPTIONAL_RECORD_KEYS)
    if isinstance(record.get("id"), str) and not record["id"]:
        problems.append("'id' is empty; give every document a unique non-empty id")
    text = record.get("text")
    text_length = len(text) if isinstance(text, str) else None
    for name, keys, optional in (
        ("entities", ENTITY_KEYS, OPTIONAL_ENTITY_KEYS),
        ("paragraphs", PARAGRAPH_KEYS, OPTIONAL_PARAGRAPH_KEYS),
    ):
        items = record.get(name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                problems += _item_problems(f"{name}[{index}]", item, keys, optional, text_length)
    return problems


def _item_problems(
    where: str, item: object, keys: dict[str, type], optional: set[str], text_length: int | None
) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where} must be a JSON object, got {_json_type(item)}"]
    problems = _key_problems(where, item, keys, optional)
    if "label" in item and isinstance(item["label"], str) and not item["label"]:
        problems.append(f"{where}: 'label' is empty")
    if isinstance(item.get("topics"), list) and not all(isinstance(t, str) and t for t in item["topics"]):
        problems.append(f"{where}: 'topics' must be a list of non-empty strings")
    scores = item.get("scores")
    if isinstance(scores, dict) and not all(_is_number(v) for v in scores.values()):
        problems.append(f"{where}: 'scores' must map topics to numbers")
    start, end = item.get("start"), item.get("end")
    if is_int(start) and is_int(end) and text_length is not None:
        problems += _offset_problems(where, start, end, text_length)
    return problems


def _offset_problems(where: str, start: int, end: int, text_length: int) -> list[str]:
    if start > end:
        return [f"{where}: start {start} > end {end} (reversed offsets)"]
    if start == end:
        return [f"{where}: empty span (start == end == {start})"]
    if start < 0:
        return [f"{where}: start {start} is negative"]
    if end > text_length:
        return [f"{where}: end {end} is past the end of the text ({text_length} characters)"]
    return []


def _key_problems(where: str, obj: dict, keys: dict[str, type], optional: set[str]) -> list[str]:
    problems = []
    for key in [k for k in obj if k not in keys]:
        hint = difflib.get_close_matches(key, keys, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; allowed: {', '.join(keys)}"
        problems.append(f"{where}: unknown key '{key}'{suggestion}")
    for key, expected in keys.items():
        if key not in obj:
            if key not in optional:
                problems.append(f"{where}: missing key '{key}'")
        elif not _has_type(obj[key], expected):
            value = json.dumps(obj[key], ensure_ascii=False)[:40]
            problems.append(f"{where}: '{key}' must be {_TYPE_NAMES[expected]}, got {_json_type(obj[key])} {value}")
    return problems


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object"}


def _has_type(value: object, expected: type) -> bool:
    if expected is int:
        return is_int(value)
    if expected is float:
        return _is_number(value)
    return isinstance(value, expected)



def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
