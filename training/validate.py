"""Validate corpus files against the record format and the label scheme, collecting every problem.

Structural problems (invalid JSON, missing or mistyped keys, offsets that are
reversed or outside the text) come from ``xdd.models.document.corpus``; this module adds
the checks on content, for records whose structure is sound:

- duplicate ids across all files given;
- ``entities[].text`` that differs from ``text[start:end]`` (shifted offsets);
- entity labels and paragraph topics not in the corpus's scheme
  (``xdd.models.document.labels.scheme_for``: a ``labels.json`` beside the files, or the
  party-building default);
- entities not sorted by ``(start, end)``, and overlapping entities (flat NER);
- span edges, see :func:`edge_problem`; spans that cross a line break;
- paragraphs that are not exactly the trimmed non-empty lines of the text
  (``xdd.models.document.paragraph_spans``), in order;
- text that is not Unicode NFC;
- a corpus file that holds no document.

Most problems are errors: training refuses the corpus.  Two kinds are
warnings, reported but not blocking: punctuation at a span's edge in a corpus
that declares its own labels (the edge rule is the party-building annotators'
house style, not every corpus's; see :func:`house_style_applies`), and an
empty file beside files that do hold documents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from xdd.models.document import paragraph_spans
from xdd.models.document.corpus import (
    Problem,
    Record,
    Severity,
    iter_records,
    jsonl_files,
)
from xdd.models.document.labels import LABELS_FILE, PARTY_BUILDING, LabelScheme, scheme_for

__all__ = ["Problem", "check_corpus", "content_findings", "content_problems", "edge_problem", "validate"]

# A closing character is a fine last character when the span also holds its opener:
# "Nghị quyết Trung ương 4 (khóa XII)", 'Công ty "Sao Mai"'.
_CLOSERS = {")": "(", "]": "[", "}": "{", "”": "“", "’": "‘", "»": "«", '"': '"'}

# Roman numerals up to XXXIX: the numbered units and periods of Vietnamese
# names ("Khu vực I.", "quý IV.", "khóa XII.").
_ROMAN = re.compile(r"X{0,3}(IX|IV|V?I{0,3})")

# Appended to a house-style finding reported as a warning, so the reader knows why it does not block.
_HOUSE_STYLE_NOTE = " (party-building house style: a warning, not an error, in a corpus with its own labels)"


class Findings(NamedTuple):
    """Messages (without location) of one record: errors block training, warnings are only reported."""

    errors: list[str]
    warnings: list[str]


def validate(paths: str | Path | Iterable[str | Path], scheme: LabelScheme | None = None) -> list[Problem]:
    """The errors in the corpus files under ``paths`` (what stops training), in file and line order.

    Warnings are left out; :func:`check_corpus` returns them too.
    """
    return [problem for problem in check_corpus(paths, scheme) if not problem.is_warning]


def check_corpus(paths: str | Path | Iterable[str | Path], scheme: LabelScheme | None = None) -> list[Problem]:
    """Every error and warning in the corpus files under ``paths``, in file and line order.

    ``scheme`` overrides the label scheme; by default each file uses the
    nearest ``labels.json`` between its folder and the path it was found
    under, or the party-building scheme.  A path whose files hold no document
    at all is an error for each of its files (training would have nothing to
    learn from, and the cause is the file, not the split); an empty file
    beside files that hold documents is a warning.  Raises
    :class:`~xdd.models.errors.CorpusError` for a path that does not exist or a
    ``labels.json`` that cannot be read.
    """
    roots = [paths] if isinstance(paths, (str, Path)) else list(paths)
    problems: list[Problem] = []
    first_seen: dict[str, Record] = {}
    seen_files: set[Path] = set()
    for root in roots:
        files = [file for file in jsonl_files(root) if file.resolve() not in seen_files]
        seen_files.update(file.resolve() for file in files)
        checked = [_check_file(file, scheme or _scheme_for_file(file, Path(root)), first_seen) for file in files]
        root_is_empty = not any(count for _, count in checked)
        for file, (file_problems, count) in zip(files, checked):
            problems += file_problems
            if not count:
                problems.append(_empty_file_problem(file, "error" if root_is_empty else "warning"))
    return problems


def _check_file(file: Path, scheme: LabelScheme, first_seen: dict[str, Record]) -> tuple[list[Problem], int]:
    """The problems of one corpus file and how many records it holds (0: nothing to train on)."""
    problems: list[Problem] = []
    count = 0
    for record in iter_records(file):
        count += 1
        problems += record.problems
        problems += _duplicate_id(record, first_seen)
        if not record.problems:
            found = content_findings(record.data, scheme)
            problems += [
                Problem(str(file), record.line, record.doc_id, message, severity)
                for severity, messages in (("error", found.errors), ("warning", found.warnings))
                for message in messages
            ]
    return problems, count


def _empty_file_problem(file: Path, severity: Severity) -> Problem:
    """``PATH: no documents (...)``: an empty export or a truncated copy would otherwise train on nothing."""
    why = "the file is empty" if file.stat().st_size == 0 else "only blank lines"
    return Problem(str(file), None, None, f"no documents ({why})", severity)


def _scheme_for_file(file: Path, root: Path) -> LabelScheme:
    """The scheme declared by the nearest ``labels.json`` from the file's folder up to ``root``."""
    top = root if root.is_dir() else root.parent
    folder = file.parent
    while folder != top and top in folder.parents and not (folder / LABELS_FILE).is_file():
        folder = folder.parent
    return scheme_for(folder)


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
    """The content errors of a structurally sound record (messages without location); warnings left out."""
    return content_findings(record, scheme).errors


def content_findings(record: dict, scheme: LabelScheme) -> Findings:
    """Content errors and warnings of a structurally sound record (messages without location)."""
    text = record["text"]
    entities = _entity_problems(text, record["entities"], scheme)
    errors = _nfc_problems(text) + entities.errors + _paragraph_problems(text, record["paragraphs"], scheme)
    return Findings(errors, entities.warnings)


def house_style_applies(scheme: LabelScheme) -> bool:
    """Whether the party-building annotators' span-edge rule is an error (else a warning).

    It is their house style (``shared/annotation-scheme.md``, rule 1), so it
    binds a corpus in the party-building scheme, the one with no
    ``labels.json``.  A corpus that declares other labels comes from elsewhere
    (PhoNER_COVID19, VLSP 2016) with its own conventions; refusing it would
    make it untrainable for a matter of style.  The scheme is compared, not the
    file, so the trainers (which only see the scheme) judge as ``xdd validate``.
    """
    return scheme == PARTY_BUILDING


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


def _entity_problems(text: str, entities: list[dict], scheme: LabelScheme) -> Findings:
    problems, warnings = [], []
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
        edges = _edge_findings(where, surface, scheme)
        problems += edges.errors
        warnings += edges.warnings
    return Findings(problems + _order_problems(text, entities), warnings)


def _edge_findings(where: str, surface: str, scheme: LabelScheme) -> Findings:
    """The span-edge problem of one entity, an error or (house style, a foreign scheme) a warning."""
    boundary = _boundary_problem(surface)
    if boundary:
        return Findings([f"{where}: {boundary}"], [])
    style = _punctuation_problem(surface)
    if style is None:
        return Findings([], [])
    if house_style_applies(scheme):
        return Findings([f"{where}: {style}"], [])
    return Findings([], [f"{where}: {style}{_HOUSE_STYLE_NOTE}"])


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
    """Why a span's edges break the edge rule, or ``None`` when they are fine.

    A span must not start or end with whitespace, nor cross a line break
    (errors in every corpus: whitespace is never part of a name, and training
    works paragraph by paragraph).  Nor may it start or end with punctuation
    or a symbol (Unicode categories P* and S*), see :func:`_punctuation_problem`:
    the house style, an error or a warning by :func:`house_style_applies`.
    """
    return _boundary_problem(span) or _punctuation_problem(span)


def _boundary_problem(span: str) -> str | None:
    """A line break inside the span, or whitespace at an edge: wrong in any corpus."""
    first, last = span[0], span[-1]
    if "\n" in span:
        return "span crosses a line break; an entity stays inside one paragraph"
    if first.isspace() or last.isspace():
        return f"span {'starts' if first.isspace() else 'ends'} with whitespace; trim it"
    return None


def _punctuation_problem(span: str) -> str | None:
    """Punctuation or a symbol at an edge of the span, unless it belongs to the name.

    Inside, anything goes ("10-CT/TW", "03–ĐA/TU", "TP. Hồ Chí Minh").  At the
    end, a closing bracket or quote belongs to the name when the span also
    holds its opener ("Nghị quyết Trung ương 4 (khóa XII)"), and a full stop
    when the span ends in an abbreviation (:func:`ends_in_abbreviation`).  Any
    other final full stop is the sentence's, not the name's.
    """
    first, last = span[0], span[-1]
    if _is_punctuation(first):
        return f"span starts with punctuation {first!r}; move the start past it"
    if last in _CLOSERS and _CLOSERS[last] in span[:-1]:
        return None
    if last == "." and ends_in_abbreviation(span):
        return None
    if _is_punctuation(last):
        return f"span ends with punctuation {last!r}; move the end before it"
    return None


def ends_in_abbreviation(span: str) -> bool:
    """Whether the span's final full stop is part of an abbreviation, so that it belongs to the name.

    The last word, its final full stop left out, is letters separated by full
    stops ("N.Q.T.", "TP.HCM.", "Bệnh viện Nhiệt đới TP.HCM."), or a single
    letter or a roman numeral after another word ("Khu vực I.", "Nguyễn Văn
    A.").  Digits do not count ("Q.6.", "23/01/2021.": the stop ends the
    sentence), nor does a lone letter or numeral.
    """
    words = span.split()
    if not words[-1].endswith("."):
        return False
    parts = words[-1][:-1].split(".")
    if not all(part.isalpha() for part in parts):
        return False
    if len(parts) > 1:
        return True
    return len(words) > 1 and (len(parts[0]) == 1 or _ROMAN.fullmatch(parts[0]) is not None)


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
