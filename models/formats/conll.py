"""The one CoNLL writer (BIO, one token per line), for ``xdd convert --to conll`` and ``xdd predict --format conll``.

One ``-DOCSTART-<TAB>ID<TAB>O`` line and a blank line per document (CoNLL-2003
readers skip it; ours reads the id back), then one sentence per paragraph, one
``TOKEN<TAB>TAG`` line per syllable token of :mod:`xdd.models.text.syllables`
and a blank line after each sentence.  Tags are IOB2.

An entity the token grid cannot hold (an edge inside a token, a span across
paragraphs, an overlap) is not written and never snapped to other tokens: each
comes back as a warning naming the document and the entity.
"""

from __future__ import annotations

from xdd.models.document import Document, paragraph_spans
from xdd.models.text.syllables import syllable_spans

DOCSTART = "-DOCSTART-"


def conll_document(doc: Document) -> tuple[str, list[str]]:
    """The CoNLL lines of one document, and a warning for every entity they cannot hold."""
    spans = [(p.start, p.end) for p in doc.paragraphs] or paragraph_spans(doc.text)
    tokens = [syllable_spans(doc.text, start, end) for start, end in spans]
    tags, warnings = _token_tags(doc, tokens)
    lines = [f"{DOCSTART}\t{doc.id}\tO", ""]
    for paragraph in tokens:
        lines += [f"{doc.text[s:e]}\t{tags.get(s, 'O')}" for s, e in paragraph]
        lines.append("")
    return "".join(line + "\n" for line in lines), warnings


def _token_tags(doc: Document, tokens: list[list[tuple[int, int]]]) -> tuple[dict[int, str], list[str]]:
    """IOB2 tags keyed by token start offset; a warning for each entity the token grid cannot express."""
    token_start: dict[int, int] = {}  # char offset -> token index
    token_end: dict[int, int] = {}
    paragraph_of: list[int] = []
    starts: list[int] = []
    for number, paragraph in enumerate(tokens):
        for s, e in paragraph:
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
