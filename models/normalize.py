"""Text normalisation with an exact offset map back to the original text.

The model reads normalised text; users read character spans on the text they
gave us.  :func:`normalize` therefore returns the normalised string *and*, for
every normalised character, the span of original characters it came from, so
that any span of the normalised text maps back exactly.

Three steps, in order:

1. **Unicode NFC**, cluster by cluster (a base character and the combining
   marks after it), so decomposed (NFD) and mixed input give the same string
   as composed input.  A cluster may shrink (``u`` + hook above → ``ủ``) or
   grow; every character it yields maps to the whole cluster.
2. **Whitespace**: every whitespace character and every invisible format
   character (Unicode category ``Cf``: zero-width space, BOM, soft hyphen)
   becomes one ASCII space.  Runs are kept (one for one), so the map stays
   trivial; the segmenters treat any run as one separator.
3. **Tone-mark placement** in the open syllables whose nucleus is ``oa``,
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
    :func:`normalize`.
    """

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the non-empty normalised span ``[start, end)``."""
        return self.starts[start], self.ends[end - 1]


def normalize(text: str, tone: str) -> Normalized:
    """Normalise ``text`` (NFC, whitespace, tone convention ``tone``) keeping an offset map."""
    if tone not in TONE_CONVENTIONS:
        raise ValueError(f"unknown tone convention {tone!r}; expected one of {', '.join(TONE_CONVENTIONS)}")
    composed, starts, ends = _compose(text)
    spaced = "".join(" " if _is_separator(c) else c for c in composed)
    toned = spaced if tone == "none" else _CANDIDATE.sub(lambda m: _retone(m.group(), tone), spaced)
    return Normalized(toned, starts, ends)


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


def _is_separator(char: str) -> bool:
    return char.isspace() or (char > "\x7f" and unicodedata.category(char) == "Cf")


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
