"""``xdd suggest``: choose what to annotate next, and pre-annotate it for Label Studio.

Annotating is the slow step, so the articles (or paragraphs) an annotator
sees should be the ones the model learns most from.  The pool (whatever
``xdd predict`` reads, :func:`xdd.models.formats.inputs.iter_inputs`) is first
cleaned, then predicted, ranked and thinned:

1. **Cleaning** (:mod:`xdd.training.suggest_pool`): articles already in the
   corpus, repeated earlier in the pool, near duplicates of an earlier one
   (Jaccard over word 5-grams) and unreadable inputs are left out, each with
   its reason.
2. **Scores** (:func:`uncertainty`, :func:`rank_scores`), per unit (an
   article, or with ``unit="paragraph"`` a paragraph):

   - NER: MNLP (Shen et al. 2017), the mean over the unit's words of
     ``log P(tag)`` (CRF marginal or transformer softmax): length-normalised,
     so long articles are not favoured for having more words.  Lower is
     less sure.
   - Topics: the smallest margin ``|p - threshold|`` over the unit's
     paragraphs and topics: the decision closest to flipping.
   - ``score = (r_ner + λ·r_topics) / (1 + λ)``, where ``r`` is the unit's
     percentile rank among the units scored (0 = the surest, 1 = the least
     sure; ties share their mean rank) and λ = ``topic_weight`` (1 by
     default).  Ranks, not the raw figures, because their scales differ by
     an order of magnitude: a CRF's MNLP sits around -0.01 to -0.1 for
     nearly every paragraph while margins spread over [0, 0.5], so a sum
     ``(1 - exp(MNLP)) + λ·(1 - margin/0.5)`` would rank by topics alone.  A
     model with one head scores with that head alone.  The score is
     relative to the units of the run (with ``random`` documents, the ``k``
     drawn): in [0, 1], higher = more informative.
3. **Diversity.**  Greedily, best score first, a unit whose TF-IDF cosine
   similarity to a unit already chosen exceeds :data:`REDUNDANT` is passed
   over, so a batch is not ``k`` versions of one story.  When fewer than
   ``k`` are left, the passed-over ones fill the batch, flagged
   ``redundant_with``.
4. ``strategy="random"``: ``k`` units drawn with ``seed`` (the control of an
   experiment), after the same cleaning; with document units only the drawn
   articles are predicted.

Each chosen unit becomes a Label Studio task
(:func:`xdd.models.formats.labelstudio.prediction_task`) pre-annotated with
the model's entities and topics, which ``xdd convert --from labelstudio`` and
``xdd corpus add`` read back.  Its prediction ``score`` is ``1 - score``, a
confidence, as ``xdd predict --format labelstudio`` writes it: Label
Studio's ascending sort shows the most informative tasks first.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import ConfigError
from xdd.models.formats.labelstudio import prediction_task
from xdd.models.predict.decode import DEFAULT_THRESHOLD, ParagraphScores, ScoredDocument
from xdd.training.suggest_pool import Dropped, Pool, corpus_keys, drop_known_paragraphs

STRATEGIES = ("uncertainty", "random")
UNITS = ("document", "paragraph")
REDUNDANT = 0.8  # TF-IDF cosine above which a unit repeats one already chosen
TOPIC_WEIGHT = 1.0  # λ
MAX_MARGIN = 0.5
PREDICT_BATCH = 16  # documents per Predictor.score call (the progress bar moves per batch)

Score = Callable[[list[Document]], list[ScoredDocument]]  # Predictor.score: one batch
ScoreBatches = Callable[[Iterable[list[Document]]], Iterable[list[ScoredDocument]]]  # every batch, in order
T = TypeVar("T")


@dataclass(frozen=True)
class Uncertainty:
    """How unsure the model is about one unit: MNLP and the smallest topic margin (None: no such head or no words)."""

    mnlp: float | None
    min_margin: float | None


@dataclass
class Unit:
    """One thing to annotate: a whole article or one of its paragraphs, with the task document to pre-annotate."""

    task: Document  # what the annotator sees, pre-annotated (a paragraph's text for paragraph units)
    source: str
    words: int
    uncertainty: Uncertainty | None = None
    score: float | None = None  # rank_scores: 0 surest … 1 least sure among the units of the run
    redundant_with: str | None = None

    @property
    def id(self) -> str:
        return self.task.id


# --- scores ---------------------------------------------------------------------


def uncertainty(paragraphs: Sequence[ParagraphScores], scheme: LabelScheme, thresholds: dict[str, float]) -> Uncertainty:
    """MNLP and smallest topic margin of a unit made of ``paragraphs`` (module docstring)."""
    log_probs = [math.log(max(p, 1e-12)) for scored in paragraphs for p in (scored.tag_scores or [])]
    margins = [
        abs(float(p) - thresholds.get(topic, DEFAULT_THRESHOLD))
        for scored in paragraphs
        if scored.topic_probs is not None and scored.words
        for topic, p in zip(scheme.topics, scored.topic_probs, strict=True)
    ]
    return Uncertainty(sum(log_probs) / len(log_probs) if log_probs else None, min(margins) if margins else None)


def rank_scores(units: Sequence[Unit], topic_weight: float = TOPIC_WEIGHT) -> None:
    """Set every unit's ``score``: the weighted mean of its percentile ranks of NER and topic doubt."""
    ner = _percentile_ranks([None if u.uncertainty is None or u.uncertainty.mnlp is None else -u.uncertainty.mnlp
                             for u in units])  # fmt: skip
    topics = _percentile_ranks([None if u.uncertainty is None or u.uncertainty.min_margin is None
                                else -u.uncertainty.min_margin for u in units])  # fmt: skip
    weights = [(1.0, ner), (topic_weight, topics)]
    used = [(w, ranks) for w, ranks in weights if ranks is not None and w > 0]
    total = sum(w for w, _ in used)
    for i, item in enumerate(units):
        item.score = sum(w * ranks[i] for w, ranks in used) / total if total else 0.0


def _percentile_ranks(doubts: list[float | None]) -> list[float] | None:
    """Each value's rank in [0, 1] (1 = the most doubtful; ties share the mean rank; None = 0); None if all None."""
    from scipy.stats import rankdata

    present = [i for i, d in enumerate(doubts) if d is not None]
    if not present:
        return None
    ranks = [0.0] * len(doubts)
    if len(present) == 1:
        ranks[present[0]] = 1.0
        return ranks
    ordered = rankdata([doubts[i] for i in present])  # 1 … n, ties averaged
    for i, rank in zip(present, ordered, strict=True):
        ranks[i] = float(rank - 1) / (len(present) - 1)
    return ranks


# --- units ----------------------------------------------------------------------


def document_unit(scored: ScoredDocument, source: str) -> Unit:
    """The whole predicted article as one unit."""
    words = sum(len(p.words) for p in scored.paragraphs)
    return Unit(scored.document, source, words)


def paragraph_units(scored: ScoredDocument, source: str) -> list[Unit]:
    """One unit per paragraph with words: its text as a one-paragraph document, offsets into the article in meta."""
    article = scored.document
    units = []
    for index, (paragraph, scores) in enumerate(zip(article.paragraphs, scored.paragraphs, strict=True)):
        if scores.words:
            task = paragraph_document(article, paragraph, index)
            units.append(Unit(task, source, len(scores.words)))
    return units


def paragraph_document(article: Document, paragraph: Paragraph, index: int) -> Document:
    """Paragraph ``index`` of ``article`` as a document of its own (entities shifted; ``meta`` says where it was)."""
    start, end = paragraph.start, paragraph.end
    entities = [e for e in article.entities if start <= e.start and e.end <= end]
    shifted = [Entity(e.start - start, e.end - start, e.label, e.text, e.score) for e in entities]
    meta = {**article.meta, "article_id": article.id, "paragraph": index, "start": start, "end": end}
    own = Paragraph(0, end - start, list(paragraph.topics), paragraph.scores)
    return Document(id=f"{article.id}#p{index}", text=article.text[start:end], entities=shifted,
                    paragraphs=[own], meta=meta)  # fmt: skip


def units_of(
    scored: ScoredDocument, unit: str, source: str, scheme: LabelScheme, thresholds: dict[str, float]
) -> list[Unit]:
    """The units of one predicted article, each with its uncertainty (scores come from :func:`rank_scores`)."""
    if unit == "document":
        units, groups = [document_unit(scored, source)], [scored.paragraphs]
    else:
        units = paragraph_units(scored, source)
        with_words = [p for p in scored.paragraphs if p.words]
        groups = [[p] for p in with_words]
    for item, paragraphs in zip(units, groups, strict=True):
        item.uncertainty = uncertainty(paragraphs, scheme, thresholds)
    return units


# --- choosing ---------------------------------------------------------------------


def choose_diverse(units: Sequence[Unit], k: int, redundant: float = REDUNDANT) -> list[Unit]:
    """The ``k`` best-scored units (:func:`rank_scores` first), passing over any too similar to one already chosen.

    Similarity is the cosine of the units' TF-IDF vectors, above ``redundant``.

    In rank order: the distinct units by score, then any filling-in ones.
    """
    ranked = sorted(units, key=lambda u: (-(u.score or 0.0), u.id))
    if not ranked or k <= 0:
        return []
    vectors = _tfidf([u.task.text for u in ranked])
    chosen: list[int] = []
    passed: list[tuple[int, int]] = []  # (unit, the chosen one it repeats)
    for i in range(len(ranked)):
        if len(chosen) == k:
            break
        similar = _most_similar_chosen(vectors, i, chosen, redundant)
        if similar is None:
            chosen.append(i)
        else:
            passed.append((i, similar))
    for i, similar in passed[: k - len(chosen)]:  # too few distinct units: fill, flagged
        ranked[i].redundant_with = ranked[similar].id
        chosen.append(i)
    return [ranked[i] for i in chosen]


def _tfidf(texts: list[str]) -> Any:
    """L2-normalised TF-IDF rows of the texts' lower-cased words (sparse)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(lowercase=True, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no word at all: every text is its own
        from scipy import sparse

        return sparse.identity(len(texts), format="csr")


def _most_similar_chosen(vectors: Any, i: int, chosen: list[int], redundant: float) -> int | None:
    if not chosen:
        return None
    similarities = np.asarray((vectors[chosen] @ vectors[i].T).todense()).ravel()
    best = int(similarities.argmax())
    return chosen[best] if similarities[best] > redundant else None


def choose_random(items: Sequence[T], k: int, seed: int) -> list[T]:
    """``k`` items (units, or articles before they are predicted) drawn uniformly with ``seed``, in the order drawn."""
    return random.Random(seed).sample(list(items), min(k, len(items)))


# --- the whole step -----------------------------------------------------------------


@dataclass
class Suggestion:
    """The chosen units in rank order, how many were candidates, what was dropped, and timings."""

    chosen: list[Unit]
    candidates: int
    dropped: list[Dropped]
    seconds: dict[str, float]


def suggest(
    pool: Pool,
    score: ScoreBatches,
    scheme: LabelScheme,
    thresholds: dict[str, float],
    *,
    k: int,
    strategy: str = "uncertainty",
    unit: str = "document",
    seed: int = 0,
    topic_weight: float = TOPIC_WEIGHT,
    corpus: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Suggestion:
    """Predict the pool and choose ``k`` units (``random`` documents: only the ``k`` drawn are predicted)."""
    check_choice(strategy, unit, k)
    started = time.perf_counter()
    known = corpus_keys(corpus, paragraphs=True) if corpus and unit == "paragraph" else {}
    dropped = list(pool.dropped)
    articles = pool.articles
    if strategy == "random" and unit == "document":
        articles = choose_random(articles, k, seed)
    units, more = _predicted_units(articles, score, scheme, thresholds, unit, known, progress)
    rank_scores(units, topic_weight)
    dropped += more
    predicted = time.perf_counter()
    if strategy == "uncertainty":
        chosen, candidates = choose_diverse(units, k), len(units)
    elif unit == "document":
        chosen, candidates = units, len(pool.articles)  # drawn before predicting
    else:
        chosen, candidates = choose_random(units, k, seed), len(units)
    seconds = {"predict": predicted - started, "choose": time.perf_counter() - predicted}
    return Suggestion(chosen, candidates, dropped, seconds)


def check_choice(strategy: str, unit: str, k: int) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if unit not in UNITS:
        raise ConfigError(f"--unit {unit!r}: expected one of {', '.join(UNITS)}")
    if k < 1:
        raise ConfigError(f"--k {k}: expected at least 1")


def _predicted_units(
    articles: list[Document], score: ScoreBatches, scheme: LabelScheme, thresholds: dict[str, float], unit: str,
    known: dict[str, str], progress: Callable[[int], None] | None,
) -> tuple[list[Unit], list[Dropped]]:  # fmt: skip
    """Every unit of the articles, predicted in batches; paragraph units already annotated are dropped."""
    units: list[Unit] = []
    batches = list(_batches(articles, PREDICT_BATCH))
    for batch, predicted in zip(batches, score(batches), strict=True):
        for article, scored in zip(batch, predicted, strict=True):
            units += units_of(scored, unit, article.meta["source"], scheme, thresholds)
        if progress is not None:
            progress(len(batch))
    if unit == "paragraph":
        return drop_known_paragraphs(units, known)
    return units, []


def _batches(items: list[Document], size: int) -> Iterable[list[Document]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_process(score: Score) -> ScoreBatches:
    """Score batch after batch in this process (``Predictor.score``)."""
    return lambda batches: (score(batch) for batch in batches)


@contextmanager
def worker_processes(model: Path, backend: str, workers: int) -> Iterator[ScoreBatches]:
    """Score batches in ``workers`` spawned processes, each loading the bundle once; results in input order.

    For the baselines, whose segmentation and CRF run on one core, this is
    what uses the second core of a 2-core machine.  Spawned, not forked:
    ONNX Runtime and PyTorch thread pools do not survive a fork.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_load_in_worker,
                             initargs=(str(model), backend, threads)) as pool:  # fmt: skip
        yield lambda batches: pool.map(_score_in_worker, batches)


_WORKER_PREDICTOR: Any = None


def _load_in_worker(model: str, backend: str, threads: int) -> None:
    global _WORKER_PREDICTOR
    from xdd.models.predict.predictor import Predictor

    _WORKER_PREDICTOR = Predictor.load(model, backend=backend, threads=threads)


def _score_in_worker(batch: list[Document]) -> list[ScoredDocument]:
    return _WORKER_PREDICTOR.score(batch)


# --- the output -----------------------------------------------------------------------


def tasks(chosen: Sequence[Unit], model_version: str) -> list[dict[str, Any]]:
    """The Label Studio tasks of the chosen units, in rank order (``data.source`` beside ``data.meta``)."""
    out = []
    for item in chosen:
        confidence = None if item.score is None else round(1.0 - item.score, 6)
        meta = {k: v for k, v in item.task.meta.items() if k != "source"}
        doc = Document(item.task.id, item.task.text, item.task.entities, item.task.paragraphs, meta)
        out.append(prediction_task(doc, model_version=model_version, score=confidence, data={"source": item.source}))
    return out


def ranking(chosen: Sequence[Unit]) -> list[dict[str, Any]]:
    """One row per chosen unit, in rank order: what ``--report`` writes and the command prints."""
    rows = []
    for rank, item in enumerate(chosen, start=1):
        u = item.uncertainty
        rows.append({
            "rank": rank, "id": item.id, "source": item.source, "words": item.words,
            "score": None if item.score is None else round(item.score, 6),
            "mnlp": None if u is None or u.mnlp is None else round(u.mnlp, 6),
            "min_margin": None if u is None or u.min_margin is None else round(u.min_margin, 6),
            "redundant_with": item.redundant_with,
        })  # fmt: skip
    return rows


def format_ranking(rows: Sequence[dict[str, Any]], texts: Sequence[str]) -> str:
    """The ranked list as a table: rank, score, MNLP, smallest topic margin, words, id, the text's start."""
    lines = [f"{'rank':>4}  {'score':>6}  {'mnlp':>7}  {'margin':>6}  {'words':>5}  id  text"]
    for row, text in zip(rows, texts, strict=True):
        excerpt = " ".join(text.split())[:50]
        flag = f"  (similar to {row['redundant_with']})" if row["redundant_with"] else ""
        lines.append(f"{row['rank']:>4}  {_number(row['score'], 3):>6}  {_number(row['mnlp'], 4):>7}  "
                     f"{_number(row['min_margin'], 3):>6}  {row['words']:>5}  {row['id']}  {excerpt}{flag}")  # fmt: skip
    return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
