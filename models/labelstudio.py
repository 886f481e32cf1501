"""How a document's annotations are written as Label Studio results (shared by export and prediction).

Entities are ``labels`` regions of the ``label`` control; every paragraph is a
``labels`` region of the ``paragraph`` control, and its topics a per-region
``choices`` result of the ``topics`` control with the same region id (Label
Studio's ``perRegion`` choices).  Entity scores go into the result's
``score``.  ``training.convert_labelstudio`` reads these results back;
``docs/formats.md`` has the labelling config.
"""

from __future__ import annotations

from typing import Any

from models.document import Document, Entity, Paragraph

ENTITY = "label"
PARAGRAPH = "paragraph"
TOPICS = "topics"


def document_results(doc: Document) -> list[dict[str, Any]]:
    """The result list of one document: entity regions, then paragraph regions with their topics."""
    results = [_entity_result(f"e{i}", e, doc.text) for i, e in enumerate(doc.entities)]
    for i, paragraph in enumerate(doc.paragraphs):
        results += _paragraph_results(f"p{i}", paragraph, doc.text)
    return results


def _region(region_id: str, control: str, kind: str, start: int, end: int, text: str, **value: Any) -> dict:
    return {
        "id": region_id,
        "type": kind,
        "from_name": control,
        "to_name": "text",
        "value": {"start": start, "end": end, "text": text[start:end], **value},
    }


def _entity_result(region_id: str, entity: Entity, text: str) -> dict:
    result = _region(region_id, ENTITY, "labels", entity.start, entity.end, text, labels=[entity.label])
    if entity.score is not None:
        result["score"] = entity.score
    return result


def _paragraph_results(region_id: str, paragraph: Paragraph, text: str) -> list[dict]:
    results = [_region(region_id, PARAGRAPH, "labels", paragraph.start, paragraph.end, text, labels=[PARAGRAPH])]
    if paragraph.topics:
        topics = list(paragraph.topics)
        results.append(_region(region_id, TOPICS, "choices", paragraph.start, paragraph.end, text, choices=topics))
    return results
