"""Phrase lists for the CRF features, matched on syllables.

Each lexicon is a data file ``models/nets/lexicons/<name>.txt`` (package
data): one entry per line, ``#`` comment lines, a first comment line saying
where the list comes from.  The lists are written from the annotation scheme
and general Vietnamese usage, never copied from the corpus.

Matching works on *syllables*, not on the segmenter's words, so that it gives
the same answer whatever the segmenter made of the text (``Phó Bí thư`` is
found in ``Phó`` + ``Bí_thư`` as in ``Phó_Bí_thư``, and ``Tỉnh ủy`` in the
mis-segmented ``BTV_Tỉnh`` + ``uỷ``).  A syllable is a run of letters and
digits or a single punctuation mark; ``_`` and whitespace separate syllables.
Syllables are compared by :func:`syllable_key`: Unicode NFC, lower case, tone
marks placed by one convention (``hoá`` = ``hóa``, ``Uỷ`` = ``Ủy``), so NFD
input and both tone conventions match the same entries.

:class:`PhraseMatcher` is a trie over syllable keys with a greedy, longest
match from left to right; :func:`syllable_tags` turns its matches into one
``B``/``I``/``E``/``S``/``O`` tag per syllable, and :func:`word_tags` into
one value per word (the tags of the word's first and last syllable).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

from xdd.models.text.normalize import normalize

LEXICON_DIR = Path(__file__).parent / "lexicons"

# The lexicons of the party-building scheme (feature group "lexicons").
SCHEME_LEXICONS = (
    "positions",
    "organisations",
    "documents",
    "date_heads",
    "times_of_day",
    "weekdays",
    "person_cues",
    "surnames",
)
# Language knowledge about places, for any label set (feature group "gazetteer").
PLACE_LEXICONS = ("units", "countries")
LEXICONS = SCHEME_LEXICONS + PLACE_LEXICONS

_MARKS = "\u0300-\u036f\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"  # combining marks: NFD syllables stay whole
_SYLLABLE = re.compile(rf"(?:[^\W_]|[{_MARKS}])+|[^\w\s{_MARKS}]")


def split_syllables(text: str) -> list[str]:
    """The syllables of a word form or a phrase: letter/digit runs and single punctuation marks."""
    return _SYLLABLE.findall(text)


@lru_cache(maxsize=1 << 17)
def syllable_key(syllable: str) -> str:
    """The comparison key of a syllable: NFC, lower case, tone mark on the first vowel of oa/oe/uy."""
    return normalize(syllable, "new").text.lower()


def is_capitalised(syllable: str) -> bool:
    return syllable[:1].isupper()


class PhraseMatcher:
    """Longest-match lookup of multi-syllable phrases in a syllable sequence (a trie of syllable keys)."""

    _END = ""  # key of the terminal marker in a trie node (no syllable key is empty)

    def __init__(self, phrases: Iterable[str]) -> None:
        self.root: dict = {}
        self.size = 0
        for phrase in phrases:
            keys = [syllable_key(s) for s in split_syllables(phrase)]
            if not keys:
                continue
            node = self.root
            for key in keys:
                node = node.setdefault(key, {})
            if self._END not in node:
                node[self._END] = True
                self.size += 1

    def __len__(self) -> int:
        return self.size

    def matches(self, syllables: Sequence[str], allowed: Callable[[str], bool] | None = None) -> list[tuple[int, int]]:
        """Non-overlapping ``(start, end)`` syllable ranges of the phrases found, longest match first, left to right.

        ``allowed``, when given, says which syllables a match may cover (e.g.
        only capitalised ones for proper names).
        """
        mask = None if allowed is None else [allowed(s) for s in syllables]
        return self.matches_keys([syllable_key(s) for s in syllables], mask)

    def matches_keys(self, keys: Sequence[str], mask: Sequence[bool] | None = None) -> list[tuple[int, int]]:
        """:meth:`matches` over syllable keys already computed, ``mask`` marking the syllables a match may cover."""
        found: list[tuple[int, int]] = []
        i, n = 0, len(keys)
        root, end_marker = self.root, self._END
        while i < n:
            node, j, last = root, i, 0
            while j < n and keys[j] in node and (mask is None or mask[j]):
                node = node[keys[j]]
                j += 1
                if end_marker in node:
                    last = j
            if last:
                found.append((i, last))
                i = last
            else:
                i += 1
        return found


def syllable_tags(n: int, matches: Iterable[tuple[int, int]]) -> list[str]:
    """One tag per syllable: ``B``/``I``/``E`` for the first/inner/last syllable of a match, ``S`` for a
    one-syllable match, ``O`` outside."""
    tags = ["O"] * n
    for start, end in matches:
        if end - start == 1:
            tags[start] = "S"
            continue
        tags[start] = "B"
        for k in range(start + 1, end - 1):
            tags[k] = "I"
        tags[end - 1] = "E"
    return tags


def word_tags(owners: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[str]:
    """Per word (its syllable range ``owners[i]``): the tags of its first and last syllable, ``""`` when untouched.

    ``"BE"`` is a match that is exactly this word, ``"B"`` a one-syllable word
    starting a match, ``"SO"`` a word whose first syllable alone matched, ...
    """
    out = []
    for first, last in owners:
        if first >= last:
            out.append("")
            continue
        value = tags[first] if last - first == 1 else tags[first] + tags[last - 1]
        out.append("" if set(value) == {"O"} else value)
    return out


def read_lexicon(name: str) -> tuple[str, ...]:
    """The entries of lexicon ``name`` (``lexicons/<name>.txt``), comments and blank lines left out."""
    if name not in LEXICONS:
        raise ValueError(f"unknown lexicon {name!r}; expected one of {', '.join(LEXICONS)}")
    lines = (LEXICON_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


@cache
def lexicon_matcher(name: str) -> PhraseMatcher:
    """The matcher of lexicon ``name``, built once per process."""
    return PhraseMatcher(read_lexicon(name))


@cache
def lexicons_digest() -> str:
    """SHA-256 over the NER lexicon files (recorded with a model, so a changed list is noticed)."""
    digest = hashlib.sha256()
    for name in LEXICONS:
        digest.update(name.encode() + b"\0" + (LEXICON_DIR / f"{name}.txt").read_bytes() + b"\0")
    return digest.hexdigest()
