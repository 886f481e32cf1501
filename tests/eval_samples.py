"""Random gold/prediction pairs for the NER tests (shared by test_ner_metrics and test_bootstrap)."""

from __future__ import annotations

import random

from xdd.models.document import Document, Entity
from xdd.models.text.syllables import syllable_spans

LABELS = ("PER", "ORG", "LOC", "DOCUMENT")


def random_text(rng: random.Random) -> str:
    words = ["Ban", "Tổ", "chức", "Huyện", "ủy", "10-CT/TW", "năm", "2020", ",", ".", "17h20", "BN0123", "TP.HCM"]
    return " ".join(rng.choice(words) for _ in range(30))


def random_spans(rng: random.Random, text: str) -> list[Entity]:
    """Non-overlapping random character spans, many of them not on syllable edges."""
    spans, position = [], 0
    while position < len(text) - 2:
        start = rng.randrange(position, len(text) - 1)
        end = min(len(text), start + rng.randrange(1, 15))
        if rng.random() < 0.7:
            spans.append(Entity(start, end, rng.choice(LABELS)))
        position = end + 1
    return spans


def random_pairs(seed: int, n_docs: int = 6) -> list[tuple[Document, Document]]:
    """Gold with random spans; predictions either independent random spans or the gold relabelled and thinned."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n_docs):
        text = random_text(rng)
        gold = random_spans(rng, text)
        if rng.random() < 0.5:
            pred = random_spans(rng, text)
        else:
            pred = [Entity(e.start, e.end, rng.choice(LABELS)) for e in gold if rng.random() < 0.8]
        pairs.append((Document(f"d{i}", text, gold), Document(f"d{i}", text, pred)))
    return pairs


def without_token_overlaps(pairs):
    """The pairs with every entity widened to whole syllables, dropping those that then share one.

    Scoring needs no such preparation (it refines the grid per document, see
    ``ner_metrics.pair_tags``).  This is for tests that tag gold and
    predictions each on its own (``iob2_tags(doc, doc.entities)``): with every
    boundary on a syllable edge both sides' grids are the plain syllable grid,
    so their tag sequences line up token for token.
    """
    return [tuple(_on_syllable_edges(doc) for doc in pair) for pair in pairs]


def _on_syllable_edges(doc: Document) -> Document:
    tokens = syllable_spans(doc.text)
    kept, last_end = [], -1
    for entity in sorted(doc.entities, key=lambda e: (e.start, e.end)):
        covered = [t for t in tokens if t[0] < entity.end and entity.start < t[1]]
        if covered and covered[0][0] >= last_end:
            kept.append(Entity(covered[0][0], covered[-1][1], entity.label))
            last_end = covered[-1][1]
    return Document(doc.id, doc.text, kept)
