"""How far two sets of predictions of the same documents agree, as users would see them.

Entities are compared as exact ``(start, end, label)`` triples: the agreement
is the F1 of one side scored against the other (1.0 only when both sides
predict exactly the same entities).  Topics are compared as the yes/no
decision of every topic for every paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdd.models.document import Document


def prediction_agreement(reference: Sequence[Document], other: Sequence[Document]) -> dict[str, float | int | bool]:
    """Entity F1 and topic-decision agreement of ``other`` against ``reference`` (same documents, same order)."""
    if len(reference) != len(other):
        raise ValueError(f"cannot compare {len(reference)} predicted documents with {len(other)}")
    common = mine = theirs = 0
    same_topics = decisions = 0
    for want, got in zip(reference, other):
        want_entities = {(e.start, e.end, e.label) for e in want.entities}
        got_entities = {(e.start, e.end, e.label) for e in got.entities}
        common += len(want_entities & got_entities)
        mine += len(want_entities)
        theirs += len(got_entities)
        for p, q in zip(want.paragraphs, got.paragraphs):
            names = set(p.scores or {}) | set(q.scores or {}) | set(p.topics) | set(q.topics)
            same_topics += sum((t in p.topics) == (t in q.topics) for t in names)
            decisions += len(names)
    entity_f1 = 2 * common / (mine + theirs) if mine + theirs else 1.0
    topic_agreement = same_topics / decisions if decisions else 1.0
    return {
        "entity_f1": entity_f1,
        "topic_agreement": topic_agreement,
        "entities_reference": mine,
        "entities_other": theirs,
        "exact": entity_f1 == 1.0 and topic_agreement == 1.0,
    }
