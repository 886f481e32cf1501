"""Entity-level NER scoring on the canonical syllable grid of the original text.

Gold and predicted character spans are projected onto the syllable tokens of
``models.syllables.syllable_spans`` (whitespace- and punctuation-separated), so
every system is scored on the same grid whatever word segmenter it used: a
model that merges or splits words differently from the gold gets the boundary
wrong, and that counts.  Scoring then follows seqeval's strict IOB2 mode: an
entity is correct only if its label and both token boundaries match.

Projection: an entity covers every token it overlaps.  A span whose edges fall
inside a token is widened to whole tokens ("snapped"); a span that overlaps no
token at all (whitespace only) is "dropped".  Both are counted per side in
``ner.alignment`` so nothing is changed silently.  Two entities of one side
that share a token cannot be written as IOB2 tags and are an error.

Per-document counts ``(tp, predicted, support)`` per label feed the bootstrap;
their sums give exactly seqeval's figures (see ``tests/test_ner_metrics.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.document import Document, Entity
from models.errors import EvaluationError
from models.syllables import syllable_spans

ERROR_KINDS = ("exact", "wrong_type", "wrong_boundary", "missed", "spurious")


@dataclass(frozen=True)
class TokenEntity:
    """An entity on the syllable grid: tokens ``[first, last)`` and the original entity."""

    first: int
    last: int
    label: str
    entity: Entity

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.first, self.last, self.label)

    def overlaps(self, other: TokenEntity) -> bool:
        return self.first < other.last and other.first < self.last


@dataclass
class Projection:
    """One side (gold or predicted) of a document on the syllable grid."""

    entities: list[TokenEntity]
    snapped: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class EntityError:
    """One scored entity decision, for the error lists of the report.

    ``kind`` is one of :data:`ERROR_KINDS`; ``gold`` is ``None`` for spurious
    predictions and ``pred`` is ``None`` for missed gold entities.
    """

    kind: str
    doc_id: str
    gold: Entity | None
    pred: Entity | None


def project(doc: Document, entities: Sequence[Entity], side: str) -> Projection:
    """Project ``entities`` (character spans into ``doc.text``) onto its syllable tokens.

    ``side`` ("gold" or "predicted") only names the side in error messages.
    """
    tokens = syllable_spans(doc.text)
    starts = [s for s, _ in tokens]
    ends = [e for _, e in tokens]
    projection = Projection([])
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        first = bisect.bisect_right(ends, entity.start)  # first token ending after the span start
        last = bisect.bisect_left(starts, entity.end)  # tokens starting before the span end
        if first >= last:
            projection.dropped += 1
            continue
        if starts[first] != entity.start or ends[last - 1] != entity.end:
            projection.snapped += 1
        token_entity = TokenEntity(first, last, entity.label, entity)
        previous = projection.entities[-1] if projection.entities else None
        if previous is not None and previous.overlaps(token_entity):
            raise EvaluationError(
                f"document {doc.id!r}: {side} entities {_describe(previous.entity)} and "
                f"{_describe(entity)} share a syllable token, so they cannot be scored as IOB2 tags; "
                "entities must not overlap (keep the outermost, see the annotation scheme)"
            )
        projection.entities.append(token_entity)
    return projection


def _describe(entity: Entity) -> str:
    return f"{entity.label} [{entity.start}, {entity.end})"


def iob2_tags(doc: Document, entities: Sequence[Entity]) -> list[str]:
    """The strict IOB2 tag of every syllable token of ``doc.text`` for ``entities``."""
    tags = ["O"] * len(syllable_spans(doc.text))
    for item in project(doc, entities, "given").entities:
        tags[item.first] = f"B-{item.label}"
        for index in range(item.first + 1, item.last):
            tags[index] = f"I-{item.label}"
    return tags


def count_table(pairs: Sequence[tuple[Document, Document]], labels: Sequence[str]) -> np.ndarray:
    """Per-document counts ``[doc, label, (tp, predicted, support)]`` on the syllable grid."""
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(pairs), len(labels), 3), dtype=np.int64)
    for row, (gold, pred) in enumerate(pairs):
        gold_side = project(gold, gold.entities, "gold").entities
        pred_side = project(pred, pred.entities, "predicted").entities
        gold_keys = {e.key for e in gold_side}
        for item in pred_side:
            table[row, index[item.label], 1] += 1
            table[row, index[item.label], 0] += item.key in gold_keys
        for item in gold_side:
            table[row, index[item.label], 2] += 1
    return table


def alignment_counts(pairs: Sequence[tuple[Document, Document]]) -> dict[str, dict[str, int]]:
    """How many gold and predicted spans were snapped to whole tokens or dropped."""
    out = {"gold": {"snapped": 0, "dropped": 0}, "pred": {"snapped": 0, "dropped": 0}}
    for gold, pred in pairs:
        for side, doc, name in (("gold", gold, "gold"), ("pred", pred, "predicted")):
            projection = project(doc, doc.entities, name)
            out[side]["snapped"] += projection.snapped
            out[side]["dropped"] += projection.dropped
    return out


def entity_errors(gold: Document, pred: Document) -> list[EntityError]:
    """Classify every gold entity and every unmatched prediction of one document.

    Each gold entity is exactly one of: ``exact`` (a prediction with the same
    tokens and label), ``wrong_type`` (same tokens, other label),
    ``wrong_boundary`` (no prediction with the same tokens, but one overlapping
    it; its label may differ too) or ``missed``.  A prediction that overlaps no
    gold entity is ``spurious``.  So, per label, ``exact = tp`` and
    ``wrong_type + wrong_boundary + missed = support - tp``.
    """
    gold_side = project(gold, gold.entities, "gold").entities
    pred_side = project(pred, pred.entities, "predicted").entities
    by_tokens = {(p.first, p.last): p for p in pred_side}
    errors: list[EntityError] = []
    for item in gold_side:
        same = by_tokens.get((item.first, item.last))
        overlapping = [p for p in pred_side if p.overlaps(item)]
        if same is not None:
            kind = "exact" if same.label == item.label else "wrong_type"
            errors.append(EntityError(kind, gold.id, item.entity, same.entity))
        elif overlapping:
            partner = next((p for p in overlapping if p.label == item.label), overlapping[0])
            errors.append(EntityError("wrong_boundary", gold.id, item.entity, partner.entity))
        else:
            errors.append(EntityError("missed", gold.id, item.entity, None))
    for item in pred_side:
        if not any(item.overlaps(g) for g in gold_side):
            errors.append(EntityError("spurious", gold.id, None, item.entity))
    return sorted(errors, key=lambda e: _position(e))


def _position(error: EntityError) -> tuple[int, int]:
    entity = error.gold or error.pred
    assert entity is not None
    return (entity.start, entity.end)


def error_breakdown(
    pairs: Sequence[tuple[Document, Document]], labels: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Counts of each error kind per label (gold label; predicted label for spurious)."""
    out = {label: dict.fromkeys(ERROR_KINDS, 0) for label in labels}
    for gold, pred in pairs:
        for error in entity_errors(gold, pred):
            entity = error.gold if error.gold is not None else error.pred
            assert entity is not None
            out[entity.label][error.kind] += 1
    return out
