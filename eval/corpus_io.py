"""Read a gold corpus and its label scheme for the evaluation commands.

Documents come from :func:`models.corpus.read_documents` (structural checks,
``PATH:LINE: id=ID: problem`` errors); the scheme from ``labels.json`` beside
the corpus, or the party-building scheme.
"""

from __future__ import annotations

from pathlib import Path

from models.corpus import corpus_scheme, read_documents
from models.document import Document
from models.labels import LabelScheme


def load_gold(path: str | Path) -> tuple[list[Document], LabelScheme]:
    """The documents of a gold JSONL file or directory, and the label scheme they are scored with."""
    return read_documents(path), corpus_scheme(path)
