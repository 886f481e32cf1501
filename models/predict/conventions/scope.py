"""Rule 7 of :mod:`xdd.models.predict.conventions`: the body or place that scopes an ORG or POSITION, and names out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from xdd.models.document import Entity
from xdd.models.nets.gazetteer import gazetteer
from xdd.models.nets.lexicons import lexicon_matcher
from xdd.models.predict.conventions.places import unit_before
from xdd.models.predict.conventions.words import (
    FAMILY_NAMES,
    INSTITUTIONS,
    ONE_SPACE,
    POSITION_HEADS,
    SCHEME_UNITS,
    SCOPE_HOME,
    mean_score,
    prefix_length,
    spaced,
    token_key,
    token_keys,
    tokens_after,
    tokens_before,
    trim,
    word_tokens,
)


def scopes(text: str, spans: list[Entity]) -> list[Entity]:
    spans = [_org_scope_words(text, spans, i) for i in range(len(spans))]
    spans = [_title_before(text, spans, i) for i in range(len(spans))]
    merged: list[Entity] = []
    for entity in spans:
        previous = merged[-1] if merged else None
        if previous is not None and _takes(text, previous, entity):
            merged[-1] = replace(previous, end=entity.end, score=mean_score(previous, entity))
            continue
        merged.append(entity)
    return merged


def _org_scope_words(text: str, spans: Sequence[Entity], i: int) -> Entity:
    """An ORG with the lower-case unit words (and "nhà") right after it."""
    entity = spans[i]
    if entity.label != "ORG" or token_keys(text, word_tokens(text, entity.start, entity.end)) in INSTITUTIONS:
        return entity
    right = spans[i + 1].start if i + 1 < len(spans) else len(text)
    end = entity.end
    while True:
        after = tokens_after(text, end, right, 3)
        if not after or not ONE_SPACE.fullmatch(text[end : after[0][0]]) or not text[after[0][0]].islower():
            return replace(entity, end=end)
        n = prefix_length(text, after, SCHEME_UNITS)
        ends_with_unit = (token_key(text, word_tokens(text, entity.start, end)[-1]),) in SCHEME_UNITS
        if not n and ends_with_unit and token_keys(text, after[:1]) in SCOPE_HOME:
            n = 1
        if not n or not spaced(text, after[:n]):
            return replace(entity, end=end)
        end = after[n - 1][1]


def _title_before(text: str, spans: Sequence[Entity], i: int) -> Entity:
    """An ORG (or POSITION) with the capitalised title that ends one space before it, as one POSITION."""
    entity = spans[i]
    if entity.label not in ("ORG", "POSITION"):
        return entity
    before = tokens_before(text, entity.start, spans[i - 1].end if i else 0, 5)
    if not before or not ONE_SPACE.fullmatch(text[before[-1][1] : entity.start]):
        return entity
    for k in range(len(before), 0, -1):
        head = before[-k:]
        if text[head[0][0]].isupper() and spaced(text, head) and token_keys(text, head) in POSITION_HEADS:
            return replace(entity, start=head[0][0], label="POSITION")
    return entity


def _takes(text: str, first: Entity, entity: Entity) -> bool:
    """Whether ``entity``, one space after ``first``, belongs to it: the body or place that scopes it.

    A POSITION takes an ORG ("Bí thư" + "Tỉnh ủy"), a LOC when a unit word
    comes between or starts it ("Bí thư Đảng ủy thị trấn" + "Cao Lộc"), and a
    POSITION that does not start with a title of its own.  An ORG + LOC pair
    ("Huyện ủy" + "Cao Lộc") is left as the model tagged it.
    """
    if first.label != "POSITION" or not ONE_SPACE.fullmatch(text[first.end : entity.start]):
        return False
    tokens = word_tokens(text, entity.start, entity.end)
    if entity.label == "ORG":
        return True
    if entity.label == "POSITION":
        return not prefix_length(text, tokens, POSITION_HEADS)
    if entity.label == "LOC":
        unit_first = prefix_length(text, tokens, SCHEME_UNITS) and text[entity.start].islower()
        return bool(unit_first) or unit_before(text, entity.start, first.start) is not None
    return False


def names_out(text: str, spans: list[Entity]) -> list[Entity]:
    """A person's name closing an ORG or POSITION becomes a PER of its own (rule 3)."""
    out: list[Entity] = []
    for entity in spans:
        if entity.label in ("ORG", "POSITION"):
            at = _trailing_name(text, entity)
            if at is not None:
                out.append(replace(entity, end=trim(text, entity.start, at)[1]))
                out.append(replace(entity, start=at, label="PER"))
                continue
        out.append(entity)
    return out


def _trailing_name(text: str, entity: Entity) -> int | None:
    """Where a trailing person's name starts: a family name and 1-3 capitalised syllables, not a known place."""
    tokens = word_tokens(text, entity.start, entity.end)
    run = 0
    while run < len(tokens) and text[tokens[-1 - run][0]].isupper() and text[tokens[-1 - run][0]].isalpha():
        run += 1
    for size in range(min(run, 4), 1, -1):
        name = tokens[-size:]
        if size == len(tokens) or not spaced(text, name) or not text[tokens[-size - 1][1] : name[0][0]].isspace():
            continue
        if (token_key(text, name[0]),) not in FAMILY_NAMES or any(text[a:b].isupper() and b - a > 1 for a, b in name):
            continue
        syllables = [text[a:b] for a, b in name]
        if gazetteer().matches(syllables) == [(0, size)] or lexicon_matcher("countries").matches(syllables):
            return None
        return name[0][0]
    return None
