"""Words, phrases and span edges as the conventions read them: syllable tokens on the original text.

Words are read as the text pipeline reads them (invisible characters such as a
soft hyphen inside a name do not cut it; case, composition and tone-mark
placement do not matter).  The phrase sets come from the shipped lexicons
(``xdd/models/nets/lexicons``) and from the scheme's own word lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import pairwise

from xdd.models.document import Entity
from xdd.models.nets.lexicons import read_lexicon, split_syllables, syllable_key
from xdd.models.text.normalize import drop_invisible
from xdd.models.text.syllables import syllable_spans


Token = tuple[int, int]
Phrases = frozenset[tuple[str, ...]]


def phrase_set(entries: Iterable[str]) -> Phrases:
    """The entries as syllable-key tuples, the form every rule compares words in."""
    return frozenset(k for k in (tuple(syllable_key(s) for s in split_syllables(e)) for e in entries) if k)


def _lexicon(*names: str) -> Phrases:
    return phrase_set(e for name in names for e in read_lexicon(name))


DATE_HEADS = _lexicon("date_heads")
WEEKDAYS = _lexicon("weekdays")
POSITION_HEADS = _lexicon("positions")
TITLES_AND_BODIES = _lexicon("positions", "organisations")
DOCUMENT_TYPES = _lexicon("documents")
FAMILY_NAMES = _lexicon("surnames") - phrase_set(["Văn", "Thị"])  # the lexicon's two middle names are no family names
SCHEME_UNITS = phrase_set(["tỉnh", "thành phố", "huyện", "quận", "thị xã", "thị trấn", "xã", "phường", "thôn", "xóm",
                         "bản"])  # fmt: skip
HONORIFICS = phrase_set(["đồng chí", "đ/c", "ông", "bà", "anh", "chị", "cụ"])
ORG_PREFIXES = phrase_set(["toàn", "đại diện", "lãnh đạo"])
INSTITUTIONS = phrase_set(["Đảng", "Nhà nước", "Trung ương"])
QUANTIFIERS = phrase_set(["các", "những", "nhiều", "mấy", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
                        "mười"])  # fmt: skip
FUNCTION_WORDS = phrase_set([
    "là", "của", "và", "với", "đã", "đang", "sẽ", "được", "bị", "có", "cho", "tại", "về", "từ", "đến", "trong",
    "cũng", "đều", "thì", "mà", "này", "đó", "nay", "vẫn", "còn", "dự", "theo", "để", "do", "khi",
])  # fmt: skip
JOINERS = phrase_set(["đến", "tới", "và", "hoặc", "cho đến"])
SCOPE_HOME = phrase_set(["nhà"])  # "huyện nhà": our district

SPACE = "[ \t\u00a0]"
ONE_SPACE = re.compile(rf"{SPACE}")


def word_tokens(text: str, start: int, end: int) -> list[Token]:
    """The syllable tokens of ``text[start:end]``; invisible characters inside a word do not cut it."""
    visible, kept = drop_invisible(text[start:end])
    if kept is None:
        return syllable_spans(text, start, end)
    return [(start + kept[a], start + kept[b - 1] + 1) for a, b in syllable_spans(visible)]


def token_key(text: str, token: Token) -> str:
    return syllable_key(text[token[0] : token[1]])


def token_keys(text: str, tokens: Sequence[Token]) -> tuple[str, ...]:
    return tuple(token_key(text, t) for t in tokens)


def is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


_CLOSING = {")": "(", "]": "[", "}": "{"}


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without leading/trailing whitespace and punctuation (a balanced closing bracket stays)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or is_punct(text[start])):
            start += 1
        while start < end and (text[end - 1].isspace() or is_punct(text[end - 1])):
            opening = _CLOSING.get(text[end - 1])
            if opening is not None and _balanced(text[start : end - 1], opening, text[end - 1]):
                break
            end -= 1
        if (start, end) == before:
            return start, end


def _balanced(inside: str, opening: str, closing: str) -> bool:
    """Whether a closing bracket after ``inside`` closes an opening bracket within it."""
    depth = 0
    for char in inside:
        if char == opening:
            depth += 1
        elif char == closing and depth:
            depth -= 1
    return depth > 0


def prefix_length(text: str, tokens: Sequence[Token], phrases: Phrases, at: int = 0) -> int:
    """The number of tokens of the longest phrase of ``phrases`` starting at token ``at`` (0 if none)."""
    best, keys = 0, []
    for k in range(at, min(len(tokens), at + 6)):
        keys.append(token_key(text, tokens[k]))
        if tuple(keys) in phrases:
            best = len(keys)
    return best


def spaced(text: str, tokens: Sequence[Token]) -> bool:
    """Whether consecutive tokens are separated by whitespace only (one word run, no punctuation)."""
    return all(text[a[1] : b[0]].isspace() for a, b in pairwise(tokens))


def line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def tokens_before(text: str, start: int, limit: int, n: int = 5) -> list[Token]:
    """Up to ``n`` whole tokens right before ``start``, after ``limit`` and on the same line."""
    limit = max(limit, line_start(text, start), start - 48)
    tokens = word_tokens(text, limit, start)
    if tokens and tokens[0][0] == limit and limit > 0 and text[limit - 1].isalnum():
        tokens = tokens[1:]  # cut by the window
    return tokens[-n:]


def tokens_after(text: str, end: int, limit: int, n: int = 5) -> list[Token]:
    limit = min(limit, line_end(text, end), end + 48)
    tokens = word_tokens(text, end, limit)
    if tokens and tokens[-1][1] == limit and limit < len(text) and text[limit].isalnum():
        tokens = tokens[:-1]
    return tokens[:n]


def fit(text: str, entity: Entity) -> Entity | None:
    start, end = trim(text, entity.start, entity.end)
    if start >= end or "\n" in text[start:end]:
        return None
    return replace(entity, start=start, end=end)


def no_overlaps(entities: list[Entity]) -> list[Entity]:
    """Sorted, empty spans dropped; of overlapping spans the first (then longest) is kept."""
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if entity.start < entity.end and (not kept or entity.start >= kept[-1].end):
            kept.append(entity)
    return kept


def mean_score(*entities: Entity) -> float | None:
    scores = [e.score for e in entities if e.score is not None]
    return sum(scores) / len(scores) if scores else None
