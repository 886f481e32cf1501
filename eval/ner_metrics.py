"""Entity-level NER scoring: exact character spans, written as strict IOB2 tags on one grid per document.

The grid.  The original text is cut into the syllable tokens of
``xdd.models.text.syllables.syllable_spans`` (whitespace separates tokens, every
punctuation mark is a token of its own), and then, per document, every token
is split again at each gold or predicted entity boundary that falls inside it:
with a prediction ``17`` the token ``17h20`` becomes ``17`` + ``h20``.  So every
entity of either side is a whole number of tokens, nothing is widened, and
seqeval's strict IOB2 match (label and both token boundaries) is exactly the
match of character spans: a prediction ``17`` for a gold ``17h20`` is a
boundary error, never a hit, and two predicted entities that meet inside a
syllable are two entities, not a crash.  The grid still does not depend on
any word segmenter: a model whose words differ from the gold's gets the
boundary wrong, and that counts.

Whitespace edges.  The grid has no whitespace tokens, so a span with leading
or trailing whitespace is scored as the span without it ("snapped"); a span
of whitespace only covers no token and is ignored ("dropped").  Both are
counted per side in ``ner.alignment`` so nothing is changed silently.

Overlaps.  Two entities overlap when they share a non-whitespace character.
Two gold entities that overlap are an error: gold is validated data (``xdd
validate`` lists them) and IOB2 cannot write both.  Our decoders never emit
overlapping predictions, but another system's file may, and a prediction must
never stop an evaluation: of overlapping predictions the one starting first
is kept (of those starting together, the longest), each other one is left out
of the scores, counted in ``ner.alignment.pred.overlapping_dropped`` and
listed by :func:`overlapping_entities` for a warning.

Per-document counts ``(tp, predicted, support)`` per label feed the bootstrap;
their sums give exactly seqeval's figures on :func:`pair_tags` and exactly the
counts of matching ``(start, end, label)`` triples (``tests/eval/test_ner_metrics.py``,
``tests/eval/test_exact_scoring.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from xdd.models.document import Document, Entity
from xdd.models.errors import EvaluationError
from xdd.models.text.syllables import syllable_spans

ERROR_KINDS = ("exact", "wrong_type", "wrong_boundary", "missed", "spurious")
GOLD, PREDICTED = "gold", "predicted"

Span = tuple[int, int]


@dataclass(frozen=True)
class TokenEntity:
    """An entity on the grid: tokens ``[first, last)`` and the original entity."""

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
    """One side (gold or predicted) of a document on the grid.

    ``overlapping`` holds ``(kept, dropped)`` for every predicted entity left
    out because it overlaps a kept one (always empty for gold, which raises).
    """

    entities: list[TokenEntity]
    snapped: int = 0
    dropped: int = 0
    overlapping: list[tuple[Entity, Entity]] = field(default_factory=list)


@dataclass(frozen=True)
class PairProjection:
    """Gold and prediction of one document on their shared grid ``tokens``."""

    tokens: list[Span]
    gold: Projection
    pred: Projection


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


def refined_grid(text: str, entities: Sequence[Entity]) -> list[Span]:
    """The syllable tokens of ``text``, each split at every entity boundary strictly inside it.

    Splitting at the boundaries of every entity that will be scored on the grid
    (both sides of a pair) makes each of them a whole number of tokens, so a
    token match is a character match and no span has to be widened.
    """
    cuts = sorted({e.start for e in entities} | {e.end for e in entities})
    tokens: list[Span] = []
    for start, end in syllable_spans(text):
        inside = cuts[bisect.bisect_right(cuts, start) : bisect.bisect_left(cuts, end)]
        edges = [start, *inside, end]
        tokens.extend(pairwise(edges))
    return tokens


def project(doc: Document, entities: Sequence[Entity], side: str, tokens: Sequence[Span] | None = None) -> Projection:
    """Project ``entities`` (character spans into ``doc.text``) onto the grid ``tokens``.

    ``tokens`` defaults to the syllable grid refined at the boundaries of
    ``entities``; to score two sides against each other pass their shared grid
    (:func:`project_pair` does).  An entity covers every token it overlaps,
    which on a refined grid are the tokens inside it.  Overlaps are an
    :class:`EvaluationError` for ``side`` :data:`GOLD` and are resolved (and
    recorded) for any other side, see the module docstring.
    """
    tokens = refined_grid(doc.text, entities) if tokens is None else tokens
    starts = [s for s, _ in tokens]
    ends = [e for _, e in tokens]
    projection = Projection([])
    placed: list[TokenEntity] = []
    for entity in entities:
        first = bisect.bisect_right(ends, entity.start)  # first token ending after the span start
        last = bisect.bisect_left(starts, entity.end)  # tokens starting before the span end
        if first >= last:
            projection.dropped += 1
        else:
            placed.append(TokenEntity(first, last, entity.label, entity))
    for item in sorted(placed, key=lambda t: (t.first, -t.last)):
        previous = projection.entities[-1] if projection.entities else None
        if previous is not None and previous.overlaps(item):
            _overlap(doc, side, previous.entity, item.entity, projection)
            continue
        projection.entities.append(item)
        projection.snapped += starts[item.first] != item.entity.start or ends[item.last - 1] != item.entity.end
    return projection


def _overlap(doc: Document, side: str, kept: Entity, other: Entity, projection: Projection) -> None:
    """Gold overlaps are a corpus error to fix; predicted ones are dropped and recorded, never fatal."""
    if side == GOLD:
        raise EvaluationError(
            f"document {doc.id!r}: gold entities {describe(kept)} and {describe(other)} overlap, so they "
            "cannot be scored as IOB2 tags; entities must not overlap (keep the outermost, see the annotation "
            "scheme; xdd validate lists every overlap)"
        )
    projection.overlapping.append((kept, other))


def describe(entity: Entity, text: str | None = None) -> str:
    """``LABEL [start, end)``, with the covered text when ``text`` is given (for messages)."""
    surface = "" if text is None else f" «{text[entity.start:entity.end]}»"
    return f"{entity.label} [{entity.start}, {entity.end}){surface}"


def project_pair(gold: Document, pred: Document) -> PairProjection:
    """Both sides of a document on one grid, refined at the boundaries of both (texts are equal)."""
    tokens = refined_grid(gold.text, [*gold.entities, *pred.entities])
    return PairProjection(
        tokens,
        project(gold, gold.entities, GOLD, tokens),
        project(pred, pred.entities, PREDICTED, tokens),
    )


def overlapping_entities(pred: Document) -> list[tuple[Entity, Entity]]:
    """``(kept, dropped)`` for every predicted entity of ``pred`` that scoring leaves out as overlapping.

    The same pairs as in scoring: which entities overlap does not depend on
    the other side's boundaries, only on shared non-whitespace characters.
    """
    return project(pred, pred.entities, PREDICTED).overlapping


def _tags(n_tokens: int, entities: Sequence[TokenEntity]) -> list[str]:
    tags = ["O"] * n_tokens
    for item in entities:
        tags[item.first] = f"B-{item.label}"
        for index in range(item.first + 1, item.last):
            tags[index] = f"I-{item.label}"
    return tags


def iob2_tags(
    doc: Document, entities: Sequence[Entity], tokens: Sequence[Span] | None = None, side: str = GOLD
) -> list[str]:
    """The strict IOB2 tag of every token of ``tokens`` (default: the grid refined at ``entities``).

    Tags of two sides are comparable only on one grid: use :func:`pair_tags`.
    """
    tokens = refined_grid(doc.text, entities) if tokens is None else tokens
    return _tags(len(tokens), project(doc, entities, side, tokens).entities)


def pair_tags(gold: Document, pred: Document) -> tuple[list[str], list[str]]:
    """Gold and predicted IOB2 tags on the pair's grid: what seqeval scores, token for token."""
    pair = project_pair(gold, pred)
    return _tags(len(pair.tokens), pair.gold.entities), _tags(len(pair.tokens), pair.pred.entities)


def count_table(pairs: Sequence[tuple[Document, Document]], labels: Sequence[str]) -> np.ndarray:
    """Per-document counts ``[doc, label, (tp, predicted, support)]`` of exact span matches."""
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(pairs), len(labels), 3), dtype=np.int64)
    for row, (gold, pred) in enumerate(pairs):
        pair = project_pair(gold, pred)
        gold_keys = {e.key for e in pair.gold.entities}
        for item in pair.pred.entities:
            table[row, index[item.label], 1] += 1
            table[row, index[item.label], 0] += item.key in gold_keys
        for item in pair.gold.entities:
            table[row, index[item.label], 2] += 1
    return table


def alignment_counts(pairs: Sequence[tuple[Document, Document]]) -> dict[str, dict[str, int]]:
    """Spans scored without their whitespace edges (snapped), of whitespace only (dropped), overlapping (pred)."""
    out = {
        "gold": {"snapped": 0, "dropped": 0},
        "pred": {"snapped": 0, "dropped": 0, "overlapping_dropped": 0},
    }
    for gold, pred in pairs:
        pair = project_pair(gold, pred)
        for side, projection in (("gold", pair.gold), ("pred", pair.pred)):
            out[side]["snapped"] += projection.snapped
            out[side]["dropped"] += projection.dropped
        out["pred"]["overlapping_dropped"] += len(pair.pred.overlapping)
    return out


def entity_errors(gold: Document, pred: Document) -> list[EntityError]:
    """Classify every gold entity and every unmatched prediction of one document.

    Each gold entity is exactly one of: ``exact`` (a prediction with the same
    span and label), ``wrong_type`` (same span, other label),
    ``wrong_boundary`` (no prediction with the same span, but one overlapping
    it; its label may differ too) or ``missed``.  A prediction that overlaps no
    gold entity is ``spurious``.  So, per label, ``exact = tp`` and
    ``wrong_type + wrong_boundary + missed = support - tp``.
    """
    pair = project_pair(gold, pred)
    gold_side, pred_side = pair.gold.entities, pair.pred.entities
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
