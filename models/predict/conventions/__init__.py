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
Offsets stay on the original text, ``text`` is always ``doc.text[start:end]``,
scores are kept (a merged span gets the mean), spans never overlap (an
extension stops at another entity and at a line break) and the step is
idempotent.  It reads entity labels by name, so it is meant for the
party-building labels (:func:`conventions_apply_to`).

One module per group of rules: :mod:`.edges` (1-3), :mod:`.dates` (4),
:mod:`.phrases` (5), :mod:`.places` (6), :mod:`.scope` (7); :mod:`.words` reads
words and phrases the way the text pipeline does.
"""

from __future__ import annotations

from dataclasses import replace

from xdd.models.document import Document, Entity
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.predict.conventions.dates import date_context
from xdd.models.predict.conventions.edges import own_edges
from xdd.models.predict.conventions.phrases import complete_phrases
from xdd.models.predict.conventions.places import locations
from xdd.models.predict.conventions.scope import names_out, scopes
from xdd.models.predict.conventions.words import fit, no_overlaps


def conventions_apply_to(scheme: LabelScheme) -> bool:
    """Whether the conventions are on by default for a model of ``scheme``: only the party-building labels."""
    return tuple(scheme.entities) == PARTY_BUILDING.entities


def apply_conventions(doc: Document) -> Document:
    """A copy of ``doc`` with its entity spans adjusted to the scheme's conventions (see the module docstring)."""
    text = doc.text
    spans = no_overlaps(list(doc.entities))
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
        spans.extend(own_edges(text, entity))
    spans = no_overlaps(spans)
    spans = complete_phrases(text, spans)
    spans = locations(text, spans)
    spans = scopes(text, spans)
    spans = names_out(text, spans)
    spans = date_context(text, spans)
    return no_overlaps([s for s in (fit(text, e) for e in spans) if s is not None])


def _same(a: list[Entity], b: list[Entity]) -> bool:
    return [(e.start, e.end, e.label) for e in a] == [(e.start, e.end, e.label) for e in b]
