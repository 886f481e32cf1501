"""Random gold/prediction pairs for the NER tests (shared by test_ner_metrics and test_bootstrap)."""

from __future__ import annotations

import random

from eval.ner_metrics import project
from models.document import Document, Entity

LABELS = ("PER", "ORG", "LOC", "DOCUMENT")


def random_text(rng: random.Random) -> str:
    words = ["Ban", "Tổ", "chức", "Huyện", "ủy", "10-CT/TW", "năm", "2020", ",", "."]
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
    """Drop entities that share a syllable with the previous one (random spans can, after widening)."""
    cleaned = []
    for gold, pred in pairs:
        sides = []
        for doc in (gold, pred):
            kept, last_token = [], -1
            for entity in sorted(doc.entities, key=lambda e: e.start):
                projected = project(Document(doc.id, doc.text), [entity], "x").entities
                if projected and projected[0].first >= last_token:
                    kept.append(entity)
                    last_token = projected[0].last
            sides.append(Document(doc.id, doc.text, kept))
        cleaned.append(tuple(sides))
    return cleaned
