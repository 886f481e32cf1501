"""Rule 6 of :mod:`xdd.models.predict.conventions`: the unit word before a single place name belongs to its LOC."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from xdd.models.document import Entity
from xdd.models.nets.lexicons import syllable_key
from xdd.models.predict.conventions.words import (
    ONE_SPACE,
    QUANTIFIERS,
    SCHEME_UNITS,
    SPACE,
    line_start,
    prefix_length,
    spaced,
    token_keys,
    tokens_before,
    word_tokens,
)


COORDINATION_GAP = re.compile(rf"{SPACE}*(?:,|và|hoặc|,{SPACE}*và){SPACE}*")
_SENTENCE_END = ".!?:…"


def unit_before(text: str, start: int, limit: int) -> int | None:
    """The start of a unit word that ends one space before ``start`` (and after ``limit``), if any."""
    tokens = tokens_before(text, start, limit, 3)
    if not tokens or not ONE_SPACE.fullmatch(text[tokens[-1][1] : start]):
        return None
    for n in (3, 2, 1):
        piece = tokens[-n:]
        if len(piece) == n and spaced(text, piece) and token_keys(text, piece) in SCHEME_UNITS:
            return piece[0][0]
    return None


def _unit_allowed(text: str, unit_start: int) -> bool:
    """A unit word counts when lower case, or capitalised at the start of a line or sentence."""
    if text[unit_start].islower():
        return True
    before = text[line_start(text, unit_start) : unit_start].rstrip()
    return not before or before[-1] in _SENTENCE_END or before[-1] in "“\"-–—("


def _unit_prefix(text: str, entity: Entity) -> int:
    """Where a LOC's name starts after the unit word it starts with (its start if none)."""
    tokens = word_tokens(text, entity.start, entity.end)
    n = prefix_length(text, tokens, SCHEME_UNITS)
    if n and n < len(tokens) and _unit_allowed(text, entity.start):
        return tokens[n][0]
    return entity.start


def _quantified(text: str, unit_start: int) -> bool:
    """Whether a number or quantifier comes right before the unit word ("3 xã", "các xã", "hai xã")."""
    tokens = tokens_before(text, unit_start, 0, 1)
    if not tokens or not text[tokens[-1][1] : unit_start].isspace():
        return False
    last = text[tokens[-1][0] : tokens[-1][1]]
    return last.isdigit() or (syllable_key(last),) in QUANTIFIERS


def locations(text: str, spans: list[Entity]) -> list[Entity]:
    out = list(spans)
    names = [_unit_prefix(text, e) if e.label == "LOC" else e.start for e in out]
    for i, entity in enumerate(out):
        if entity.label != "LOC":
            continue
        coordinated = _coordinated(text, out, names, i)
        if names[i] != entity.start:  # starts with its unit word
            if coordinated or _quantified(text, entity.start):
                out[i] = replace(entity, start=names[i])
            continue
        unit = unit_before(text, entity.start, out[i - 1].end if i else 0)
        if unit is None or coordinated or _quantified(text, unit) or not _unit_allowed(text, unit):
            continue
        out[i] = replace(entity, start=unit)
    return out


def _coordinated(text: str, spans: Sequence[Entity], names: Sequence[int], i: int) -> bool:
    """Whether LOC ``i`` is coordinated with the LOC name right before or after it ("A, B và C")."""
    after = i + 1 < len(spans) and spans[i + 1].label == "LOC"
    if after and COORDINATION_GAP.fullmatch(text[spans[i].end : names[i + 1]]):
        return True
    before = i > 0 and spans[i - 1].label == "LOC"
    return bool(before and COORDINATION_GAP.fullmatch(text[spans[i - 1].end : names[i]]))
