"""Rules 1-3 of :mod:`xdd.models.predict.conventions`: what one entity's own text decides (edges, label, prefixes)."""

from __future__ import annotations

import re
from dataclasses import replace

from xdd.models.document import Entity
from xdd.models.nets.lexicons import syllable_key
from xdd.models.predict.conventions.dates import date_pieces
from xdd.models.predict.conventions.words import (
    DOCUMENT_TYPES,
    FUNCTION_WORDS,
    HONORIFICS,
    ORG_PREFIXES,
    POSITION_HEADS,
    SCHEME_UNITS,
    WEEKDAYS,
    Phrases,
    fit,
    phrase_set,
    prefix_length,
    token_key,
    trim,
    word_tokens,
)


def own_edges(text: str, entity: Entity) -> list[Entity]:
    """The entity after the rules that need nothing but its own text (possibly several DATEs, possibly none)."""
    fitted = fit(text, entity)
    if fitted is None:
        return []
    fitted = _relabel(text, fitted)
    if fitted is None:
        return []
    if fitted.label == "DATE":
        return [d for d in (fit(text, piece) for piece in date_pieces(text, fitted)) if d is not None]
    start, end = fitted.start, fitted.end
    if fitted.label in ("PER", "POSITION"):
        start = _strip_label(text, start, end)
        start = _strip_prefix(text, start, end, HONORIFICS)
    if fitted.label == "PER":
        start, end = _capitalised_only(text, start, end)
    if fitted.label == "ORG":
        start = _strip_prefix(text, start, end, ORG_PREFIXES)
    if fitted.label in ("ORG", "POSITION"):
        end = _strip_trailing_function_words(text, start, end)
    if fitted.label == "LOC":
        start = _strip_prefix(text, start, end, phrase_set(["nước"]))
        tokens = word_tokens(text, start, end)
        if tokens and prefix_length(text, tokens, SCHEME_UNITS) == len(tokens):
            return []  # a unit word without a name
    result = fit(text, replace(fitted, start=start, end=end))
    return [result] if result is not None else []


def _relabel(text: str, entity: Entity) -> Entity | None:
    """The label the span's first words decide: document type + number, title, weekday."""
    tokens = word_tokens(text, entity.start, entity.end)
    if not tokens or not text[tokens[0][0]].isupper():
        return entity
    if entity.label != "DOCUMENT":
        n = prefix_length(text, tokens, DOCUMENT_TYPES)
        if n and n < len(tokens):
            following = text[tokens[n][0] : tokens[n][1]]
            if following[0].isdigit() or (syllable_key(following) == "số" and n + 1 < len(tokens)):
                return replace(entity, label="DOCUMENT")
    if entity.label in ("ORG", "LOC") and prefix_length(text, tokens, POSITION_HEADS):
        return replace(entity, label="POSITION")
    if entity.label in ("PER", "ORG", "LOC") and prefix_length(text, tokens, WEEKDAYS) == len(tokens):
        return None
    return entity


def _strip_label(text: str, start: int, end: int) -> int:
    """Past a leading label ending in a colon ("Tác giả: Lê Lan" -> "Lê Lan"), when only letters come before it."""
    head = text[start:end]
    colon = head.find(":")
    if 0 < colon < len(head) - 1 and re.fullmatch(r"[^\W\d_]+(?:\s[^\W\d_]+){0,2}\s?", head[:colon]):
        return trim(text, start + colon + 1, end)[0]
    return start


def _strip_prefix(text: str, start: int, end: int, phrases: Phrases) -> int:
    """Past a leading phrase of ``phrases`` when a capitalised word follows it."""
    tokens = word_tokens(text, start, end)
    n = prefix_length(text, tokens, phrases)
    if not n or n == len(tokens) or not text[tokens[n][0]].isupper():
        return start
    return tokens[n][0]


def _capitalised_only(text: str, start: int, end: int) -> tuple[int, int]:
    """A person's name is its capitalised syllables: lower-case words at its edges go."""
    tokens = [t for t in word_tokens(text, start, end) if text[t[0]].isalnum()]
    while tokens and text[tokens[0][0]].islower():
        tokens.pop(0)
    while tokens and text[tokens[-1][0]].islower():
        tokens.pop()
    if not tokens:
        return start, start
    return tokens[0][0], tokens[-1][1]


def _strip_trailing_function_words(text: str, start: int, end: int) -> int:
    tokens = word_tokens(text, start, end)
    while len(tokens) > 1:
        last = (token_key(text, tokens[-1]),)
        after_function_word = len(tokens) > 2 and (token_key(text, tokens[-2]),) in FUNCTION_WORDS
        if last in FUNCTION_WORDS or (last[0].isdigit() and after_function_word):
            tokens.pop()
            continue
        break
    return tokens[-1][1] if tokens else end
