"""CoNLL (BIO, one token per line) import and export.

Export: :func:`xdd.models.formats.conll.conll_document` (the writer
``xdd predict --format conll`` uses too), plus warnings for what CoNLL cannot
hold (topics, metadata, scores).

Import: tab- or space-separated columns, token in the first, tag in the last
(or ``tag_column``: raw VLSP 2016 files have five columns, the NE tag in the
fourth).  IOB2 and IOB1 are read (an ``I-`` that starts an entity opens it).
``_`` inside a token joins syllables (VLSP 2016, PhoNER_COVID19): it becomes a
space.  Tokens are joined by single spaces, sentences by ``\\n``, so every
sentence becomes a paragraph.  With ``-DOCSTART-`` lines, the sentences between
them form one document; without any, every sentence is its own document.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities
from xdd.models.document import Document, Entity
from xdd.models.errors import CorpusError
from xdd.models.formats.conll import DOCSTART, conll_document
from xdd.training.convert_common import (
    Imported,
    lost,
    lost_scores,
    no_topics_warning,
    untopical_paragraphs,
)


Token = tuple[str, str, int]  # (token, tag, line number)


# --- export --------------------------------------------------------------


def dump_conll(docs: list[Document]) -> tuple[str, list[str]]:
    """CoNLL text for the documents, and a warning for every entity or annotation it cannot hold."""
    parts: list[str] = []
    warnings: list[str] = []
    for doc in docs:
        text, doc_warnings = conll_document(doc)
        parts.append(text)
        warnings += doc_warnings
    topical = sum(bool(p.topics) for d in docs for p in d.paragraphs)
    warnings += lost("conll", "paragraph topics (paragraphs with topics)", topical)
    warnings += lost("conll", "document metadata (documents with 'meta')", sum(bool(d.meta) for d in docs))
    warnings += lost_scores(docs, "conll")
    underscored = sum("_" in line.split("\t")[0] for part in parts for line in part.splitlines()[2:])
    if underscored:
        warnings.append(f"{underscored} token(s) contain '_', which CoNLL readers (this one too) read back as a space")
    return "".join(parts), warnings


# --- import --------------------------------------------------------------


def read_conll(path: str | Path, tag_column: int = -1) -> Imported:
    """Documents from a CoNLL file; raises :class:`CorpusError` naming every bad line."""
    path = Path(path)
    preamble, groups, errors = _parse(path, tag_column)
    if errors:
        raise CorpusError("\n".join(errors + [f"{len(errors)} problem(s) in {path}"]))
    if not groups:  # no -DOCSTART-: a sentence-level corpus, every sentence is a document
        groups = [_Group(None, sentence[0][2], [sentence]) for sentence in preamble]
    elif preamble:
        groups.insert(0, _Group(None, preamble[0][0][2], preamble))
    imported = Imported()
    normalised = 0
    for number, group in enumerate(groups, start=1):
        doc, changed = _document(group.doc_id or f"{path.stem}-{number:05d}", group.sentences)
        normalised += changed
        imported.add(doc, f"{path}:{group.line}")
    paragraphs = sum(len(d.paragraphs) for d in imported.documents)
    imported.warnings += no_topics_warning("conll", len(imported.documents), paragraphs)
    if normalised:
        imported.warnings.append(f"{normalised} token(s) were not Unicode NFC and were normalised")
    return imported


@dataclass
class _Group:
    """The sentences of one document and the line where it starts."""

    doc_id: str | None
    line: int
    sentences: list[list[Token]] = field(default_factory=list)


def _parse(path: Path, tag_column: int) -> tuple[list[list[Token]], list[_Group], list[str]]:
    """Sentences before any ``-DOCSTART-``, the documents that follow, and every bad line."""
    preamble: list[list[Token]] = []
    groups: list[_Group] = []
    sentence: list[Token] = []
    errors: list[str] = []
    for number, line in enumerate(_lines(path), start=1):
        fields = [f.strip() for f in line.strip().split("\t")] if "\t" in line else line.split()
        if not fields or fields[0] == DOCSTART:
            if sentence:
                (groups[-1].sentences if groups else preamble).append(sentence)
                sentence = []
            if fields:
                groups.append(_Group(fields[1] if len(fields) == 3 and fields[1] != "-X-" else None, number))
            continue
        problem = _token_problem(fields, tag_column)
        if problem:
            errors.append(f"{path}:{number}: {problem}")
        else:
            sentence.append((fields[0], fields[tag_column], number))
    if sentence:
        (groups[-1].sentences if groups else preamble).append(sentence)
    return preamble, groups, errors


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()  # utf-8-sig: a leading BOM is not text
    except UnicodeDecodeError as err:
        raise CorpusError(f"{path}: not valid UTF-8 (byte offset {err.start}); re-save the file as UTF-8") from err
    except OSError as err:
        raise CorpusError(f"{path}: cannot read: {err.strerror}") from err


def _token_problem(fields: list[str], tag_column: int) -> str | None:
    if len(fields) < 2:
        return f"expected a token and a tag separated by a tab or spaces, got {' '.join(fields)!r}"
    try:
        tag = fields[tag_column]
    except IndexError:
        return f"no column {tag_column} in a line of {len(fields)} columns (see --tag-column)"
    if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
        return f"tag {tag!r} is not BIO: expected O, B-LABEL or I-LABEL (BIOES files are not supported)"
    return None


def _document(doc_id: str, sentences: list[list[Token]]) -> tuple[Document, int]:
    """The document of some sentences, and how many tokens had to be NFC-normalised."""
    lines, entities, normalised = [], [], 0
    offset = 0
    for sentence in sentences:
        words = [_word(token) for token, _, _ in sentence]
        normalised += sum(word != unicodedata.normalize("NFC", word) for word in words)
        words = [unicodedata.normalize("NFC", word) for word in words]
        starts = []
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        for label, first, last in get_entities([tag for _, tag, _ in sentence]):
            start, end = starts[first], starts[last] + len(words[last])
            entities.append((start, end, label))
        lines.append(" ".join(words))
    text = "\n".join(lines)
    doc = Document(
        id=doc_id,
        text=text,
        entities=[Entity(s, e, label, text[s:e]) for s, e, label in entities],
        paragraphs=untopical_paragraphs(text),
    )
    return doc, normalised


def _word(token: str) -> str:
    """A token with ``_`` between syllables turned into spaces (a token of underscores only stays)."""
    parts = [part for part in token.split("_") if part]
    return " ".join(parts) if parts else token
