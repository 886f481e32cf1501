"""doccano sequence-labelling JSONL import and export.

One record per line: ``{"text": ..., "label": [[start, end, LABEL], ...]}``;
doccano's relation-project export ``"entities": [{"start_offset",
"end_offset", "label"}]`` is read too.  doccano keeps unknown keys as
metadata and exports them back, which carries two extensions of ours:

- ``"doc_id"``: the document id (doccano replaces ``"id"`` by its own number);
- ``"paragraphs": [[start, end, [TOPIC, ...]], ...]``: paragraph topics.

``"meta"`` holds the document's metadata.  On import the id is ``doc_id``,
else ``id``, else ``<file stem>-<line>``; other unknown keys go into ``meta``;
without ``"paragraphs"`` every line of the text becomes a paragraph with no
topic, and the conversion says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xdd.models.document import Document, Entity, Paragraph
from xdd.models.errors import CorpusError
from xdd.training.convert_common import (
    Imported,
    lost_scores,
    no_topics_warning,
    sorted_entities,
    untopical_paragraphs,
)

_KNOWN_KEYS = {"doc_id", "id", "text", "label", "entities", "paragraphs", "meta"}


def dump_doccano(docs: list[Document]) -> tuple[str, list[str]]:
    """doccano JSONL for the documents; warns about the prediction scores it cannot hold."""
    lines = []
    for doc in docs:
        record = {
            "doc_id": doc.id,
            "text": doc.text,
            "label": [[e.start, e.end, e.label] for e in doc.entities],
            "paragraphs": [[p.start, p.end, list(p.topics)] for p in doc.paragraphs],
            "meta": doc.meta,
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines), lost_scores(docs, "doccano")


def read_doccano(path: str | Path) -> Imported:
    """Documents from a doccano JSONL file; raises :class:`CorpusError` naming every bad line."""
    path = Path(path)
    imported, errors, untopical = Imported(), [], []
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            doc, has_topics = _document(json.loads(line), f"{path.stem}-{number:05d}")
        except json.JSONDecodeError as err:
            errors.append(f"{path}:{number}: invalid JSON: {err.msg} at column {err.colno}")
            continue
        except ValueError as err:
            errors.append(f"{path}:{number}: {err}")
            continue
        if not has_topics:
            untopical.append(len(doc.paragraphs))
        imported.add(doc, f"{path}:{number}")
    if errors:
        raise CorpusError("\n".join(errors + [f"{len(errors)} problem(s) in {path}"]))
    imported.warnings += no_topics_warning("doccano", len(untopical), sum(untopical))
    return imported


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()  # utf-8-sig: a leading BOM is not text
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path}: cannot read as UTF-8 text: {err}") from err


def _document(record: Any, default_id: str) -> tuple[Document, bool]:
    """A document from one doccano record, and whether the record had paragraph topics."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("expected a JSON object with a string 'text'")
    text = record["text"]
    doc_id = record.get("doc_id", record.get("id", default_id))
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    extra = {key: value for key, value in record.items() if key not in _KNOWN_KEYS}
    entities = [Entity(s, e, label, text[s:e]) for s, e, label in _spans(record)]
    if "paragraphs" in record:
        paragraphs = [Paragraph(s, e, topics) for s, e, topics in _paragraphs(record["paragraphs"])]
    else:
        paragraphs = untopical_paragraphs(text)
    doc = Document(id=str(doc_id), text=text, entities=entities, paragraphs=paragraphs, meta={**meta, **extra})
    return sorted_entities(doc), "paragraphs" in record


def _spans(record: dict) -> list[tuple[int, int, str]]:
    if "entities" in record and "label" not in record:
        items = record["entities"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("'entities' must be a list of {start_offset, end_offset, label} objects")
        spans = [[i.get("start_offset"), i.get("end_offset"), i.get("label")] for i in items]
    else:
        spans = record.get("label", [])
    if not isinstance(spans, list):
        raise ValueError("'label' must be a list of [start, end, LABEL]")
    for index, span in enumerate(spans):
        if not (isinstance(span, list) and len(span) == 3 and _ints(span[:2]) and isinstance(span[2], str) and span[2]):
            raise ValueError(f"span {index} is {json.dumps(span, ensure_ascii=False)}; expected [start, end, LABEL]")
    return [tuple(span) for span in spans]


def _paragraphs(items: Any) -> list[tuple[int, int, list[str]]]:
    if not isinstance(items, list):
        raise ValueError("'paragraphs' must be a list of [start, end, [TOPIC, ...]]")
    for index, item in enumerate(items):
        if not (
            isinstance(item, list) and len(item) == 3 and _ints(item[:2])
            and isinstance(item[2], list) and all(isinstance(t, str) for t in item[2])
        ):
            found = json.dumps(item, ensure_ascii=False)
            raise ValueError(f"paragraphs[{index}] is {found}; expected [start, end, [TOPIC, ...]]")
    return [(s, e, list(topics)) for s, e, topics in items]


def _ints(values: list) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)
