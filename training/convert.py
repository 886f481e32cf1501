"""Convert corpora between our JSONL and CoNLL, doccano and Label Studio (see docs/formats.md).

Every conversion goes through :class:`~xdd.models.document.Document`: read the
input into documents, check their structure, write them in the target format.
Whatever the target cannot express comes back as warnings; nothing is left
out silently.  Converting into our JSONL from a corpus whose labels are not
the party-building ones also declares them in a ``labels.json`` beside the
output, so that ``xdd validate`` of the result passes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from xdd.models.document import Document
from xdd.models.document.corpus import (
    atomic_write_text,
    read_documents,
    record_problems,
)
from xdd.models.document.labels import LABELS_FILE, PARTY_BUILDING, LabelScheme, scheme_for
from xdd.models.errors import CorpusError
from xdd.training.convert_common import FORMATS, Imported
from xdd.training.convert_conll import dump_conll, read_conll
from xdd.training.convert_doccano import dump_doccano, read_doccano
from xdd.training.convert_labelstudio import dump_labelstudio, read_labelstudio

STDOUT = "-"


def _read_jsonl(path: Path) -> Imported:
    return Imported(documents=read_documents(path))


def _dump_jsonl(docs: list[Document]) -> tuple[str, list[str]]:
    return "".join(doc.to_jsonl_line() + "\n" for doc in docs), []


WRITERS: dict[str, Callable[[list[Document]], tuple[str, list[str]]]] = {
    "jsonl": _dump_jsonl,
    "conll": dump_conll,
    "doccano": dump_doccano,
    "labelstudio": dump_labelstudio,
}


@dataclass
class ConversionReport:
    """What a conversion did: documents written, warnings (what was not expressible), a labels file written."""

    documents: int
    warnings: list[str] = field(default_factory=list)
    labels_file: Path | None = None


def convert(
    source: str | Path, target: str | Path, from_format: str, to_format: str, *, tag_column: int = -1
) -> ConversionReport:
    """Convert ``source`` (``from_format``) into ``target`` (``to_format``; ``"-"`` is standard output).

    ``tag_column`` picks the CoNLL tag column (default: the last).  Raises
    :class:`CorpusError` when the input cannot be read or holds structurally
    bad records; the target is then left untouched.
    """
    for fmt in (from_format, to_format):
        if fmt not in FORMATS:
            raise CorpusError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    readers: dict[str, Callable[[Path], Imported]] = {
        "jsonl": _read_jsonl,
        "conll": partial(read_conll, tag_column=tag_column),
        "doccano": read_doccano,
        "labelstudio": read_labelstudio,
    }
    imported = readers[from_format](Path(source))
    _check_structure(imported)
    docs = imported.documents
    labels = _labels_to_declare(docs, target) if to_format == "jsonl" and str(target) != STDOUT else None
    text, warnings = WRITERS[to_format](docs)
    if str(target) == STDOUT:
        sys.stdout.write(text)
    else:
        atomic_write_text(target, text)
    labels_file = None
    if labels is not None:
        labels_file = Path(target).parent / LABELS_FILE
        atomic_write_text(labels_file, json.dumps(labels.to_json(), ensure_ascii=False, indent=2) + "\n")
    return ConversionReport(len(docs), imported.warnings + warnings, labels_file)


def _check_structure(imported: Imported) -> None:
    """Refuse imported documents that break the record format (offsets outside the text, empty labels...)."""
    problems = [
        f"{place}: id={doc.id}: {problem}"
        for doc, place in zip(imported.documents, imported.places)
        for problem in record_problems(doc.to_json())
    ]
    if problems:
        raise CorpusError("\n".join(problems + [f"{len(problems)} problem(s) in the input; nothing was written"]))


def _labels_to_declare(docs: list[Document], target: str | Path) -> LabelScheme | None:
    """The scheme to write beside ``target``, or ``None`` when the labels in force already cover the corpus.

    Raises :class:`CorpusError` when a ``labels.json`` already there does not
    declare every label the corpus uses: we never overwrite a declaration.
    """
    entities = sorted({e.label for d in docs for e in d.entities})
    topics = sorted({t for d in docs for p in d.paragraphs for t in p.topics})
    declared_file = Path(target).parent / LABELS_FILE
    declared = scheme_for(target) if declared_file.is_file() else PARTY_BUILDING
    missing = [x for x in entities if x not in declared.entities] + [t for t in topics if t not in declared.topics]
    if not missing:
        return None
    if declared_file.is_file():
        raise CorpusError(
            f"{declared_file} does not declare {', '.join(missing)}, used in the input; "
            "add them to it or write the output to another folder"
        )
    return LabelScheme(tuple(entities), tuple(topics))
