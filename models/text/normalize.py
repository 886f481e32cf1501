"""Text normalisation with an exact offset map back to the original text.

The model reads normalised text; users read character spans on the text they
gave us.  :func:`normalize` therefore returns the normalised string *and*, for
every normalised character, the span of original characters it came from, so
that any span of the normalised text maps back exactly.

Four steps, in order:

1. **Invisible characters are removed**: every format character (Unicode
   category ``Cf``: zero-width space, zero-width (non-)joiner, word joiner,
   soft hyphen, BOM, bidirectional marks) and every variation selector.  Text
   copied from web pages carries them *inside* words (a soft hyphen between
   ``Ngu`` and ``yễn``, a zero-width space between ``Nguyễn`` and ``Thị``);
   read as spaces they would cut a name in two.  They belong to no
   normalised character, so a span that contains one maps back to an
   original span that contains it too, and no span starts or ends on one.
   Removal comes first so that a mark cut from its letter by one still
   composes with it.
2. **Unicode NFC**, cluster by cluster (a base character and the combining
   marks after it), so decomposed (NFD) and mixed input give the same string
   as composed input.  A cluster may shrink (``u`` + hook above → ``ủ``) or
   grow; every character it yields maps to the whole cluster.
3. **Separators**: every whitespace character (NBSP, tab, ...) and every
   symbol that is not ASCII (categories ``So``, ``Sk``, ``Me``, ``Co``:
   emoji, pictographs and their skin-tone modifiers, ``©``, ``°``, keycaps,
   icon-font glyphs) becomes one ASCII space.  A symbol then never glues to a
   neighbouring word, is never a word of its own the model could tag, and no
   entity starts or ends on it.  Replacement is one for one, so this step
   leaves the map unchanged; the segmenters treat any run as one separator.
   ASCII symbols (``^``, the backtick) and punctuation stay as they are (each
   then stands alone as a word).
4. **Tone-mark placement** in the open syllables whose nucleus is ``oa``,
   ``oe`` or ``uy`` (``hóa``/``hoá``, ``khỏe``/``khoẻ``, ``Ủy``/``Uỷ``), the
   one place where two conventions are in everyday use:

   - ``"old"``: the mark on the second vowel (``hoá``, ``khoẻ``, ``Uỷ``,
     ``thuỷ``), the convention of PhoBERT's vocabulary;
   - ``"new"``: the mark on the first vowel (``hóa``, ``khỏe``, ``Ủy``,
     ``thủy``), the convention of the seed articles;
   - ``"none"``: leave placement as written.

   Syllables with a final consonant (``hoàn``, ``khuyến``) and ``qu`` + ``y``
   (``quý``) are written the same way in both conventions and never change.
   Moving a mark does not change the number of characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

TONE_CONVENTIONS = ("old", "new", "none")

# The five Vietnamese tone marks as combining characters (grave, acute, tilde,
# hook above, dot below); vowel-quality marks (circumflex, breve, horn) are not
# tone marks and never move.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_NUCLEI = {("o", "a"), ("o", "e"), ("u", "y")}
_VOWELS = frozenset("aeiouy")


def _variants(vowels: str) -> str:
    """``vowels`` in both cases with every tone mark, as a regex character class body."""
    marks = [""] + sorted(_TONE_MARKS)
    return "".join(unicodedata.normalize("NFC", v + m) for v in vowels + vowels.upper() for m in marks)


# A whole letter run (syllable) ending in o+a, o+e or u+y, in any case and tone:
# the only syllables whose tone mark can move.
_CANDIDATE = re.compile(
    rf"(?<![^\W\d_])[^\W\d_]*?(?:[{_variants('o')}][{_variants('ae')}]|[{_variants('u')}][{_variants('y')}])"
    r"(?![^\W\d_])"
)


@dataclass(frozen=True)
class Normalized:
    """A normalised string and, per character, the original span it came from.

    ``starts[i]``/``ends[i]`` delimit the original characters that produced
    normalised character ``i``; offsets are relative to the string given to
    :func:`normalize`.  Removed invisible characters belong to no normalised
    character: they lie inside a mapped span or between two.
    """

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the non-empty normalised span ``[start, end)``."""
        return self.starts[start], self.ends[end - 1]


def normalize(text: str, tone: str) -> Normalized:
    """Normalise ``text`` (invisibles, NFC, separators, tone convention ``tone``) keeping an offset map."""
    if tone not in TONE_CONVENTIONS:
        raise ValueError(f"unknown tone convention {tone!r}; expected one of {', '.join(TONE_CONVENTIONS)}")
    visible, kept = drop_invisible(text)
    composed, starts, ends = _compose(visible)
    if kept is not None:
        starts, ends = [kept[a] for a in starts], [kept[b - 1] + 1 for b in ends]
    spaced = composed.translate({ord(c): " " for c in set(composed) if _is_separator(c)})
    toned = spaced if tone == "none" else _CANDIDATE.sub(lambda m: _retone(m.group(), tone), spaced)
    return Normalized(toned, starts, ends)


def drop_invisible(text: str) -> tuple[str, list[int] | None]:
    """``text`` without its invisible characters, and the original offset of each character kept.

    The offsets are None when nothing was removed (the common case, kept
    cheap: only the distinct characters of ``text`` are classified).
    """
    invisible = {c for c in set(text) if _is_invisible(c)}
    if not invisible:
        return text, None
    kept = [k for k, c in enumerate(text) if c not in invisible]
    return "".join(text[k] for k in kept), kept


@lru_cache(maxsize=8192)
def strip_marks(char: str) -> str:
    """``char`` without any diacritic, compatibility-decomposed and case-folded.

    It is the key the segment aligner compares characters by, so that a
    segmenter that re-places tone marks, changes case or composes characters
    differently still lines up with the text it was given.
    """
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).casefold()


def _compose(text: str) -> tuple[str, Sequence[int], Sequence[int]]:
    """NFC cluster by cluster, with the original span of every output character."""
    if unicodedata.is_normalized("NFC", text):
        return text, range(len(text)), range(1, len(text) + 1)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    begin = 0
    for pos in range(1, len(text) + 1):
        if pos < len(text) and unicodedata.combining(text[pos]):
            continue
        piece = unicodedata.normalize("NFC", text[begin:pos])
        out.append(piece)
        starts.extend([begin] * len(piece))
        ends.extend([pos] * len(piece))
        begin = pos
    return "".join(out), starts, ends


@lru_cache(maxsize=4096)
def _is_invisible(char: str) -> bool:
    """A character that draws nothing and separates nothing: removed, not turned into a space."""
    return char > "\x7f" and (unicodedata.category(char) == "Cf" or char in _VARIATION_SELECTORS)


_VARIATION_SELECTORS = frozenset(map(chr, [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]))
_SYMBOLS = frozenset(("So", "Sk", "Me", "Co"))  # other/modifier symbols, enclosing marks, private use


@lru_cache(maxsize=4096)
def _is_separator(char: str) -> bool:
    """Whitespace, or a non-ASCII symbol (emoji, pictograph, ...) that must not glue to a word."""
    return char.isspace() or (char > "\x7f" and unicodedata.category(char) in _SYMBOLS)


@lru_cache(maxsize=65536)
def _retone(syllable: str, tone: str) -> str:
    """``syllable`` with its tone mark placed by ``tone`` when its nucleus is open oa/oe/uy."""
    if len(syllable) < 2:
        return syllable
    first, second = (_split_tone(c) for c in syllable[-2:])
    if (first[0].lower(), second[0].lower()) not in _NUCLEI:
        return syllable
    before = _split_tone(syllable[-3])[0].lower() if len(syllable) > 2 else ""
    if before in _VOWELS or before == "q":
        return syllable
    mark = first[1] or second[1]
    if not mark or (first[1] and second[1]):
        return syllable
    marked = 0 if tone == "new" else 1
    pair = [first[0], second[0]]
    pair[marked] += mark
    return syllable[:-2] + unicodedata.normalize("NFC", "".join(pair))


def _split_tone(char: str) -> tuple[str, str]:
    """(the NFC character without its tone mark, the tone mark or "")."""
    parts = unicodedata.normalize("NFD", char)
    tone = "".join(c for c in parts if c in _TONE_MARKS)
    rest = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
    return rest, tone
