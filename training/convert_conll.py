"""CoNLL (BIO, one token per line) import and export.

Export: one ``-DOCSTART-<TAB>ID<TAB>O`` line and a blank line per document
(CoNLL-2003 readers skip it; ours reads the id back), then one sentence per
paragraph, one ``TOKEN<TAB>TAG`` line per syllable token of
``models.syllables`` and a blank line after each sentence.  Tags are IOB2.

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

from models.document import Document, Entity, paragraph_spans
from models.errors import CorpusError
from models.syllables import syllable_spans
from training.convert_common import Imported, lost, lost_scores, no_topics_warning, untopical_paragraphs

DOCSTART = "-DOCSTART-"

Token = tuple[str, str, int]  # (token, tag, line number)


# --- export --------------------------------------------------------------


def dump_conll(docs: list[Document]) -> tuple[str, list[str]]:
    """CoNLL text for the documents, and a warning for every entity or annotation it cannot hold."""
    lines: list[str] = []
    warnings: list[str] = []
    underscored = 0
    for doc in docs:
        lines += [f"{DOCSTART}\t{doc.id}\tO", ""]
        tags, doc_warnings = _token_tags(doc)
        warnings += doc_warnings
        for start, end in paragraph_spans(doc.text):
            for s, e in syllable_spans(doc.text, start, end):
                token = doc.text[s:e]
                underscored += "_" in token
                lines.append(f"{token}\t{tags.get(s, 'O')}")
            lines.append("")
    topical = sum(bool(p.topics) for d in docs for p in d.paragraphs)
    warnings += lost("conll", "paragraph topics (paragraphs with topics)", topical)
    warnings += lost("conll", "document metadata (documents with 'meta')", sum(bool(d.meta) for d in docs))
    warnings += lost_scores(docs, "conll")
    if underscored:
        warnings.append(f"{underscored} token(s) contain '_', which CoNLL readers (this one too) read back as a space")
    return "".join(line + "\n" for line in lines), warnings


def _token_tags(doc: Document) -> tuple[dict[int, str], list[str]]:
    """IOB2 tags keyed by token start offset; a warning for each entity the token grid cannot express."""
    token_start: dict[int, int] = {}  # char offset -> token index
    token_end: dict[int, int] = {}
    paragraph_of: list[int] = []
    starts: list[int] = []
    for number, (start, end) in enumerate(paragraph_spans(doc.text)):
        for s, e in syllable_spans(doc.text, start, end):
            token_start[s], token_end[e] = len(starts), len(starts)
            starts.append(s)
            paragraph_of.append(number)
    tags: dict[int, str] = {}
    warnings = []
    for entity in sorted(doc.entities, key=lambda e: (e.start, -e.end)):  # of overlapping ones, the outermost wins
        first, last = token_start.get(entity.start), token_end.get(entity.end)
        if first is None or last is None:
            reason = (
                "its start or end falls inside a token or on whitespace "
                "(tokens are syllables and single punctuation marks)"
            )
        elif paragraph_of[first] != paragraph_of[last]:
            reason = "it crosses a paragraph (a CoNLL sentence)"
        elif any(starts[i] in tags for i in range(first, last + 1)):
            reason = "it overlaps another entity and BIO tags are flat"
        else:
            for i in range(first, last + 1):
                tags[starts[i]] = f"{'B' if i == first else 'I'}-{entity.label}"
            continue
        surface = doc.text[entity.start : entity.end]
        where = f"id={doc.id}: entity {entity.label} [{entity.start}:{entity.end}] {surface!r}"
        warnings.append(f"{where} not written: {reason}")
    return tags, warnings


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
        return path.read_text(encoding="utf-8").splitlines()
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
