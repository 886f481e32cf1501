"""What the format converters share: the import result and the loss reports.

Every reader returns an :class:`Imported`; every writer returns its text and a
list of warnings, one for each thing the target format cannot express (an
entity whose boundary it cannot place, topics, scores, metadata).  Nothing is
left out without a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdd.models.document import Document, Paragraph, paragraph_spans

FORMATS = ("jsonl", "conll", "doccano", "labelstudio")


@dataclass
class Imported:
    """Documents read from a foreign format, where each came from, and what could not be read faithfully."""

    documents: list[Document] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # "PATH:LINE" or "PATH:task N", one per document
    warnings: list[str] = field(default_factory=list)

    def add(self, doc: Document, place: str) -> None:
        self.documents.append(doc)
        self.places.append(place)


def untopical_paragraphs(text: str) -> list[Paragraph]:
    """The text's paragraphs with empty topic lists, for formats that carry no topics."""
    return [Paragraph(start, end, []) for start, end in paragraph_spans(text)]


def no_topics_warning(fmt: str, documents: int, paragraphs: int) -> list[str]:
    """Report, once per conversion, that paragraphs got empty topic lists because the input had none."""
    if not documents:
        return []
    return [
        f"{documents} {fmt} document(s) carry no paragraph topics: their {paragraphs} paragraph(s) were given "
        "empty topic lists, which the corpus format reads as 'no topic'; annotate topics before training on them"
    ]


def lost(fmt: str, what: str, count: int) -> list[str]:
    """One summary warning when ``count`` items of kind ``what`` cannot be written in ``fmt``."""
    return [f"{fmt} cannot express {what}: {count} left out"] if count else []


def lost_scores(docs: list[Document], fmt: str, *, entity_scores: bool = False) -> list[str]:
    """Warnings for prediction scores a format has no place for (``entity_scores=True``: it has for entities)."""
    entities = 0 if entity_scores else sum(e.score is not None for d in docs for e in d.entities)
    paragraphs = sum(p.scores is not None for d in docs for p in d.paragraphs)
    return lost(fmt, "entity scores", entities) + lost(fmt, "paragraph topic scores", paragraphs)


def sorted_entities(doc: Document) -> Document:
    """The document with its entities in ``(start, end)`` order, as the corpus format wants them."""
    doc.entities.sort(key=lambda e: (e.start, e.end, e.label))
    return doc
