"""The one document type that carries gold and predicted annotations.

A :class:`Document` is what the corpus reader yields, what training consumes,
what the predictor returns and what the evaluation harness scores.  Offsets are
always Python ``str`` indices into the user's *original* ``text`` (``end``
exclusive), whatever normalisation happened in between.

Gold and predicted annotations use the same fields; predictions additionally
fill ``score`` (entities) and ``scores`` (paragraph topic probabilities).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entity:
    """A labelled character span ``text[start:end]``."""

    start: int
    end: int
    label: str
    text: str | None = None
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        if self.text is not None:
            out["text"] = self.text
        if self.score is not None:
            out["score"] = self.score
        return out


@dataclass
class Paragraph:
    """A non-empty line of the text (trimmed) and the topics it discusses.

    ``scores`` holds per-topic probabilities for predictions; gold paragraphs
    leave it ``None``.
    """

    start: int
    end: int
    topics: list[str] = field(default_factory=list)
    scores: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "topics": list(self.topics)}
        if self.scores is not None:
            out["scores"] = dict(self.scores)
        return out


@dataclass
class Document:
    """An article with its entities and paragraph topics."""

    id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def topics(self) -> list[str]:
        """A document's topics are the union of its paragraphs' topics, in first-seen order."""
        seen: dict[str, None] = {}
        for paragraph in self.paragraphs:
            for topic in paragraph.topics:
                seen.setdefault(topic, None)
        return list(seen)

    def to_json(self) -> dict[str, Any]:
        """The record in the scheme's key order (``id, meta, text, entities, paragraphs``)."""
        return {
            "id": self.id,
            "meta": self.meta,
            "text": self.text,
            "entities": [e.to_json() for e in self.entities],
            "paragraphs": [p.to_json() for p in self.paragraphs],
        }

    def to_jsonl_line(self) -> str:
        """One canonical JSONL line (no trailing newline); loading and saving it is byte-stable."""
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Document:
        """Build a document from an already validated record (see ``xdd.training.validate``)."""
        return cls(
            id=record["id"],
            text=record["text"],
            meta=dict(record.get("meta") or {}),
            entities=[
                Entity(e["start"], e["end"], e["label"], e.get("text"), e.get("score"))
                for e in record.get("entities", [])
            ],
            paragraphs=[
                Paragraph(p["start"], p["end"], list(p.get("topics", [])), p.get("scores"))
                for p in record.get("paragraphs", [])
            ],
        )


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the non-empty lines of ``text``, each trimmed of surrounding whitespace.

    This is the scheme's definition of a paragraph: a maximal run of characters
    without ``\\n``, stripped (``str.strip``, so NBSP counts as whitespace).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(line) + 1
    return spans
