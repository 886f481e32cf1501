"""Rule 5 of :mod:`xdd.models.predict.conventions`: a span edge inside a known title, body or document type moves out."""

from __future__ import annotations

import re
from dataclasses import replace

from xdd.models.document import Entity
from xdd.models.predict.conventions.words import (
    DOCUMENT_TYPES,
    SPACE,
    TITLES_AND_BODIES,
    Phrases,
    Token,
    line_end,
    spaced,
    token_keys,
    tokens_after,
    tokens_before,
    word_tokens,
)


CODE_REST = re.compile(r"[-–/][\w/–-]*\w")
DOCUMENT_NUMBER_AFTER = re.compile(
    rf"{SPACE}+lần{SPACE}+thứ{SPACE}+(?:[IVXL]+|\d+)(?!\w)|{SPACE}*\(kh(?:óa|oá){SPACE}+(?:[IVXL]+|\d+)\)",
    re.IGNORECASE,
)


def complete_phrases(text: str, spans: list[Entity]) -> list[Entity]:
    """ORG/POSITION/DOCUMENT edges inside a known phrase move out to the phrase's edge; document codes are whole."""
    out = list(spans)
    for i, entity in enumerate(out):
        phrases = DOCUMENT_TYPES if entity.label == "DOCUMENT" else TITLES_AND_BODIES
        if entity.label not in ("ORG", "POSITION", "DOCUMENT"):
            continue
        left = out[i - 1].end if i else 0
        right = out[i + 1].start if i + 1 < len(out) else len(text)
        start, end = entity.start, entity.end
        inside = word_tokens(text, start, end)
        before = tokens_before(text, start, left, 4)
        after = tokens_after(text, end, right, 4)
        start = _across_start(text, before, inside, phrases) or start
        end = _across_end(text, inside, after, phrases) or end
        if entity.label == "DOCUMENT":
            end = _document_end(text, end, right)
        out[i] = replace(entity, start=start, end=end)
    return out


def _across_start(text: str, before: list[Token], inside: list[Token], phrases: Phrases) -> int | None:
    """The start of the longest capitalised phrase that begins before the span and ends inside it."""
    if not before or not inside or not text[before[-1][1] : inside[0][0]].isspace():
        return None
    for k in range(len(before), 0, -1):
        head = before[-k:]
        if not spaced(text, head) or not text[head[0][0]].isupper():
            continue
        for m in range(1, min(len(inside), 6 - k) + 1):
            if spaced(text, inside[:m]) and token_keys(text, head) + token_keys(text, inside[:m]) in phrases:
                return head[0][0]
    return None


def _across_end(text: str, inside: list[Token], after: list[Token], phrases: Phrases) -> int | None:
    """The end of the longest phrase that begins inside the span and ends after it."""
    if not after or not inside or not text[inside[-1][1] : after[0][0]].isspace():
        return None
    for k in range(len(after), 0, -1):
        tail = after[:k]
        if not spaced(text, tail):
            continue
        for m in range(1, min(len(inside), 6 - k) + 1):
            if spaced(text, inside[-m:]) and token_keys(text, inside[-m:]) + token_keys(text, tail) in phrases:
                return tail[-1][1]
    return None


def _document_end(text: str, end: int, limit: int) -> int:
    """A DOCUMENT's end past a code glued to it ("10" + "-CT/TW") and a congress/plenum number after it."""
    limit = min(limit, line_end(text, end))
    glued = CODE_REST.match(text, end, limit)
    if glued is not None and end > 0 and text[end - 1].isalnum():
        end = glued.end()
    number = DOCUMENT_NUMBER_AFTER.match(text, end, limit)
    return number.end() if number is not None else end
