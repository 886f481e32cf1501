"""Rule 4 of :mod:`xdd.models.predict.conventions`: DATE pieces, the words before the number, and date context."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from xdd.models.document import Entity
from xdd.models.predict.conventions.words import (
    DATE_HEADS,
    JOINERS,
    SPACE,
    WEEKDAYS,
    Token,
    line_end,
    line_start,
    prefix_length,
    token_key,
    trim,
    word_tokens,
)


ROMAN = re.compile(r"^(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})$")
TIMEZONE = re.compile(r"\b(?:GMT|UTC)\b", re.IGNORECASE)
CLOCK = r"(?:[01]?\d|2[0-3])\s?[:h]\s?[0-5]\d"
_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)"
WEEKDAY_BEFORE = re.compile(rf"(?:(?<![\w:]){CLOCK}\s*,?\s*)?(?<!\w){_WEEKDAY}\s*,?\s*$", re.IGNORECASE)
CLOCK_BEFORE = re.compile(rf"(?<![\w:]){CLOCK}\s*,\s*$")
CLOCK_AFTER = re.compile(rf"{SPACE}+{CLOCK}(?![\w:])")
FULL_DATE = re.compile(r"\d\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}")
DATE_PARTS_BEFORE = re.compile(
    rf"(?<!\w)(?:(?:ngày|tháng|quý){SPACE}+(?:\d{{1,2}}|[IVX]+){SPACE}+|\d{{1,2}}{SPACE}+tháng{SPACE}+"
    rf"(?:đầu|cuối){SPACE}+)+$",
    re.IGNORECASE,
)


def _has_number(text: str, tokens: Sequence[Token]) -> bool:
    if any(text[a].isdigit() for a, _ in tokens):
        return True
    return any(
        ROMAN.match(text[a:b]) and k and (token_key(text, tokens[k - 1]),) in DATE_HEADS for k, (a, b) in enumerate(tokens)
    )


def date_pieces(text: str, date: Entity) -> list[Entity]:
    """A DATE split at brackets and at joining words, each piece without the words before its number."""
    pieces: list[tuple[int, int]] = []
    at = date.start
    for match in re.finditer(r"[()\[\]]", text[date.start : date.end]):
        pieces.append((at, date.start + match.start()))
        at = date.start + match.end()
    pieces.append((at, date.end))
    out: list[Entity] = []
    for a, b in pieces:
        if TIMEZONE.search(text[a:b]):
            continue
        for c, d in _split_at_joiners(text, a, b):
            start = _date_start(text, c, d)
            if start is not None:
                out.append(replace(date, start=start, end=d))
    return out


def _split_at_joiners(text: str, start: int, end: int) -> list[tuple[int, int]]:
    tokens = word_tokens(text, start, end)
    parts: list[tuple[int, int]] = []
    at, k = start, 0
    while k < len(tokens):
        n = prefix_length(text, tokens, JOINERS, k)
        if n and k > 0:
            parts.append((at, tokens[k][0]))
            at = tokens[k + n][0] if k + n < len(tokens) else end
            k += n
        else:
            k += 1
    parts.append((at, end))
    return [(a, b) for a, b in parts if _has_number(text, word_tokens(text, a, b))]


def _date_start(text: str, start: int, end: int) -> int | None:
    """Where the DATE ``[start, end)`` starts once the words before its number are gone; None if no number."""
    start, end = trim(text, start, end)
    tokens = word_tokens(text, start, end)
    if not _has_number(text, tokens):
        return None
    k = 0
    while k < len(tokens):
        if text[tokens[k][0]].isdigit() or prefix_length(text, tokens, WEEKDAYS, k):
            break
        head = prefix_length(text, tokens, DATE_HEADS, k)
        if head and k + head < len(tokens):
            following = text[tokens[k + head][0] : tokens[k + head][1]]
            if following[0].isdigit() or ROMAN.match(following):
                break
        k += 1
    return tokens[k][0] if k < len(tokens) else None


def date_context(text: str, spans: list[Entity]) -> list[Entity]:
    """A weekday, clock time or numbered date part next to a DATE joins it (rule 13, guidelines 39 and 42)."""
    out = list(spans)
    for i, entity in enumerate(out):
        if entity.label != "DATE":
            continue
        start, end = entity.start, entity.end
        left_limit = max(out[i - 1].end if i else 0, line_start(text, start))
        before = text[left_limit:start]
        if text[start].isdigit():
            match = WEEKDAY_BEFORE.search(before) or CLOCK_BEFORE.search(before)
        elif prefix_length(text, word_tokens(text, start, end), DATE_HEADS):
            match = DATE_PARTS_BEFORE.search(before)
        else:
            match = None
        if match is not None:
            start = left_limit + match.start()
        if FULL_DATE.search(text[entity.start : entity.end]):
            right_limit = min(out[i + 1].start if i + 1 < len(out) else len(text), line_end(text, end))
            after = CLOCK_AFTER.match(text, end, right_limit)
            if after is not None:
                end = after.end()
        out[i] = replace(entity, start=start, end=end)
    return out
