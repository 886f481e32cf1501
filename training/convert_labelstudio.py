"""Label Studio JSON (task export) import and export.

A file is a JSON array of tasks.  Ours look like::

    {"id": 1,
     "data": {"id": "000_cao-loc", "text": "...", "meta": {...}},
     "annotations": [{"result": [
        {"id": "e0", "type": "labels", "from_name": "label", "to_name": "text",
         "value": {"start": 0, "end": 7, "text": "Cao Lộc", "labels": ["LOC"]}},
        {"id": "p0", "type": "labels", "from_name": "paragraph", "to_name": "text",
         "value": {"start": 0, "end": 42, "text": "...", "labels": ["paragraph"]}},
        {"id": "p0", "type": "choices", "from_name": "topics", "to_name": "text",
         "value": {"start": 0, "end": 42, "text": "...", "choices": ["cadre_planning"]}}]}]}

Entities are ``labels`` regions; every paragraph is a ``labels`` region of the
``paragraph`` control, and its topics a per-region ``choices`` result with
the same region id (Label Studio's ``perRegion`` choices).  A paragraph
without topics has no ``choices`` result.  Entity scores go into the result's
``score``.  See docs/formats.md for the labelling config.

On import, the first annotation not cancelled is used, or else the first
prediction (so a prediction export reads too); a ``labels`` result of any
control other than ``paragraph`` is an entity; anything else is reported.
Without paragraph regions every line of the text becomes a paragraph with no
topic, and the conversion says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xdd.models.document import Document, Entity, Paragraph
from xdd.models.errors import CorpusError
from xdd.models.formats.labelstudio import PARAGRAPH, document_results
from xdd.training.convert_common import (
    Imported,
    lost,
    no_topics_warning,
    sorted_entities,
    untopical_paragraphs,
)

Regions = dict[str, tuple[int, int]]  # paragraph region id -> (start, end)


# --- export --------------------------------------------------------------


def dump_labelstudio(docs: list[Document]) -> tuple[str, list[str]]:
    """A Label Studio task array for the documents; warns about the paragraph scores it cannot hold."""
    tasks = []
    for number, doc in enumerate(docs, start=1):
        data = {"id": doc.id, "text": doc.text, "meta": doc.meta}
        tasks.append({"id": number, "data": data, "annotations": [{"result": document_results(doc)}]})
    scores = sum(p.scores is not None for d in docs for p in d.paragraphs)
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", lost("labelstudio", "paragraph topic scores", scores)


# --- import --------------------------------------------------------------


def read_labelstudio(path: str | Path) -> Imported:
    """Documents from a Label Studio JSON export; raises :class:`CorpusError` naming every bad task."""
    path = Path(path)
    tasks = _tasks(path)
    imported, errors, untopical = Imported(), [], []
    for number, task in enumerate(tasks, start=1):
        place = f"{path}:task {number}"
        try:
            doc, has_paragraphs, warnings = _document(task, f"{path.stem}-{number:05d}")
        except ValueError as err:
            errors.append(f"{place}: {err}")
            continue
        imported.add(doc, place)
        imported.warnings += [f"{place}: id={doc.id}: {w}" for w in warnings]
        if not has_paragraphs:
            untopical.append(len(doc.paragraphs))
    if errors:
        raise CorpusError("\n".join(errors + [f"{len(errors)} problem(s) in {path}"]))
    imported.warnings += no_topics_warning("labelstudio", len(untopical), sum(untopical))
    return imported


def _tasks(path: Path) -> list:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))  # a leading BOM is not JSON
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read as UTF-8 text: {err}") from err
    except json.JSONDecodeError as err:
        raise CorpusError(f"{path}:{err.lineno}: invalid JSON: {err.msg} at column {err.colno}") from err
    if not isinstance(tasks, list):
        raise CorpusError(
            f"{path}: expected a JSON array of tasks (Label Studio's 'JSON' export; JSON-MIN is not supported)"
        )
    return tasks


def _document(task: Any, default_id: str) -> tuple[Document, bool, list[str]]:
    """A document from one task, whether it had paragraph regions, and what could not be imported."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ValueError("expected a task object with a 'data' object")
    data = task["data"]
    text = data.get("text")
    if not isinstance(text, str):
        raise ValueError("'data' has no string 'text'")
    results, warnings = _results(task)
    entities, regions, choices = _split_results(results, text, warnings)
    topics = _topics_by_region(choices, regions, warnings)
    if regions:
        ordered = sorted(regions.items(), key=lambda region: region[1])
        paragraphs = [Paragraph(s, e, topics.get(rid, [])) for rid, (s, e) in ordered]
    else:
        paragraphs = untopical_paragraphs(text)
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    extra = {key: value for key, value in data.items() if key not in ("id", "text", "meta")}
    doc_id = str(data.get("id", task.get("id", default_id)))
    doc = Document(id=doc_id, text=text, entities=entities, paragraphs=paragraphs, meta={**meta, **extra})
    return sorted_entities(doc), bool(regions), warnings


def _results(task: dict) -> tuple[list, list[str]]:
    """The result list to import: the first annotation not cancelled, else the first prediction."""
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    predictions = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    chosen, kind = (annotations, "annotation") if annotations else (predictions, "prediction")
    warnings = []
    if len(chosen) > 1:
        warnings.append(f"{len(chosen)} {kind}s; imported the first (id {chosen[0].get('id')}), left out the others")
    if not chosen:
        warnings.append("no annotation or prediction; imported the text without entities")
        return [], warnings
    results = chosen[0].get("result")
    if not isinstance(results, list):
        raise ValueError(f"the {kind}'s 'result' must be a list")
    return results, warnings


def _split_results(results: list, text: str, warnings: list[str]) -> tuple[list[Entity], Regions, list[dict]]:
    """Entities, paragraph regions (region id → span) and choices results."""
    entities, regions, choices = [], {}, []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise ValueError(f"result {index} must be an object")
        kind, control, value = result.get("type"), result.get("from_name"), result.get("value")
        if kind == "choices":
            choices.append(result)
        elif kind != "labels":
            warnings.append(f"result {index}: type {kind!r} (from_name {control!r}) is not imported")
        elif control == PARAGRAPH:
            regions[str(result.get("id"))] = _offsets(value, index)
        else:
            start, end = _offsets(value, index)
            labels = value.get("labels")
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
                raise ValueError(f"result {index}: 'value.labels' must be a non-empty list of strings")
            if len(labels) > 1:
                warnings.append(
                    f"result {index} [{start}:{end}] has labels {labels}; entities are flat: imported {labels[0]!r} only"
                )
            surface = value.get("text") if isinstance(value.get("text"), str) else text[start:end]
            score = result.get("score") if isinstance(result.get("score"), (int, float)) else None
            entities.append(Entity(start, end, labels[0], surface, score))
    return entities, regions, choices


def _topics_by_region(choices: list[dict], regions: Regions, warnings: list[str]) -> dict[str, list[str]]:
    """Topics per paragraph region: matched by region id, else by the span in the choices' value."""
    by_span = {span: rid for rid, span in regions.items()}
    topics: dict[str, list[str]] = {}
    for result in choices:
        value = result.get("value") if isinstance(result.get("value"), dict) else {}
        picked = value.get("choices")
        if not isinstance(picked, list) or not all(isinstance(c, str) for c in picked):
            raise ValueError(f"choices result {result.get('id')!r}: 'value.choices' must be a list of strings")
        rid = str(result.get("id"))
        if rid not in regions:
            rid = by_span.get((value.get("start"), value.get("end")))
        if rid is None:
            warnings.append(f"choices {picked} are not attached to a paragraph region; not imported")
            continue
        chosen = topics.setdefault(rid, [])
        chosen += [c for c in dict.fromkeys(picked) if c not in chosen]
    return topics


def _offsets(value: Any, index: int) -> tuple[int, int]:
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), int) and not isinstance(value.get(k), bool) for k in ("start", "end")
    ):
        raise ValueError(f"result {index}: 'value' needs integer 'start' and 'end'")
    return value["start"], value["end"]
