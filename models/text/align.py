"""Alignment between character spans, words, IOB2 tags, sub-words and windows.

The chain, and its way back::

    entity spans ──split_at_entity_boundaries──► words ──spans_to_tags──► IOB2 word tags
      ──token_labels──► sub-word labels (first sub-word of a word; -100 elsewhere)
    window logits ──merge_window_logits──► word logits ──argmax──► tags ──tag_chunks──► spans

Offsets are always on the user's original text.  Sub-words are tracked with an
explicit ``word_ids`` array per window (PhoBERT's slow tokenizer has no
``word_ids()`` and no offset mapping).

Windows: a paragraph longer than the token budget is cut into windows between
sentences (greedily packing whole sentences); a sentence longer than a window
is cut into windows that overlap by ``overlap`` words; a single word with more
sub-words than a window (absurd, but possible) is cut into pieces of
sub-words.  Each word is *owned* by exactly one window — the one where it has
the most context — and its prediction is taken from there.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from xdd.models.document import Entity

IGNORE_INDEX = -100  # the label of tokens the loss ignores (continuation sub-words, specials)


@dataclass(frozen=True, slots=True)
class Word:
    """A word as the model sees it.

    ``start``/``end`` delimit it in the original text; ``form`` is the
    normalised, segmented form fed to the model, syllables joined by ``_``
    (``Huyện_uỷ``).
    """

    start: int
    end: int
    form: str


@dataclass
class Window:
    """One model input: ``<s>`` + the sub-words of words ``[word_start, word_end)`` + ``</s>``.

    ``word_ids[t]`` is the paragraph-level index of the word token ``t``
    belongs to (-1 for specials); ``first_subword[t]`` marks the token that
    carries the word's label.  The window owns words
    ``[owner_start, owner_end)``: their predictions are read from it.
    ``cut`` is True when the window holds only part of one overlong word.
    """

    paragraph: int
    word_start: int
    word_end: int
    input_ids: list[int]
    word_ids: list[int]
    first_subword: list[bool]
    owner_start: int
    owner_end: int
    cut: bool = False


@dataclass(frozen=True)
class WindowPlan:
    """Which words (and, for a cut word, which of its sub-words) a window holds."""

    word_start: int
    word_end: int
    owner_start: int
    owner_end: int
    subwords: tuple[int, int] | None = None  # [from, to) of a cut word's sub-words


def split_at_entity_boundaries(
    words: Sequence[Word], entities: Sequence[Entity], form_of: Callable[[int, int], Word | None]
) -> tuple[list[Word], int]:
    """Split every word that an entity starts or ends inside; returns (words, number of words split).

    ``form_of(start, end)`` builds the word for an original span (trimming
    surrounding whitespace; None when only whitespace is left).
    """
    cuts = sorted({e.start for e in entities} | {e.end for e in entities})
    out: list[Word] = []
    split = 0
    for word in words:
        inside = cuts[bisect_right(cuts, word.start) : bisect_left(cuts, word.end)]
        if not inside:
            out.append(word)
            continue
        split += 1
        edges = [word.start, *inside, word.end]
        out.extend(w for a, b in zip(edges, edges[1:]) if (w := form_of(a, b)) is not None)
    return out, split


def spans_to_tags(words: Sequence[Word], entities: Sequence[Entity]) -> list[str]:
    """IOB2 tags of ``words`` for entity spans on the same text.

    A word is inside an entity when it overlaps it; the first such word is
    ``B-``.  A word overlapping two entities (possible only when words were not
    split at entity boundaries) goes to the first; the other loses that word.
    """
    tags = ["O"] * len(words)
    starts = [w.start for w in words]
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        first = max(bisect_left(starts, entity.start) - 1, 0)
        begun = False
        for k in range(first, len(words)):
            word = words[k]
            if word.start >= entity.end:
                break
            if word.end <= entity.start or tags[k] != "O":
                continue
            tags[k] = ("I-" if begun else "B-") + entity.label
            begun = True
    return tags


def tag_chunks(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities ``(first word, end word exclusive, label)`` read from IOB2 tags.

    ``B-X`` starts an entity; ``I-X`` continues an entity of label ``X`` and
    otherwise (after ``O``, after another label, at the start) starts a new
    one, as seqeval does; ``O`` ends it.
    """
    chunks: list[tuple[int, int, str]] = []
    open_label: str | None = None
    for k, tag in enumerate(tags):
        prefix, label = (tag[:2], tag[2:]) if tag != "O" else ("O", None)
        if prefix not in ("O", "B-", "I-") or label == "":
            raise ValueError(f"tag {k} is {tag!r}, not an IOB2 tag ('O', 'B-LABEL' or 'I-LABEL')")
        if label is not None and (prefix == "B-" or label != open_label):
            chunks.append((k, k + 1, label))
        elif label is not None:
            begin, _, _ = chunks[-1]
            chunks[-1] = (begin, k + 1, label)
        open_label = label
    return chunks


def plan_windows(
    counts: Sequence[int], sentences: Sequence[tuple[int, int]], budget: int, overlap: int
) -> list[WindowPlan]:
    """Windows for words with ``counts`` sub-words each, under ``budget`` sub-words per window.

    ``sentences`` are consecutive word ranges covering all words.  Whole
    sentences are packed greedily; longer sentences go to
    :func:`_overlapping`.
    """
    plans: list[WindowPlan] = []
    start = end = total = 0
    for a, b in sentences:
        size = sum(counts[a:b])
        if total and total + size <= budget:
            end, total = b, total + size
            continue
        if total:
            plans.append(WindowPlan(start, end, start, end))
        if size > budget:
            plans.extend(_overlapping(counts, a, b, budget, overlap))
            start = end = total = 0
        else:
            start, end, total = a, b, size
    if total:
        plans.append(WindowPlan(start, end, start, end))
    return plans


def _overlapping(counts: Sequence[int], a: int, b: int, budget: int, overlap: int) -> list[WindowPlan]:
    """Windows for the words ``[a, b)`` of a sentence longer than one window."""
    spans: list[tuple[int, int]] = []
    plans: list[WindowPlan] = []
    i = a
    while i < b:
        if counts[i] > budget:
            plans.extend(_close(spans))
            plans.extend(_cut(i, counts[i], budget))
            spans, i = [], i + 1
            continue
        j, total = i, 0
        while j < b and total + counts[j] <= budget:
            total += counts[j]
            j += 1
        spans.append((i, j))
        if j >= b or counts[j] > budget:
            i = j
            continue
        i = max(i + 1, j - overlap)
        while sum(counts[i : j + 1]) > budget:
            i += 1
    plans.extend(_close(spans))
    return plans


def _close(spans: list[tuple[int, int]]) -> list[WindowPlan]:
    """Plans for consecutive windows, overlapping words owned by the window giving them most context."""
    owners = [start for start, _ in spans] + [spans[-1][1]] if spans else []
    for k in range(1, len(spans)):
        (_, prev_end), (start, _) = spans[k - 1], spans[k]
        if start < prev_end:
            owners[k] = (start + prev_end + 1) // 2
    return [WindowPlan(s, e, owners[k], owners[k + 1]) for k, (s, e) in enumerate(spans)]


def _cut(word: int, count: int, budget: int) -> list[WindowPlan]:
    """Windows holding consecutive pieces of one word's sub-words; the first owns the word."""
    return [
        WindowPlan(word, word + 1, word, word + 1 if piece == 0 else word, (piece, min(piece + budget, count)))
        for piece in range(0, count, budget)
    ]


def build_window(paragraph: int, plan: WindowPlan, subwords: Sequence[Sequence[int]], bos: int, eos: int) -> Window:
    """The :class:`Window` of ``plan``, with ``subwords[k]`` the sub-word ids of word ``k``."""
    ids, word_ids, first = [bos], [-1], [False]
    for k in range(plan.word_start, plan.word_end):
        begin, end = plan.subwords or (0, len(subwords[k]))
        pieces = subwords[k][begin:end]
        ids.extend(pieces)
        word_ids.extend([k] * len(pieces))
        first.extend([begin == 0] + [False] * (len(pieces) - 1))
    ids.append(eos)
    word_ids.append(-1)
    first.append(False)
    return Window(
        paragraph, plan.word_start, plan.word_end, ids, word_ids, first,
        plan.owner_start, plan.owner_end, cut=plan.subwords is not None,
    )  # fmt: skip


def token_labels(window: Window, word_labels: Sequence[int]) -> list[int]:
    """Per-token training labels: the word's label at its first sub-word, :data:`IGNORE_INDEX` elsewhere."""
    return [
        word_labels[w] if first else IGNORE_INDEX for w, first in zip(window.word_ids, window.first_subword)
    ]


def merge_window_logits(windows: Sequence[Window], logits: Sequence[np.ndarray], n_words: int) -> np.ndarray:
    """Per-word logits ``(n_words, n_labels)`` of one paragraph from its windows' token logits.

    ``logits[k]`` holds one row per token of ``windows[k]`` (extra padding
    rows are ignored; torch CPU tensors work).  Each word takes the row of its
    first sub-word in the window that owns it.
    """
    if len(windows) != len(logits):
        raise ValueError(f"{len(windows)} windows but {len(logits)} logit arrays")
    rows: np.ndarray | None = None
    filled = np.zeros(n_words, dtype=bool)
    for window, window_logits in zip(windows, logits):
        values = np.asarray(window_logits)
        if rows is None:
            rows = np.zeros((n_words, values.shape[-1]), dtype=values.dtype)
        for t, (w, first) in enumerate(zip(window.word_ids, window.first_subword)):
            if first and window.owner_start <= w < window.owner_end:
                rows[w] = values[t]
                filled[w] = True
    if rows is None or not filled.all():
        missing = np.flatnonzero(~filled).tolist()
        raise ValueError(f"no window owns word(s) {missing[:10]} of {n_words}; windows do not cover the paragraph")
    return rows

