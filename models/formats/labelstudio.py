"""How a document's annotations are written as Label Studio results (shared by export and prediction).

Entities are ``labels`` regions of the ``label`` control; every paragraph is a
``labels`` region of the ``paragraph`` control, and its topics a per-region
``choices`` result of the ``topics`` control with the same region id (Label
Studio's ``perRegion`` choices).  Entity scores go into the result's
``score``.  ``xdd.training.convert_labelstudio`` reads these results back;
``docs/formats.md`` has the labelling config.
"""

from __future__ import annotations

from typing import Any

from xdd.models.document import Document, Entity, Paragraph

ENTITY = "label"
PARAGRAPH = "paragraph"
TOPICS = "topics"
TEXT = "text"  # the <Text> object every result points at (``to_name``), and the task's ``data`` key of the text


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
        "to_name": TEXT,
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


def prediction_task(
    doc: Document, *, model_version: str, score: float | None = None, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A task to import into Label Studio, pre-annotated with ``doc``'s entities and topics as a prediction.

    Label Studio shows a prediction as the pre-annotation an annotator
    corrects; ``score`` is what its Data Manager sorts tasks by (lower: look
    at it first).  ``data`` adds keys beside ``id``, ``text`` and ``meta``
    (``xdd.training.convert_labelstudio`` reads them back into ``meta``).
    """
    reserved = {"id", TEXT, "meta"} & set(data or {})
    if reserved:
        raise ValueError(f"data keys {sorted(reserved)} are the document's own; pass them in the document")
    prediction: dict[str, Any] = {"model_version": model_version, "result": document_results(doc)}
    if score is not None:
        prediction["score"] = score
    task_data = {"id": doc.id, TEXT: doc.text, **(data or {}), "meta": doc.meta}
    return {"data": task_data, "predictions": [prediction]}
