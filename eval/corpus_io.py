"""Read a gold corpus and its label scheme for the evaluation commands.

Documents come from :func:`xdd.models.document.corpus.read_documents` (structural checks,
``PATH:LINE: id=ID: problem`` errors); the scheme from ``labels.json`` beside
the corpus, or the party-building scheme.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xdd.eval.ner_metrics import describe, overlapping_entities
from xdd.models.document import Document
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import LabelScheme, scheme_for
from xdd.models.errors import EvaluationError


def load_gold(path: str | Path) -> tuple[list[Document], LabelScheme]:
    """The documents of a gold JSONL file or directory, and the label scheme they are scored with."""
    return read_documents(path), scheme_for(path)


def load_predictions(
    path: str | Path, gold: list[Document], warn: Callable[[str], None] | None = None
) -> list[Document]:
    """Predicted documents in our JSONL format, ``xdd predict`` output included.

    ``xdd predict`` writes ``source`` (kept in ``meta``) and the document's
    ``topics`` (the union of its paragraphs' topics, dropped here), and leaves
    out ``text`` unless asked: a missing text is the gold document's with the
    same id, so the offsets are checked against it.

    A file from another system may hold overlapping entities, which scoring
    drops (``xdd.eval.ner_metrics``); ``warn`` (default: standard error) is told
    which, so that the user learns about them before reading the figures.
    """
    texts = {doc.id: doc.text for doc in gold}

    def prepare(record: dict[str, Any]) -> dict[str, Any]:
        record = dict(record)
        record.pop("topics", None)
        source = record.pop("source", None)
        if source is not None:
            meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
            record["meta"] = {**meta, "source": source}
        if "text" not in record:
            if record.get("id") not in texts:
                raise EvaluationError(
                    f"{path}: a prediction for document id {record.get('id')!r}, which is not in the gold corpus; "
                    "predictions are paired with gold documents by id: give with --data the gold they were made from"
                )
            record["text"] = texts[record["id"]]
        return record

    docs = read_documents(path, prepare)
    for line in overlap_warnings(path, docs):
        (warn or _to_stderr)(line)
    return docs


def overlap_warnings(path: str | Path, docs: list[Document], limit: int = 20) -> list[str]:
    """One ``warning:`` line per overlapping predicted entity left out of the scores (at most ``limit``).

    It names the document and both entities so the user can find the record;
    beyond ``limit`` one line gives the total, so a file with systematic
    overlaps does not flood the terminal.
    """
    found = [(doc, kept, dropped) for doc in docs for kept, dropped in overlapping_entities(doc)]
    lines = [
        f"warning: {path}: document {doc.id!r}: predicted entities {describe(kept, doc.text)} and "
        f"{describe(dropped, doc.text)} overlap; scoring the first and leaving out the second "
        "(counted in ner.alignment.pred.overlapping_dropped)"
        for doc, kept, dropped in found[:limit]
    ]
    if len(found) > limit:
        lines.append(f"warning: {path}: {len(found) - limit} more overlapping predicted entities left out")
    return lines


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)
