"""The annotation scheme's boundary conventions, as one optional step after any model's decoding.

:func:`apply_conventions` takes a predicted :class:`~xdd.models.document.Document`
and returns a new one whose entity spans follow the conventions of
``shared/annotation-scheme.md`` (section 2) and ``docs/annotation-guidelines.md``
that a tagger learning from a few hundred entities keeps getting wrong.  The
model still decides *where* the entities are; this step only moves their
edges, and changes a label where the scheme decides it from the span's first
words.  The rules, in the order they run:

1. **Span edges** (rule 1): no leading or trailing whitespace or punctuation;
   a closing bracket stays when its opening bracket is inside the span
   ("Nghị quyết Trung ương 4 (khóa XII)"); brackets around a whole span go
   ("(LSO)" -> "LSO").  A span never crosses a line break.
2. **Labels from the first words**: a span that starts with a document type
   and a number ("Chỉ thị 10", "Nghị quyết số 67") is a DOCUMENT; an ORG or
   LOC that starts with a title (Bí thư, Chủ tịch, Trưởng ban, Ủy viên ...,
   the positions lexicon) is a POSITION (rules 2, 5, 6); a weekday alone is
   no PER, ORG or LOC.
3. **Honorifics, labels, role words** (rule 4, guidelines PER/ORG): "Đồng
   chí", "ông", "bà" ... and labels ending in a colon ("Tác giả: Lê Lan") in
   front of a PER or POSITION go; "toàn", "đại diện", "Lãnh đạo" in front of
   an ORG go; a PER is its capitalised syllables; function words (là, của,
   và, đã ...) never end an ORG or POSITION.
4. **DATE** (rules 7 and 13, guidelines "DATE"):
   - words in front of the number go, except a head word (ngày, tháng, năm,
     quý, nhiệm kỳ, giai đoạn) that *directly* precedes it and a weekday:
     parts of the day ("Chiều 8/1" -> "8/1", "Chiều nay, 12-1" -> "12-1"),
     prepositions ("từ", "đến", "trong"), labels ("Ngày: 23/1" -> "23/1"),
     other words ("khóa 2016-2018" -> "2016-2018", "nhiệm kỳ đại hội
     2015-2020" -> "2015-2020");
   - a bracket ends a DATE: a bracketed part is a DATE of its own when it has
     a number and is not a time zone ("12/01/2021 (GMT+7)" -> "12/01/2021");
   - a range joined by a word is two DATEs, and a part without a number is
     no DATE ("từ 1/6/2012 đến 31/3/2018" -> two; "năm 2013 đến nay" ->
     "năm 2013");
   - a clock time or weekday right next to the date joins it ("20:56, Thứ
     Ba, 12/01/2021"), and so do the numbered parts of the same date before
     it ("quý IV năm 2018", "6 tháng đầu năm 2017");
   - what is left without a number (or a Roman numeral after "quý") is no DATE.
5. **Known phrases are not cut**: an ORG, POSITION or DOCUMENT whose edge
   falls inside a title, body head or document type ("Ban Tổ chức Tỉnh" +
   "ủy") takes the whole phrase; a DOCUMENT takes the rest of a code glued to
   it ("Chỉ thị 10" + "-CT/TW") and a congress or plenum number right after it
   ("lần thứ XVII", "(khóa XII)").
6. **LOC** (guidelines "LOC", rule 11): the unit word (tỉnh, thành phố,
   huyện, quận, thị xã, thị trấn, xã, phường, thôn, xóm, bản) that directly
   precedes a *single* name belongs to the span, lower case or capitalised
   at the start of a sentence ("xã Tân Liên", "Thành phố Lạng Sơn"); after a
   quantifier or when names are coordinated ("3 xã Mai Pha, Hoàng Đồng và
   Quảng Lạc"), each name is a LOC without it.  "nước" is not a unit word
   ("nước Lào" -> "Lào").  A unit word alone is no LOC.
7. **Scope** (rules 2, 3, 12, guidelines ORG/POSITION): an ORG takes the
   lower-case unit words after it ("Đảng đoàn HĐND tỉnh", "Ban Thường vụ
   huyện nhà"); a title
   right before an ORG makes one POSITION with it ("Bí thư" + "Tỉnh ủy"); a
   POSITION takes the ORG, or the place after a unit word, right after it; a
   person's name at the end of an ORG or POSITION is a PER of its own ("Bí
   thư Tỉnh ủy Vũ Đại Thắng" -> POSITION + PER: a family name and one to
   three more capitalised syllables that are not a known place).

"Right after" and "right before" mean one space apart on the same line.
Words are read as the text pipeline reads them (invisible characters such as a
soft hyphen inside a name do not cut it; case, composition and tone-mark
placement do not matter).  Offsets stay on the original text, ``text`` is always ``doc.text[start:end]``,
scores are kept (a merged span gets the mean), spans never overlap (an
extension stops at another entity and at a line break) and the step is
idempotent.  It reads entity labels by name, so it is meant for the
party-building labels (:func:`conventions_apply_to`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import pairwise

from xdd.models.document import Document, Entity
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.nets.gazetteer import gazetteer
from xdd.models.nets.lexicons import (
    lexicon_matcher,
    read_lexicon,
    split_syllables,
    syllable_key,
)
from xdd.models.text.normalize import drop_invisible
from xdd.models.text.syllables import syllable_spans

Token = tuple[int, int]
Phrases = frozenset[tuple[str, ...]]


def conventions_apply_to(scheme: LabelScheme) -> bool:
    """Whether the conventions are on by default for a model of ``scheme``: only the party-building labels."""
    return tuple(scheme.entities) == PARTY_BUILDING.entities


def _phrases(entries: Iterable[str]) -> Phrases:
    return frozenset(k for k in (tuple(syllable_key(s) for s in split_syllables(e)) for e in entries) if k)


def _lexicon(*names: str) -> Phrases:
    return _phrases(e for name in names for e in read_lexicon(name))


DATE_HEADS = _lexicon("date_heads")
WEEKDAYS = _lexicon("weekdays")
POSITION_HEADS = _lexicon("positions")
TITLES_AND_BODIES = _lexicon("positions", "organisations")
DOCUMENT_TYPES = _lexicon("documents")
FAMILY_NAMES = _lexicon("surnames") - _phrases(["Văn", "Thị"])  # the lexicon's two middle names are no family names
SCHEME_UNITS = _phrases(["tỉnh", "thành phố", "huyện", "quận", "thị xã", "thị trấn", "xã", "phường", "thôn", "xóm",
                         "bản"])  # fmt: skip
HONORIFICS = _phrases(["đồng chí", "đ/c", "ông", "bà", "anh", "chị", "cụ"])
ORG_PREFIXES = _phrases(["toàn", "đại diện", "lãnh đạo"])
INSTITUTIONS = _phrases(["Đảng", "Nhà nước", "Trung ương"])
QUANTIFIERS = _phrases(["các", "những", "nhiều", "mấy", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
                        "mười"])  # fmt: skip
FUNCTION_WORDS = _phrases([
    "là", "của", "và", "với", "đã", "đang", "sẽ", "được", "bị", "có", "cho", "tại", "về", "từ", "đến", "trong",
    "cũng", "đều", "thì", "mà", "này", "đó", "nay", "vẫn", "còn", "dự", "theo", "để", "do", "khi",
])  # fmt: skip
JOINERS = _phrases(["đến", "tới", "và", "hoặc", "cho đến"])
SCOPE_HOME = _phrases(["nhà"])  # "huyện nhà": our district

ROMAN = re.compile(r"^(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})$")
TIMEZONE = re.compile(r"\b(?:GMT|UTC)\b", re.IGNORECASE)
CLOCK = r"(?:[01]?\d|2[0-3])\s?[:h]\s?[0-5]\d"
_SPACE = "[ \t\u00a0]"
ONE_SPACE = re.compile(rf"{_SPACE}")
COORDINATION_GAP = re.compile(rf"{_SPACE}*(?:,|và|hoặc|,{_SPACE}*và){_SPACE}*")
_SENTENCE_END = ".!?:…"
_WEEKDAY = r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)"
WEEKDAY_BEFORE = re.compile(rf"(?:(?<![\w:]){CLOCK}\s*,?\s*)?(?<!\w){_WEEKDAY}\s*,?\s*$", re.IGNORECASE)
CLOCK_BEFORE = re.compile(rf"(?<![\w:]){CLOCK}\s*,\s*$")
CLOCK_AFTER = re.compile(rf"{_SPACE}+{CLOCK}(?![\w:])")
FULL_DATE = re.compile(r"\d\s?[/.-]\s?\d{1,2}\s?[/.-]\s?\d{2,4}")
DATE_PARTS_BEFORE = re.compile(
    rf"(?<!\w)(?:(?:ngày|tháng|quý){_SPACE}+(?:\d{{1,2}}|[IVX]+){_SPACE}+|\d{{1,2}}{_SPACE}+tháng{_SPACE}+"
    rf"(?:đầu|cuối){_SPACE}+)+$",
    re.IGNORECASE,
)
CODE_REST = re.compile(r"[-–/][\w/–-]*\w")
DOCUMENT_NUMBER_AFTER = re.compile(
    rf"{_SPACE}+lần{_SPACE}+thứ{_SPACE}+(?:[IVXL]+|\d+)(?!\w)|{_SPACE}*\(kh(?:óa|oá){_SPACE}+(?:[IVXL]+|\d+)\)",
    re.IGNORECASE,
)


def apply_conventions(doc: Document) -> Document:
    """A copy of ``doc`` with its entity spans adjusted to the scheme's conventions (see the module docstring)."""
    text = doc.text
    spans = _no_overlaps(list(doc.entities))
    for _ in range(MAX_PASSES):  # until nothing changes: one rule's result can enable another
        adjusted = _one_pass(text, spans)
        if _same(adjusted, spans):
            break
        spans = adjusted
    entities = [replace(e, text=text[e.start : e.end]) for e in spans]
    return replace(doc, entities=entities, paragraphs=list(doc.paragraphs), meta=dict(doc.meta))


MAX_PASSES = 5


def _one_pass(text: str, entities: list[Entity]) -> list[Entity]:
    spans: list[Entity] = []
    for entity in entities:
        spans.extend(_own_edges(text, entity))
    spans = _no_overlaps(spans)
    spans = _complete_phrases(text, spans)
    spans = _locations(text, spans)
    spans = _scopes(text, spans)
    spans = _names_out(text, spans)
    spans = _date_context(text, spans)
    return _no_overlaps([s for s in (_fit(text, e) for e in spans) if s is not None])


def _same(a: list[Entity], b: list[Entity]) -> bool:
    return [(e.start, e.end, e.label) for e in a] == [(e.start, e.end, e.label) for e in b]


# --- tokens, phrases and edges -----------------------------------------------------------------------------------


def _tokens(text: str, start: int, end: int) -> list[Token]:
    """The syllable tokens of ``text[start:end]``; invisible characters inside a word do not cut it."""
    visible, kept = drop_invisible(text[start:end])
    if kept is None:
        return syllable_spans(text, start, end)
    return [(start + kept[a], start + kept[b - 1] + 1) for a, b in syllable_spans(visible)]


def _key(text: str, token: Token) -> str:
    return syllable_key(text[token[0] : token[1]])


def _keys(text: str, tokens: Sequence[Token]) -> tuple[str, ...]:
    return tuple(_key(text, t) for t in tokens)


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


_CLOSING = {")": "(", "]": "[", "}": "{"}


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without leading/trailing whitespace and punctuation (a balanced closing bracket stays)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or _is_punct(text[start])):
            start += 1
        while start < end and (text[end - 1].isspace() or _is_punct(text[end - 1])):
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


def _prefix_length(text: str, tokens: Sequence[Token], phrases: Phrases, at: int = 0) -> int:
    """The number of tokens of the longest phrase of ``phrases`` starting at token ``at`` (0 if none)."""
    best, keys = 0, []
    for k in range(at, min(len(tokens), at + 6)):
        keys.append(_key(text, tokens[k]))
        if tuple(keys) in phrases:
            best = len(keys)
    return best


def _spaced(text: str, tokens: Sequence[Token]) -> bool:
    """Whether consecutive tokens are separated by whitespace only (one word run, no punctuation)."""
    return all(text[a[1] : b[0]].isspace() for a, b in pairwise(tokens))


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def _tokens_before(text: str, start: int, limit: int, n: int = 5) -> list[Token]:
    """Up to ``n`` whole tokens right before ``start``, after ``limit`` and on the same line."""
    limit = max(limit, _line_start(text, start), start - 48)
    tokens = _tokens(text, limit, start)
    if tokens and tokens[0][0] == limit and limit > 0 and text[limit - 1].isalnum():
        tokens = tokens[1:]  # cut by the window
    return tokens[-n:]


def _tokens_after(text: str, end: int, limit: int, n: int = 5) -> list[Token]:
    limit = min(limit, _line_end(text, end), end + 48)
    tokens = _tokens(text, end, limit)
    if tokens and tokens[-1][1] == limit and limit < len(text) and text[limit].isalnum():
        tokens = tokens[:-1]
    return tokens[:n]


def _fit(text: str, entity: Entity) -> Entity | None:
    start, end = _trim(text, entity.start, entity.end)
    if start >= end or "\n" in text[start:end]:
        return None
    return replace(entity, start=start, end=end)


def _no_overlaps(entities: list[Entity]) -> list[Entity]:
    """Sorted, empty spans dropped; of overlapping spans the first (then longest) is kept."""
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if entity.start < entity.end and (not kept or entity.start >= kept[-1].end):
            kept.append(entity)
    return kept


def _mean_score(*entities: Entity) -> float | None:
    scores = [e.score for e in entities if e.score is not None]
    return sum(scores) / len(scores) if scores else None


# --- 1-4: rules on one entity ------------------------------------------------------------------------------------


def _own_edges(text: str, entity: Entity) -> list[Entity]:
    """The entity after the rules that need nothing but its own text (possibly several DATEs, possibly none)."""
    fitted = _fit(text, entity)
    if fitted is None:
        return []
    fitted = _relabel(text, fitted)
    if fitted is None:
        return []
    if fitted.label == "DATE":
        return [d for d in (_fit(text, piece) for piece in _date_pieces(text, fitted)) if d is not None]
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
        start = _strip_prefix(text, start, end, _phrases(["nước"]))
        tokens = _tokens(text, start, end)
        if tokens and _prefix_length(text, tokens, SCHEME_UNITS) == len(tokens):
            return []  # a unit word without a name
    result = _fit(text, replace(fitted, start=start, end=end))
    return [result] if result is not None else []


def _relabel(text: str, entity: Entity) -> Entity | None:
    """The label the span's first words decide: document type + number, title, weekday."""
    tokens = _tokens(text, entity.start, entity.end)
    if not tokens or not text[tokens[0][0]].isupper():
        return entity
    if entity.label != "DOCUMENT":
        n = _prefix_length(text, tokens, DOCUMENT_TYPES)
        if n and n < len(tokens):
            following = text[tokens[n][0] : tokens[n][1]]
            if following[0].isdigit() or (syllable_key(following) == "số" and n + 1 < len(tokens)):
                return replace(entity, label="DOCUMENT")
    if entity.label in ("ORG", "LOC") and _prefix_length(text, tokens, POSITION_HEADS):
        return replace(entity, label="POSITION")
    if entity.label in ("PER", "ORG", "LOC") and _prefix_length(text, tokens, WEEKDAYS) == len(tokens):
        return None
    return entity


def _strip_label(text: str, start: int, end: int) -> int:
    """Past a leading label ending in a colon ("Tác giả: Lê Lan" -> "Lê Lan"), when only letters come before it."""
    head = text[start:end]
    colon = head.find(":")
    if 0 < colon < len(head) - 1 and re.fullmatch(r"[^\W\d_]+(?:\s[^\W\d_]+){0,2}\s?", head[:colon]):
        return _trim(text, start + colon + 1, end)[0]
    return start


def _strip_prefix(text: str, start: int, end: int, phrases: Phrases) -> int:
    """Past a leading phrase of ``phrases`` when a capitalised word follows it."""
    tokens = _tokens(text, start, end)
    n = _prefix_length(text, tokens, phrases)
    if not n or n == len(tokens) or not text[tokens[n][0]].isupper():
        return start
    return tokens[n][0]


def _capitalised_only(text: str, start: int, end: int) -> tuple[int, int]:
    """A person's name is its capitalised syllables: lower-case words at its edges go."""
    tokens = [t for t in _tokens(text, start, end) if text[t[0]].isalnum()]
    while tokens and text[tokens[0][0]].islower():
        tokens.pop(0)
    while tokens and text[tokens[-1][0]].islower():
        tokens.pop()
    if not tokens:
        return start, start
    return tokens[0][0], tokens[-1][1]


def _strip_trailing_function_words(text: str, start: int, end: int) -> int:
    tokens = _tokens(text, start, end)
    while len(tokens) > 1:
        last = (_key(text, tokens[-1]),)
        after_function_word = len(tokens) > 2 and (_key(text, tokens[-2]),) in FUNCTION_WORDS
        if last in FUNCTION_WORDS or (last[0].isdigit() and after_function_word):
            tokens.pop()
            continue
        break
    return tokens[-1][1] if tokens else end


# --- DATE --------------------------------------------------------------------------------------------------------


def _has_number(text: str, tokens: Sequence[Token]) -> bool:
    if any(text[a].isdigit() for a, _ in tokens):
        return True
    return any(
        ROMAN.match(text[a:b]) and k and (_key(text, tokens[k - 1]),) in DATE_HEADS for k, (a, b) in enumerate(tokens)
    )


def _date_pieces(text: str, date: Entity) -> list[Entity]:
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
    tokens = _tokens(text, start, end)
    parts: list[tuple[int, int]] = []
    at, k = start, 0
    while k < len(tokens):
        n = _prefix_length(text, tokens, JOINERS, k)
        if n and k > 0:
            parts.append((at, tokens[k][0]))
            at = tokens[k + n][0] if k + n < len(tokens) else end
            k += n
        else:
            k += 1
    parts.append((at, end))
    return [(a, b) for a, b in parts if _has_number(text, _tokens(text, a, b))]


def _date_start(text: str, start: int, end: int) -> int | None:
    """Where the DATE ``[start, end)`` starts once the words before its number are gone; None if no number."""
    start, end = _trim(text, start, end)
    tokens = _tokens(text, start, end)
    if not _has_number(text, tokens):
        return None
    k = 0
    while k < len(tokens):
        if text[tokens[k][0]].isdigit() or _prefix_length(text, tokens, WEEKDAYS, k):
            break
        head = _prefix_length(text, tokens, DATE_HEADS, k)
        if head and k + head < len(tokens):
            following = text[tokens[k + head][0] : tokens[k + head][1]]
            if following[0].isdigit() or ROMAN.match(following):
                break
        k += 1
    return tokens[k][0] if k < len(tokens) else None


def _date_context(text: str, spans: list[Entity]) -> list[Entity]:
    """A weekday, clock time or numbered date part next to a DATE joins it (rule 13, guidelines 39 and 42)."""
    out = list(spans)
    for i, entity in enumerate(out):
        if entity.label != "DATE":
            continue
        start, end = entity.start, entity.end
        left_limit = max(out[i - 1].end if i else 0, _line_start(text, start))
        before = text[left_limit:start]
        if text[start].isdigit():
            match = WEEKDAY_BEFORE.search(before) or CLOCK_BEFORE.search(before)
        elif _prefix_length(text, _tokens(text, start, end), DATE_HEADS):
            match = DATE_PARTS_BEFORE.search(before)
        else:
            match = None
        if match is not None:
            start = left_limit + match.start()
        if FULL_DATE.search(text[entity.start : entity.end]):
            right_limit = min(out[i + 1].start if i + 1 < len(out) else len(text), _line_end(text, end))
            after = CLOCK_AFTER.match(text, end, right_limit)
            if after is not None:
                end = after.end()
        out[i] = replace(entity, start=start, end=end)
    return out


# --- 5: known phrases --------------------------------------------------------------------------------------------


def _complete_phrases(text: str, spans: list[Entity]) -> list[Entity]:
    """ORG/POSITION/DOCUMENT edges inside a known phrase move out to the phrase's edge; document codes are whole."""
    out = list(spans)
    for i, entity in enumerate(out):
        phrases = DOCUMENT_TYPES if entity.label == "DOCUMENT" else TITLES_AND_BODIES
        if entity.label not in ("ORG", "POSITION", "DOCUMENT"):
            continue
        left = out[i - 1].end if i else 0
        right = out[i + 1].start if i + 1 < len(out) else len(text)
        start, end = entity.start, entity.end
        inside = _tokens(text, start, end)
        before = _tokens_before(text, start, left, 4)
        after = _tokens_after(text, end, right, 4)
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
        if not _spaced(text, head) or not text[head[0][0]].isupper():
            continue
        for m in range(1, min(len(inside), 6 - k) + 1):
            if _spaced(text, inside[:m]) and _keys(text, head) + _keys(text, inside[:m]) in phrases:
                return head[0][0]
    return None


def _across_end(text: str, inside: list[Token], after: list[Token], phrases: Phrases) -> int | None:
    """The end of the longest phrase that begins inside the span and ends after it."""
    if not after or not inside or not text[inside[-1][1] : after[0][0]].isspace():
        return None
    for k in range(len(after), 0, -1):
        tail = after[:k]
        if not _spaced(text, tail):
            continue
        for m in range(1, min(len(inside), 6 - k) + 1):
            if _spaced(text, inside[-m:]) and _keys(text, inside[-m:]) + _keys(text, tail) in phrases:
                return tail[-1][1]
    return None


def _document_end(text: str, end: int, limit: int) -> int:
    """A DOCUMENT's end past a code glued to it ("10" + "-CT/TW") and a congress/plenum number after it."""
    limit = min(limit, _line_end(text, end))
    glued = CODE_REST.match(text, end, limit)
    if glued is not None and end > 0 and text[end - 1].isalnum():
        end = glued.end()
    number = DOCUMENT_NUMBER_AFTER.match(text, end, limit)
    return number.end() if number is not None else end


# --- 6: LOC ------------------------------------------------------------------------------------------------------


def _unit_before(text: str, start: int, limit: int) -> int | None:
    """The start of a unit word that ends one space before ``start`` (and after ``limit``), if any."""
    tokens = _tokens_before(text, start, limit, 3)
    if not tokens or not ONE_SPACE.fullmatch(text[tokens[-1][1] : start]):
        return None
    for n in (3, 2, 1):
        piece = tokens[-n:]
        if len(piece) == n and _spaced(text, piece) and _keys(text, piece) in SCHEME_UNITS:
            return piece[0][0]
    return None


def _unit_allowed(text: str, unit_start: int) -> bool:
    """A unit word counts when lower case, or capitalised at the start of a line or sentence."""
    if text[unit_start].islower():
        return True
    before = text[_line_start(text, unit_start) : unit_start].rstrip()
    return not before or before[-1] in _SENTENCE_END or before[-1] in "“\"-–—("


def _unit_prefix(text: str, entity: Entity) -> int:
    """Where a LOC's name starts after the unit word it starts with (its start if none)."""
    tokens = _tokens(text, entity.start, entity.end)
    n = _prefix_length(text, tokens, SCHEME_UNITS)
    if n and n < len(tokens) and _unit_allowed(text, entity.start):
        return tokens[n][0]
    return entity.start


def _quantified(text: str, unit_start: int) -> bool:
    """Whether a number or quantifier comes right before the unit word ("3 xã", "các xã", "hai xã")."""
    tokens = _tokens_before(text, unit_start, 0, 1)
    if not tokens or not text[tokens[-1][1] : unit_start].isspace():
        return False
    last = text[tokens[-1][0] : tokens[-1][1]]
    return last.isdigit() or (syllable_key(last),) in QUANTIFIERS


def _locations(text: str, spans: list[Entity]) -> list[Entity]:
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
        unit = _unit_before(text, entity.start, out[i - 1].end if i else 0)
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


# --- 7: scope ----------------------------------------------------------------------------------------------------


def _scopes(text: str, spans: list[Entity]) -> list[Entity]:
    spans = [_org_scope_words(text, spans, i) for i in range(len(spans))]
    spans = [_title_before(text, spans, i) for i in range(len(spans))]
    merged: list[Entity] = []
    for entity in spans:
        previous = merged[-1] if merged else None
        if previous is not None and _takes(text, previous, entity):
            merged[-1] = replace(previous, end=entity.end, score=_mean_score(previous, entity))
            continue
        merged.append(entity)
    return merged


def _org_scope_words(text: str, spans: Sequence[Entity], i: int) -> Entity:
    """An ORG with the lower-case unit words (and "nhà") right after it."""
    entity = spans[i]
    if entity.label != "ORG" or _keys(text, _tokens(text, entity.start, entity.end)) in INSTITUTIONS:
        return entity
    right = spans[i + 1].start if i + 1 < len(spans) else len(text)
    end = entity.end
    while True:
        after = _tokens_after(text, end, right, 3)
        if not after or not ONE_SPACE.fullmatch(text[end : after[0][0]]) or not text[after[0][0]].islower():
            return replace(entity, end=end)
        n = _prefix_length(text, after, SCHEME_UNITS)
        ends_with_unit = (_key(text, _tokens(text, entity.start, end)[-1]),) in SCHEME_UNITS
        if not n and ends_with_unit and _keys(text, after[:1]) in SCOPE_HOME:
            n = 1
        if not n or not _spaced(text, after[:n]):
            return replace(entity, end=end)
        end = after[n - 1][1]


def _title_before(text: str, spans: Sequence[Entity], i: int) -> Entity:
    """An ORG (or POSITION) with the capitalised title that ends one space before it, as one POSITION."""
    entity = spans[i]
    if entity.label not in ("ORG", "POSITION"):
        return entity
    before = _tokens_before(text, entity.start, spans[i - 1].end if i else 0, 5)
    if not before or not ONE_SPACE.fullmatch(text[before[-1][1] : entity.start]):
        return entity
    for k in range(len(before), 0, -1):
        head = before[-k:]
        if text[head[0][0]].isupper() and _spaced(text, head) and _keys(text, head) in POSITION_HEADS:
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
    tokens = _tokens(text, entity.start, entity.end)
    if entity.label == "ORG":
        return True
    if entity.label == "POSITION":
        return not _prefix_length(text, tokens, POSITION_HEADS)
    if entity.label == "LOC":
        unit_first = _prefix_length(text, tokens, SCHEME_UNITS) and text[entity.start].islower()
        return bool(unit_first) or _unit_before(text, entity.start, first.start) is not None
    return False


def _names_out(text: str, spans: list[Entity]) -> list[Entity]:
    """A person's name closing an ORG or POSITION becomes a PER of its own (rule 3)."""
    out: list[Entity] = []
    for entity in spans:
        if entity.label in ("ORG", "POSITION"):
            at = _trailing_name(text, entity)
            if at is not None:
                out.append(replace(entity, end=_trim(text, entity.start, at)[1]))
                out.append(replace(entity, start=at, label="PER"))
                continue
        out.append(entity)
    return out


def _trailing_name(text: str, entity: Entity) -> int | None:
    """Where a trailing person's name starts: a family name and 1-3 capitalised syllables, not a known place."""
    tokens = _tokens(text, entity.start, entity.end)
    run = 0
    while run < len(tokens) and text[tokens[-1 - run][0]].isupper() and text[tokens[-1 - run][0]].isalpha():
        run += 1
    for size in range(min(run, 4), 1, -1):
        name = tokens[-size:]
        if size == len(tokens) or not _spaced(text, name) or not text[tokens[-size - 1][1] : name[0][0]].isspace():
            continue
        if (_key(text, name[0]),) not in FAMILY_NAMES or any(text[a:b].isupper() and b - a > 1 for a, b in name):
            continue
        syllables = [text[a:b] for a, b in name]
        if gazetteer().matches(syllables) == [(0, size)] or lexicon_matcher("countries").matches(syllables):
            return None
        return name[0][0]
    return None
