"""The pool of ``xdd suggest``, cleaned: unreadable, already annotated, repeated and near-repeated articles left out.

An article whose normalised text (:func:`xdd.training.corpus_add.text_key`:
NFC, whitespace collapsed, lower-cased) is already in the corpus, or earlier
in the pool, is dropped; so is a near duplicate of an earlier article:
Jaccard similarity >= :data:`NEAR_DUPLICATE` between their sets of word
5-grams (an exact comparison, made fast by prefix filtering:
:func:`near_duplicates`).  Texts are NFC-normalised, as the corpus requires,
so offsets index that.  Every dropped item is kept with its reason
(:class:`Dropped`), for the run's report.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdd.models.document import Document
from xdd.models.document.corpus import iter_records, jsonl_files
from xdd.models.errors import CorpusError
from xdd.models.formats.inputs import DEFAULT_MAX_BYTES, InputError, iter_inputs
from xdd.training.corpus_add import normalised_text, text_key

if TYPE_CHECKING:  # pragma: no cover
    from xdd.training.suggest import Unit

NEAR_DUPLICATE = 0.9  # Jaccard over word 5-grams at or above which an article repeats an earlier one
SHINGLE_WORDS = 5
DROPPED_KINDS = ("unreadable", "repeated id", "in the corpus", "duplicate", "near duplicate")


@dataclass(frozen=True)
class Dropped:
    """A pool item left out before ranking, why (one of :data:`DROPPED_KINDS`), and the details."""

    id: str | None
    source: str
    kind: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "kind": self.kind, "reason": self.reason}


@dataclass
class Pool:
    """The articles left to rank (NFC text, meta with their ``source``), and what was dropped."""

    articles: list[Document] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def read_pool(
    inputs: Sequence[str | Path],
    corpus: str | Path | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    threshold: float = NEAR_DUPLICATE,
) -> Pool:
    """The pool's articles in input order, less the unreadable, the annotated, the repeated and near-repeated."""
    pool = Pool()
    annotated = corpus_keys(corpus, paragraphs=False) if corpus else {}
    seen: dict[str, str] = {}  # text key -> the pool article that had it first
    ids: set[str] = set()
    for item in iter_inputs(inputs, max_bytes):
        if isinstance(item, InputError):
            pool.dropped.append(Dropped(None, item.source, "unreadable", item.reason))
            continue
        key = text_key(item.text)
        repeat = _repeat(item.id, key, ids, annotated, seen)
        if repeat:
            pool.dropped.append(Dropped(item.id, item.source, *repeat))
            continue
        ids.add(item.id)
        seen[key] = f"the pool's {item.id} ({item.source})"
        text = unicodedata.normalize("NFC", item.text)
        pool.articles.append(Document(id=item.id, text=text, meta={**item.meta, "source": item.source}))
    _drop_near_duplicates(pool, threshold)
    return pool


def _repeat(
    doc_id: str, key: str, ids: set[str], annotated: dict[str, str], seen: dict[str, str]
) -> tuple[str, str] | None:
    """``(kind, reason)`` when the article repeats an id, the corpus or the pool; else None."""
    if doc_id in ids:
        return "repeated id", f"id {doc_id!r} repeats an earlier pool article"
    if key in annotated:
        return "in the corpus", f"same text (normalised) as {annotated[key]}"
    if key in seen:
        return "duplicate", f"same text (normalised) as {seen[key]}"
    return None


def corpus_keys(corpus: str | Path, *, paragraphs: bool) -> dict[str, str]:
    """Normalised-text hash → ``PATH:LINE (id ID)`` of the corpus's documents (or of their paragraphs)."""
    keys: dict[str, str] = {}
    try:
        files = jsonl_files(corpus)
    except CorpusError as err:
        raise CorpusError(f"--corpus: {err}") from None
    for file in files:
        for record in iter_records(file):
            data = record.data
            if not (isinstance(data, dict) and isinstance(data.get("text"), str)):
                continue
            place = f"the corpus's {record.path}:{record.line} (id {record.doc_id})"
            for text in _paragraph_texts(data) if paragraphs else [data["text"]]:
                keys.setdefault(text_key(text), place)
    return keys


def _paragraph_texts(record: dict[str, Any]) -> list[str]:
    spans = [(p.get("start"), p.get("end")) for p in record.get("paragraphs") or [] if isinstance(p, dict)]
    return [record["text"][s:e] for s, e in spans if isinstance(s, int) and isinstance(e, int)]


def _drop_near_duplicates(pool: Pool, threshold: float) -> None:
    found = near_duplicates([shingles(doc.text) for doc in pool.articles], threshold)
    kept = []
    for i, doc in enumerate(pool.articles):
        if i in found:
            j, similarity = found[i]
            first = pool.articles[j]
            reason = f"near duplicate of {first.id} ({first.meta['source']}): Jaccard {similarity:.2f} over word 5-grams"
            pool.dropped.append(Dropped(doc.id, doc.meta["source"], "near duplicate", reason))
        else:
            kept.append(doc)
    pool.articles = kept


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """The hashed word ``size``-grams of the normalised text (a shorter text: its words as one gram)."""
    words = normalised_text(text).split()
    if len(words) < size:
        return frozenset([hash(tuple(words))]) if words else frozenset()
    return frozenset(hash(gram) for gram in zip(*(words[i:] for i in range(size))))


def near_duplicates(sets: Sequence[frozenset[int]], threshold: float = NEAR_DUPLICATE) -> dict[int, tuple[int, float]]:
    """``{i: (j, jaccard)}`` for each set whose Jaccard similarity to an earlier kept set ``j`` is >= ``threshold``.

    Exact, without comparing all pairs (prefix filtering, Bayardo et al.
    2007): with the grams of every set sorted rarest first, two sets with
    Jaccard >= t share a gram among the first ``|s| - ceil(t·|s|) + 1`` of
    each, so only sets meeting in those prefixes are compared.
    """
    frequency = Counter(gram for s in sets for gram in s)
    index: dict[int, list[int]] = defaultdict(list)
    found: dict[int, tuple[int, float]] = {}
    for i, grams in enumerate(sets):
        ordered = sorted(grams, key=lambda gram: (frequency[gram], gram))
        prefix = ordered[: len(grams) - math.ceil(threshold * len(grams)) + 1] if grams else []
        best = _most_similar(grams, {j for gram in prefix for j in index.get(gram, ())}, sets, threshold)
        if best is not None:
            found[i] = best
            continue
        for gram in prefix:
            index[gram].append(i)
    return found


def _most_similar(
    grams: frozenset[int], candidates: set[int], sets: Sequence[frozenset[int]], threshold: float
) -> tuple[int, float] | None:
    """The earliest candidate of highest Jaccard similarity >= ``threshold``, or None."""
    best: tuple[int, float] | None = None
    for j in sorted(candidates):
        other = sets[j]
        if not threshold * len(grams) <= len(other) <= len(grams) / threshold:  # sizes alone rule it out
            continue
        shared = len(grams & other)
        similarity = shared / (len(grams) + len(other) - shared)
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (j, similarity)
    return best


def drop_known_paragraphs(units: list[Unit], annotated: dict[str, str]) -> tuple[list[Unit], list[Dropped]]:
    """Paragraph units whose text is not in ``annotated`` (corpus paragraphs) nor earlier in the pool."""
    kept, dropped = [], []
    seen: dict[str, str] = {}
    for item in units:
        key = text_key(item.task.text)
        repeat = _repeat(item.id, key, set(), annotated, seen)
        if repeat:
            dropped.append(Dropped(item.id, item.source, *repeat))
        else:
            seen[key] = f"the pool's {item.id}"
            kept.append(item)
    return kept, dropped
