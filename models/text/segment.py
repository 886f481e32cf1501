"""Word segmentation and sentence splitting, as spans of the text they were given.

PhoBERT reads word-segmented text (``Ban_Thường_vụ Huyện_uỷ``).  A segmenter
here returns *spans* of the (already normalised) text, never strings, because
the strings a segmenter returns are not always substrings of its input:
``underthesea.word_tokenize`` re-places tone marks (``hoà`` → ``hòa``), drops
no-break spaces and composes decomposed characters.  :func:`align_pieces`
lines its output up with the input character by character.

Segmenters (the ``segmenter`` setting of the text pipeline):

- ``underthesea``: ``underthesea.word_tokenize`` (the default);
- ``pyvi``: ``pyvi.ViTokenizer`` (``_`` joins syllables in its output);
- ``none``: syllables (:func:`xdd.models.text.syllables.syllable_spans`), for
  syllable-level backbones such as XLM-R;
- ``presegmented``: the input is already segmented, words separated by
  whitespace with ``_`` inside them; taken as is.

Sentences (used only to pack windows) come from ``underthesea.sent_tokenize``
whatever the segmenter.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import re
import unicodedata
from typing import Callable, Iterable

from xdd.models.text.normalize import strip_marks
from xdd.models.text.syllables import syllable_spans
from xdd.models.text.underthesea_lite import tokenizers

SEGMENTERS = ("underthesea", "pyvi", "none", "presegmented")  # the functions are in _SEGMENTERS, at the end
_NON_SPACE = re.compile(r"\S+")


def segmenter_version(name: str) -> str:
    """The package and version a segmenter comes from (recorded with a model)."""
    if name not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {name!r}; expected one of {', '.join(SEGMENTERS)}")
    if name in ("none", "presegmented"):
        return name
    return f"{name} {importlib.metadata.version(name)}"


def get_segmenter(name: str) -> Callable[[str], list[tuple[int, int]]]:
    """The function that splits a normalised text into word spans for segmenter ``name``.

    Every segmenter's words are then split at punctuation
    (:func:`split_at_punctuation`), so a word never straddles a place where an
    entity may begin or end: ``LSO-Năm`` (one underthesea word) is ``LSO``,
    ``-``, ``Năm``, and the predicted ORG can stop at ``LSO``.
    """
    if name not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {name!r}; expected one of {', '.join(SEGMENTERS)}")
    segment = _SEGMENTERS[name]
    return lambda text: split_at_punctuation(text, segment(text))


def split_at_punctuation(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Word spans cut so that each punctuation character stands alone, except inside numbers.

    Words become unions of the canonical syllable tokens
    (:mod:`xdd.models.text.syllables`), the grid entities are annotated and scored on.
    A punctuation character written between two digits without spaces
    (``1.324``, ``23/01/2021``, ``2017-2022``) stays inside its number: the
    scheme never puts an entity boundary there.
    """
    words: list[tuple[int, int]] = []
    for start, end in spans:
        tokens = syllable_spans(text, start, end)
        glue = [_numeric_glue(text, tokens, k) for k in range(len(tokens))]
        for k, (a, b) in enumerate(tokens):
            syllables = k and not _is_punctuation(text, tokens[k]) and not _is_punctuation(text, tokens[k - 1])
            if syllables or (k and (glue[k] or glue[k - 1])):
                words[-1] = (words[-1][0], b)
            else:
                words.append((a, b))
    return words


def _is_punctuation(text: str, token: tuple[int, int]) -> bool:
    return token[1] - token[0] == 1 and not (text[token[0]].isalnum() or text[token[0]] == "_")


def _numeric_glue(text: str, tokens: list[tuple[int, int]], k: int) -> bool:
    """Token ``k`` is punctuation written tight between a digit and a digit."""
    if not 0 < k < len(tokens) - 1 or not _is_punctuation(text, tokens[k]):
        return False
    (_, before), (a, b), (after, _) = tokens[k - 1], tokens[k], tokens[k + 1]
    return before == a and b == after and text[before - 1].isdigit() and text[after].isdigit()


def sentence_starts(text: str) -> list[int]:
    """Offsets in ``text`` where its sentences start (``underthesea.sent_tokenize``)."""
    _, sent_tokenize = tokenizers()
    return [start for start, _ in align_pieces(text, sent_tokenize(text))]


def align_pieces(text: str, pieces: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` that the strings ``pieces`` (a segmenter's output, in order) came from.

    Characters are compared without diacritics and case (see
    :func:`xdd.models.text.normalize.strip_marks`), whitespace ignored on both sides.
    When the two sequences still disagree, :mod:`difflib` matches them (see
    :func:`_fuzzy_owners` for the characters it cannot match).  Every
    non-space character of ``text`` ends up in exactly one span; spans are in
    order, do not overlap and start and end on non-space characters.  A piece
    none of whose characters can be matched yields no span.
    """
    positions = [m.start() + k for m in _NON_SPACE.finditer(text) for k in range(m.end() - m.start())]
    if not positions:
        return []
    keys = [strip_marks(text[p]) for p in positions]
    piece_keys: list[str] = []
    piece_of: list[int] = []
    for index, piece in enumerate(pieces):
        for char in unicodedata.normalize("NFC", piece):
            if not char.isspace():
                piece_keys.append(strip_marks(char))
                piece_of.append(index)
    owners: list[object] = list(piece_of)
    if piece_keys != keys:
        owners = _fuzzy_owners(keys, piece_keys, piece_of, positions)
    spans: list[tuple[int, int]] = []
    for k, pos in enumerate(positions):
        if k and owners[k] == owners[k - 1]:
            spans[-1] = (spans[-1][0], pos + 1)
        else:
            spans.append((pos, pos + 1))
    return spans


def _fuzzy_owners(keys: list[str], piece_keys: list[str], piece_of: list[int], positions: list[int]) -> list[object]:
    """The group of each text character when the segmenter changed characters.

    Matched characters take their piece; a character the segmenter changed or
    dropped joins the character touching it on the left (else on the right),
    and one touching neither is a word of its own.
    """
    head = 0
    while head < min(len(keys), len(piece_keys)) and keys[head] == piece_keys[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(keys), len(piece_keys)) - head
        and keys[len(keys) - 1 - tail] == piece_keys[len(piece_keys) - 1 - tail]
    ):
        tail += 1
    owners: list[object] = [None] * len(keys)
    owners[:head] = piece_of[:head]
    for k in range(1, tail + 1):
        owners[-k] = piece_of[-k]
    middle = difflib.SequenceMatcher(
        None, keys[head : len(keys) - tail], piece_keys[head : len(piece_keys) - tail], autojunk=False
    )
    for block in middle.get_matching_blocks():
        for k in range(block.size):
            owners[head + block.a + k] = piece_of[head + block.b + k]
    for k in range(1, len(owners)):
        if owners[k] is None and positions[k - 1] + 1 == positions[k]:
            owners[k] = owners[k - 1]
    for k in range(len(owners) - 1, -1, -1):
        if owners[k] is None:
            touching = k + 1 < len(owners) and positions[k] + 1 == positions[k + 1]
            owners[k] = owners[k + 1] if touching and owners[k + 1] is not None else ("unmatched", k)
    return owners


def _whitespace_words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _NON_SPACE.finditer(text)]


def _underthesea_words(text: str) -> list[tuple[int, int]]:
    word_tokenize, _ = tokenizers()
    return align_pieces(text, word_tokenize(text))


def _pyvi_words(text: str) -> list[tuple[int, int]]:
    from pyvi import ViTokenizer

    return align_pieces(text, [w.replace("_", " ") for w in ViTokenizer.tokenize(text).split()])


_SEGMENTERS = {
    "underthesea": _underthesea_words,
    "pyvi": _pyvi_words,
    "none": syllable_spans,
    "presegmented": _whitespace_words,
}
