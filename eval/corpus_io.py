"""Read a gold corpus and its label scheme for the evaluation commands.

Documents come from :func:`models.corpus.read_documents` (structural checks,
``PATH:LINE: id=ID: problem`` errors); the scheme from ``labels.json`` beside
the corpus, or the party-building scheme.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.corpus import corpus_scheme, read_documents
from models.document import Document
from models.labels import LabelScheme


def load_gold(path: str | Path) -> tuple[list[Document], LabelScheme]:
    """The documents of a gold JSONL file or directory, and the label scheme they are scored with."""
    return read_documents(path), corpus_scheme(path)


def load_predictions(path: str | Path, gold: list[Document]) -> list[Document]:
    """Predicted documents in our JSONL format, ``xdd predict`` output included.

    ``xdd predict`` writes ``source`` (kept in ``meta``) and the document's
    ``topics`` (the union of its paragraphs' topics, dropped here), and leaves
    out ``text`` unless asked: a missing text is the gold document's with the
    same id, so the offsets are checked against it.
    """
    texts = {doc.id: doc.text for doc in gold}

    def prepare(record: dict[str, Any]) -> dict[str, Any]:
        record = dict(record)
        record.pop("topics", None)
        source = record.pop("source", None)
        if source is not None:
            meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
            record["meta"] = {**meta, "source": source}
        if "text" not in record and record.get("id") in texts:
            record["text"] = texts[record["id"]]
        return record

    return read_documents(path, prepare)
