"""Corpus statistics: how much text, how many entities per label, how many paragraphs per topic.

:func:`corpus_stats` returns a plain dict (what ``xdd stats --json`` prints);
:func:`format_stats` renders it as the table ``xdd stats`` prints.  Every label
and topic of the scheme is listed, with 0 when absent, so a missing label is
visible; labels found in the corpus but not in the scheme follow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from xdd.models.document import Document
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme


def corpus_stats(docs: Iterable[Document], scheme: LabelScheme = PARTY_BUILDING) -> dict[str, Any]:
    """Counts over a corpus.

    Keys: ``documents``, ``paragraphs``, ``characters``, ``entities`` (label →
    count), ``topics`` (topic → paragraphs), ``documents_per_topic`` (topic →
    documents), ``paragraphs_without_topic``.
    """
    documents = paragraphs = characters = untopical = 0
    entities: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    doc_topics: Counter[str] = Counter()
    for doc in docs:
        documents += 1
        characters += len(doc.text)
        paragraphs += len(doc.paragraphs)
        entities.update(entity.label for entity in doc.entities)
        for paragraph in doc.paragraphs:
            topics.update(set(paragraph.topics))
            untopical += not paragraph.topics
        doc_topics.update(doc.topics)
    return {
        "documents": documents,
        "paragraphs": paragraphs,
        "characters": characters,
        "entities": _with_zeros(entities, scheme.entities),
        "topics": _with_zeros(topics, scheme.topics),
        "documents_per_topic": _with_zeros(doc_topics, scheme.topics),
        "paragraphs_without_topic": untopical,
    }


def _with_zeros(counts: Counter[str], declared: tuple[str, ...]) -> dict[str, int]:
    """The declared names in scheme order (0 when absent), then undeclared names by count."""
    ordered = {name: counts.get(name, 0) for name in declared}
    for name, count in counts.most_common():
        ordered.setdefault(name, count)
    return ordered


def format_stats(stats: dict[str, Any]) -> str:
    """A readable table of :func:`corpus_stats`."""
    lines = [f"{name:<12}{stats[name]:>10}" for name in ("documents", "paragraphs", "characters")]
    entities = stats["entities"]
    lines += ["", f"{'entity':<22}{'count':>8}"]
    lines += [f"  {label:<20}{count:>8}" for label, count in entities.items()]
    lines += [f"  {'total':<20}{sum(entities.values()):>8}", ""]
    lines.append(f"{'topic':<22}{'paragraphs':>12}{'documents':>11}")
    for topic, count in stats["topics"].items():
        lines.append(f"  {topic:<20}{count:>12}{stats['documents_per_topic'][topic]:>11}")
    lines.append(f"  {'(no topic)':<20}{stats['paragraphs_without_topic']:>12}")
    return "\n".join(lines)
