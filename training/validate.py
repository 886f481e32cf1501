"""Validate corpus files against the record format and the label scheme, collecting every problem.

Structural problems (invalid JSON, missing or mistyped keys, offsets that are
reversed or outside the text) come from ``models.corpus``; this module adds
the checks on content, for records whose structure is sound:

- duplicate ids across all files given;
- ``entities[].text`` that differs from ``text[start:end]`` (shifted offsets);
- entity labels and paragraph topics not in the corpus's scheme
  (``models.labels.scheme_for``: a ``labels.json`` beside the files, or the
  party-building default);
- entities not sorted by ``(start, end)``, and overlapping entities (flat NER);
- span edges, see :func:`edge_problem`; spans that cross a line break;
- paragraphs that are not exactly the trimmed non-empty lines of the text
  (``models.document.paragraph_spans``), in order;
- text that is not Unicode NFC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path

from models.corpus import Problem, Record, corpus_scheme, iter_records, jsonl_files
from models.document import paragraph_spans
from models.labels import LABELS_FILE, LabelScheme

__all__ = ["Problem", "validate", "edge_problem"]

# A closing character is a fine last character when the span also holds its opener:
# "Nghị quyết Trung ương 4 (khóa XII)", 'Công ty "Sao Mai"'.
_CLOSERS = {")": "(", "]": "[", "}": "{", "”": "“", "’": "‘", "»": "«", '"': '"'}


def validate(paths: str | Path | Iterable[str | Path], scheme: LabelScheme | None = None) -> list[Problem]:
    """Every problem in the corpus files under ``paths``, in file and line order.

    ``scheme`` overrides the label scheme; by default each file uses the
    nearest ``labels.json`` between its folder and the path it was found
    under, or the party-building scheme.  Raises
    :class:`~models.errors.CorpusError` for a path that does not exist or a
    ``labels.json`` that cannot be read.
    """
    roots = [paths] if isinstance(paths, (str, Path)) else list(paths)
    problems: list[Problem] = []
    first_seen: dict[str, Record] = {}
    seen_files: set[Path] = set()
    for root in roots:
        for file in jsonl_files(root):
            if file.resolve() in seen_files:
                continue
            seen_files.add(file.resolve())
            file_scheme = scheme or _scheme_for_file(file, Path(root))
            for record in iter_records(file):
                problems += record.problems
                problems += _duplicate_id(record, first_seen)
                if not record.problems:
                    problems += [
                        Problem(str(record.path), record.line, record.doc_id, message)
                        for message in content_problems(record.data, file_scheme)
                    ]
    return problems


def _scheme_for_file(file: Path, root: Path) -> LabelScheme:
    """The scheme declared by the nearest ``labels.json`` from the file's folder up to ``root``."""
    top = root if root.is_dir() else root.parent
    folder = file.parent
    while folder != top and top in folder.parents and not (folder / LABELS_FILE).is_file():
        folder = folder.parent
    return corpus_scheme(folder)


def _duplicate_id(record: Record, first_seen: dict[str, Record]) -> list[Problem]:
    doc_id = record.doc_id
    if doc_id is None:
        return []
    first = first_seen.setdefault(doc_id, record)
    if first is record:
        return []
    where = f"{first.path}:{first.line}"
    return [Problem(str(record.path), record.line, doc_id, f"duplicate id (first used at {where}); ids must be unique")]


def content_problems(record: dict, scheme: LabelScheme) -> list[str]:
    """Content problems of a structurally sound record (messages without location)."""
    text = record["text"]
    return (
        _nfc_problems(text)
        + _entity_problems(text, record["entities"], scheme)
        + _paragraph_problems(text, record["paragraphs"], scheme)
    )


def _nfc_problems(text: str) -> list[str]:
    if unicodedata.is_normalized("NFC", text):
        return []
    normal = unicodedata.normalize("NFC", text)
    start = next(i for i, (a, b) in enumerate(zip(text, normal)) if a != b)
    end = start + 1
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    codes = " ".join(f"U+{ord(c):04X}" for c in text[start:end])
    return [
        f"text is not Unicode NFC: at offset {start}, {unicodedata.normalize('NFC', text[start:end])!r} is written "
        f"as {codes}; normalise the raw text with unicodedata.normalize('NFC', ...) and annotate that"
    ]


def _entity_problems(text: str, entities: list[dict], scheme: LabelScheme) -> list[str]:
    problems = []
    for index, entity in enumerate(entities):
        where = _describe("entities", index, entity, text)
        surface = text[entity["start"] : entity["end"]]
        if "text" in entity and entity["text"] != surface:
            problems.append(
                f"{where}: 'text' is {entity['text']!r} but text[start:end] is {surface!r}; offsets shifted?"
            )
        if entity["label"] not in scheme.entities:
            problems.append(
                f"{where}: unknown label {entity['label']!r}; known: {', '.join(scheme.entities)} "
                f"(a corpus with other labels declares them in {LABELS_FILE} beside its files)"
            )
        edge = edge_problem(surface)
        if edge:
            problems.append(f"{where}: {edge}")
    return problems + _order_problems(text, entities)


def _order_problems(text: str, entities: list[dict]) -> list[str]:
    problems = []
    for index in range(1, len(entities)):
        before, entity = entities[index - 1], entities[index]
        if (entity["start"], entity["end"]) < (before["start"], before["end"]):
            problems.append(
                f"{_describe('entities', index, entity, text)} comes before "
                f"{_describe('entities', index - 1, before, text)}; sort entities by (start, end)"
            )
    order = sorted(range(len(entities)), key=lambda i: (entities[i]["start"], entities[i]["end"]))
    widest = None  # the earlier entity reaching furthest right
    for index in order:
        entity = entities[index]
        if widest is not None and entity["start"] < entities[widest]["end"]:
            problems.append(
                f"{_describe('entities', index, entity, text)} overlaps "
                f"{_describe('entities', widest, entities[widest], text)}; entities are flat: keep the outermost"
            )
        if widest is None or entity["end"] > entities[widest]["end"]:
            widest = index
    return problems


def edge_problem(span: str) -> str | None:
    """Why a span's edges are wrong, or ``None`` when they are fine.

    A span must not start or end with whitespace, punctuation or a symbol
    (Unicode categories P* and S*), nor cross a line break.  Inside, anything
    goes ("10-CT/TW", "03–ĐA/TU", "TP. Hồ Chí Minh").  One exception at the end:
    a closing bracket or quote is part of the name when the span also holds
    its opener ("Nghị quyết Trung ương 4 (khóa XII)").  A final full stop is
    always rejected: it is nearly always the sentence's, not the name's.
    """
    first, last = span[0], span[-1]
    if "\n" in span:
        return "span crosses a line break; an entity stays inside one paragraph"
    if first.isspace() or last.isspace():
        return f"span {'starts' if first.isspace() else 'ends'} with whitespace; trim it"
    if _is_punctuation(first):
        return f"span starts with punctuation {first!r}; move the start past it"
    if _is_punctuation(last) and not (last in _CLOSERS and _CLOSERS[last] in span[:-1]):
        return f"span ends with punctuation {last!r}; move the end before it"
    return None


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _paragraph_problems(text: str, paragraphs: list[dict], scheme: LabelScheme) -> list[str]:
    problems = []
    for index, paragraph in enumerate(paragraphs):
        where = _describe("paragraphs", index, paragraph, text)
        for topic in paragraph["topics"]:
            if topic not in scheme.topics:
                problems.append(f"{where}: unknown topic {topic!r}; known: {', '.join(scheme.topics) or '(none)'}")
        if len(set(paragraph["topics"])) != len(paragraph["topics"]):
            problems.append(f"{where}: a topic is listed twice")
    return problems + _paragraph_span_problems(text, paragraphs)


def _paragraph_span_problems(text: str, paragraphs: list[dict]) -> list[str]:
    expected = paragraph_spans(text)
    given = [(p["start"], p["end"]) for p in paragraphs]
    if given == expected:
        return []
    problems = []
    expected_set, seen = set(expected), set()
    for index, span in enumerate(given):
        where = _describe("paragraphs", index, paragraphs[index], text)
        if span not in expected_set:
            problems.append(f"{where} is not a non-empty line of the text (a paragraph is a whole line, trimmed)")
        elif span in seen:
            problems.append(f"{where} is listed twice")
        seen.add(span)
    for start, end in expected:
        if (start, end) not in seen:
            problems.append(
                f"line {_excerpt(text, start, end)} [{start}:{end}] has no paragraph; "
                f'add {{"start": {start}, "end": {end}, "topics": []}}'
            )
    if not problems:
        problems.append("paragraphs are not in text order; sort them by start")
    return problems


def _describe(kind: str, index: int, item: dict, text: str) -> str:
    label = f" {item['label']}" if "label" in item else ""
    return f"{kind}[{index}]{label} [{item['start']}:{item['end']}] {_excerpt(text, item['start'], item['end'])}"


def _excerpt(text: str, start: int, end: int, width: int = 40) -> str:
    span = text[start:end]
    return repr(span if len(span) <= width else span[: width - 1] + "…")
