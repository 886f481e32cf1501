"""Canonical syllable tokenisation of the original text.

Whitespace separates tokens and every punctuation or symbol character is a
token of its own, so ``"10-CT/TW"`` is ``10 - CT / TW``.  It is the word-level
grid shared by the CoNLL converter and the evaluation harness: it does not
depend on any word segmenter, so segmentation mistakes of a model still count
against it when its spans are scored on this grid.
"""

from __future__ import annotations

import re

# Letters, digits and underscore, plus combining marks so that decomposed
# (NFD) Vietnamese syllables stay one token.
_TOKEN = re.compile(r"[\w\u0300-\u036f\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+|[^\w\s]")


def syllable_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the syllable tokens of ``text[start:end]``, as offsets into ``text``."""
    end = len(text) if end is None else end
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
