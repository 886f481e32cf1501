"""``xdd corpus add``: bring annotated documents back into a corpus folder, all of them or none.

The input is a Label Studio export (or any format ``xdd convert`` reads).
Every document is checked as ``xdd validate`` checks the corpus
(:func:`xdd.training.validate.check_corpus`, with the corpus's label scheme,
against the corpus's own files so that an id already used there is caught),
and a document whose normalised text (:func:`text_key`) is already in the
corpus, or earlier in the input, is refused as a duplicate.  A Label Studio
task without a submitted annotation is refused too: its prediction was never
reviewed, and the reader would otherwise import the model's guess as gold.

Nothing in the corpus folder changes unless every document is accepted
(``skip_invalid`` adds the accepted ones and reports the rest).  The
documents go into one new JSONL file in the folder, written atomically
(:func:`xdd.models.document.corpus.write_documents`), never over an existing
one.  Model scores are dropped: a gold corpus holds none.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xdd.models.document import Document
from xdd.models.document.corpus import iter_records, jsonl_files, write_documents
from xdd.models.document.labels import LabelScheme, scheme_for
from xdd.models.errors import CorpusError
from xdd.training.convert_common import FORMATS, Imported
from xdd.training.convert_conll import read_conll
from xdd.training.convert_doccano import read_doccano
from xdd.training.convert_labelstudio import read_labelstudio
from xdd.training.validate import check_corpus

_SPACES = re.compile(r"\s+")
_PLACE_TASK = re.compile(r":task (\d+)$")


def normalised_text(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, trimmed, lower-cased: the same article however it was saved."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()


def text_key(text: str) -> str:
    """A hash of :func:`normalised_text`, to find an article already annotated (or offered twice)."""
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()


@dataclass
class Candidate:
    """One record of the input: the document read from it (None if unreadable), where it is, what is wrong."""

    doc: Document | None
    place: str  # "EXPORT:task 3 (Label Studio task 17)", "EXPORT:12"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self, message: str) -> str:
        """``PLACE: id=ID: message``, as ``xdd validate`` locates a problem."""
        return f"{self.place}: id={self.doc.id if self.doc else '?'}: {message}"


@dataclass
class AddReport:
    """What ``xdd corpus add`` did: the file written (None: nothing), what was added, refused, and warned about."""

    written: Path | None
    added: list[Candidate]
    refused: list[Candidate]
    warnings: list[str] = field(default_factory=list)


def add_to_corpus(
    export: str | Path,
    corpus: str | Path,
    fmt: str = "labelstudio",
    *,
    skip_invalid: bool = False,
    name: str | None = None,
    now: datetime.datetime | None = None,
) -> AddReport:
    """Check every document of ``export`` against ``corpus`` and write them to a new file there, or write nothing.

    Raises :class:`CorpusError` when the input cannot be read at all, the
    corpus folder is missing, or the target file exists.
    """
    corpus = _corpus_folder(corpus)
    target = corpus / output_name(name, now)
    if target.exists():
        raise CorpusError(f"{target} already exists; choose another --name (nothing was written)")
    candidates, warnings = read_candidates(Path(export), fmt)
    check_candidates(candidates, corpus, scheme_for(corpus))
    refused = [c for c in candidates if c.problems]
    added = [c for c in candidates if not c.problems]
    written = None
    if added and (skip_invalid or not refused):
        write_documents(target, [_without_scores(c.doc) for c in added if c.doc is not None])
        written = target
    warnings += [c.describe(w) for c in candidates for w in c.warnings]
    return AddReport(written, added if written else [], refused, warnings)


def output_name(name: str | None, now: datetime.datetime | None = None) -> str:
    """``NAME.jsonl`` (a bare file name), or ``added-YYYYMMDD-HHMMSS.jsonl`` for the time of the run."""
    if name is None:
        return f"added-{(now or datetime.datetime.now()).strftime('%Y%m%d-%H%M%S')}.jsonl"
    if not name or Path(name).name != name or name in (".", ".."):
        raise CorpusError(f"--name {name!r}: give a file name without folders; it is written in the corpus folder")
    return name if name.endswith(".jsonl") else f"{name}.jsonl"


def _corpus_folder(corpus: str | Path) -> Path:
    corpus = Path(corpus)
    if not corpus.is_dir():
        what = "is a file" if corpus.exists() else "does not exist"
        raise CorpusError(f"{corpus} {what}; --to is a corpus folder (create it first for a new corpus)")
    return corpus


# --- reading the input ------------------------------------------------------


def read_candidates(path: Path, fmt: str) -> tuple[list[Candidate], list[str]]:
    """The records of ``path`` in format ``fmt``, each with the problems found while reading it; and warnings."""
    if fmt not in FORMATS:
        raise CorpusError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not path.exists():
        raise CorpusError(f"{path}: no such file or folder")
    if fmt == "jsonl":
        return _jsonl_candidates(path), []
    readers: dict[str, Callable[[Path], Imported]] = {
        "conll": read_conll, "doccano": read_doccano, "labelstudio": read_labelstudio,
    }  # fmt: skip
    imported = readers[fmt](path)
    candidates = [Candidate(doc, place) for doc, place in zip(imported.documents, imported.places, strict=True)]
    if fmt == "labelstudio":
        _check_reviewed(candidates, _raw_tasks(path))
    return candidates, imported.warnings


def _jsonl_candidates(path: Path) -> list[Candidate]:
    """Our JSONL, record by record: a structurally broken record is refused alone, not the whole file."""
    candidates = []
    for record in iter_records(path):
        place = f"{record.path}:{record.line}"
        if record.problems:
            candidates.append(Candidate(None, place, [p.message for p in record.problems]))
        else:
            candidates.append(Candidate(Document.from_json(record.data), place))
    return candidates


def _raw_tasks(path: Path) -> list:
    """The task array as stored (``read_labelstudio`` has already refused a file that is not one)."""
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _check_reviewed(candidates: list[Candidate], tasks: list) -> None:
    """Name each task by its Label Studio id too, and refuse those no annotator submitted."""
    for candidate in candidates:
        number = int(_PLACE_TASK.search(candidate.place).group(1))  # type: ignore[union-attr]
        task = tasks[number - 1]
        if "id" in task:
            candidate.place += f" (Label Studio task {task['id']})"
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        if not annotations:
            candidate.problems.append(
                "no submitted annotation (only a model prediction, or skipped): a prediction is not gold; "
                "annotate the task in Label Studio or leave it out"
            )


# --- checking it against the corpus -----------------------------------------


def check_candidates(candidates: list[Candidate], corpus: Path, scheme: LabelScheme) -> None:
    """Add to each candidate its validation problems and warnings, and its duplicates of the corpus or the input."""
    _validate_against_corpus([c for c in candidates if c.doc is not None], corpus, scheme)
    _duplicate_texts(candidates, corpus)


def _validate_against_corpus(candidates: list[Candidate], corpus: Path, scheme: LabelScheme) -> None:
    """``xdd validate`` of the candidates written after the corpus's files, outside the corpus folder.

    Line ``i`` of the temporary file is candidate ``i``, so each problem goes
    back to its record; checking it together with the corpus files reports an
    id the corpus already uses as a duplicate.
    """
    if not candidates:
        return
    with tempfile.TemporaryDirectory(prefix="xdd-corpus-add-") as folder:
        staged = Path(folder) / "added.jsonl"
        write_documents(staged, [c.doc for c in candidates if c.doc is not None])
        roots: list[Path] = [corpus, staged] if _has_files(corpus) else [staged]
        for problem in check_corpus(roots, scheme):
            if Path(problem.path) != staged or problem.line is None:
                continue  # the corpus's own problems are not this command's business
            candidate = candidates[problem.line - 1]
            (candidate.warnings if problem.is_warning else candidate.problems).append(problem.message)


def _has_files(corpus: Path) -> bool:
    try:
        return bool(jsonl_files(corpus))
    except CorpusError:
        return False


def _duplicate_texts(candidates: list[Candidate], corpus: Path) -> None:
    """Refuse an article whose normalised text is in the corpus, or earlier in the input."""
    seen = _corpus_texts(corpus)
    for candidate in candidates:
        if candidate.doc is None:
            continue
        key = text_key(candidate.doc.text)
        if key in seen:
            candidate.problems.append(f"the same text (normalised) as {seen[key]}: already annotated")
        else:
            seen[key] = f"{candidate.place} (id {candidate.doc.id}, earlier in this input)"


def _corpus_texts(corpus: Path) -> dict[str, str]:
    """Normalised-text hash → ``PATH:LINE (id ID)`` of every readable record of the corpus."""
    if not _has_files(corpus):
        return {}
    texts = {}
    for record in iter_records(corpus):
        if isinstance(record.data, dict) and isinstance(record.data.get("text"), str):
            texts.setdefault(text_key(record.data["text"]), f"{record.path}:{record.line} (id {record.doc_id})")
    return texts


def _without_scores(doc: Document) -> Document:
    """The document as gold: model scores (carried over from a prediction) removed."""
    for entity in doc.entities:
        entity.score = None
    for paragraph in doc.paragraphs:
        paragraph.scores = None
    return doc
