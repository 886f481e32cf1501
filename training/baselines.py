"""Training the fast baselines: a CRF tagger for NER, TF-IDF + one-vs-rest logistic regression for topics.

Both learn from the same words: each gold paragraph is segmented by the text
pipeline (settings from ``config.text``), with words split where a gold
entity starts or ends inside them so that every entity is a whole number of
words.  The CRF learns IOB2 word tags (sklearn-crfsuite, L-BFGS with
``config.crf``'s L1/L2 penalties); the topic model learns from the paragraphs'
lower-cased word forms (``config.tfidf``), with the scheme lexicon's phrases
as weak extra examples.  Per-topic thresholds are tuned on the dev paragraphs
(``xdd.training.thresholds``), or, below ``data.oof_below`` documents, on
out-of-fold predictions over all of them (``xdd.training.oof``).  Nothing is
downloaded; on the five-article gold corpus training takes seconds.

Which heads are trained follows the label scheme and ``config.task``: a corpus
without topics (a CoNLL import, say) trains the CRF only; one without entity
labels, the topic model only.  The scheme also decides the CRF's feature
groups and whether the boundary conventions run after decoding: all groups and
the conventions for the party-building labels, the generic groups and no
conventions for a corpus with its own labels (``docs/baselines.md``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn_crfsuite
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import ConfigError, CorpusError
from xdd.models.nets.crf import (
    ORIGINAL_GROUPS,
    CRFTagger,
    check_feature_groups,
    default_feature_groups,
    word_features,
)
from xdd.models.nets.topic_linear import (
    TopicLinear,
    paragraph_text,
    vectorizer_options,
    with_context,
)
from xdd.models.predict.baseline import BaselineModel
from xdd.models.predict.conventions import conventions_apply_to
from xdd.models.text.pipeline import TextPipeline
from xdd.training.config import Config, CRFConfig, TfidfConfig
from xdd.training.oof import choose_thresholds_out_of_fold, described, oof_pool, record_choices
from xdd.training.thresholds import tune_thresholds
from xdd.training.topic_lexicon import lexicon_phrases
from xdd.training.validate import content_problems

log = logging.getLogger(__name__)


@dataclass
class ParagraphExample:
    """One gold paragraph as both learners see it: word forms, their IOB2 tags, its topics."""

    forms: list[str]
    tags: list[str]
    topics: list[str]


def train_baselines(
    train_docs: list[Document],
    dev_docs: list[Document],
    config: Config,
    scheme: LabelScheme,
    *,
    features: Sequence[str] | None = None,
    conventions: bool | None = None,
) -> BaselineModel:
    """A CRF tagger and/or TF-IDF topic model trained on ``train_docs``, topic thresholds tuned on ``dev_docs``.

    Below ``data.oof_below`` documents (``xdd.training.oof.oof_pool``: the
    training and split-off dev documents together) both heads are trained on
    all of them and the thresholds are tuned on leave-one-document-out
    predictions pooled over them; nothing outside ``train_docs`` + ``dev_docs``
    is ever seen.
    """
    with_ner = bool(scheme.entities) and config.task != "topics"
    with_topics = bool(scheme.topics) and config.task != "ner"
    if not (with_ner or with_topics):
        raise ConfigError(
            f"nothing to train: task '{config.task}' with entity labels {list(scheme.entities)} and topics "
            f"{list(scheme.topics)}; declare labels in labels.json beside the corpus or change 'task'"
        )
    settings = config.text.for_saving()
    pipeline = TextPipeline(settings)
    # Below data.oof_below documents: learn from train + dev, choose thresholds out of fold (xdd.training.oof).
    pool = oof_pool(train_docs, dev_docs, config)
    learn_from = pool if pool is not None else train_docs
    by_doc = {doc.id: paragraph_examples(pipeline, doc, scheme) for doc in learn_from}
    examples = [ex for doc in learn_from for ex in by_doc[doc.id]]
    if not any(ex.forms for ex in examples):
        raise CorpusError(f"the {len(learn_from)} training document(s) contain no words to learn from")
    # CRF feature groups and the boundary conventions follow the scheme unless given (docs/baselines.md).
    groups = default_feature_groups(scheme) if features is None else tuple(features)
    with_conventions = conventions_apply_to(scheme) if conventions is None else conventions
    tagger = train_crf(examples, config.crf, groups) if with_ner else None
    thresholds: dict[str, float] = {}
    topics = None
    if with_topics:
        weak = topic_weak_examples(pipeline, scheme.topics, config.tfidf)

        def fit(docs: list[Document]) -> BaselineModel:
            """The untuned topic model trained on ``docs`` (their examples only, in order)."""
            flat, documents = _flat_with_groups([by_doc[doc.id] for doc in docs])
            topic_model = train_topics(flat, scheme.topics, config.tfidf, documents=documents, weak=weak)
            return BaselineModel(scheme, settings, tagger=None, topics=topic_model)

        untuned = fit(learn_from)
        topics = untuned.topics
        if pool is not None:
            log.info("%d document(s) < data.oof_below=%d: thresholds chosen out of fold, model trained on all "
                     "of them (%s)", len(pool), config.data.oof_below, ", ".join(d.id for d in pool))  # fmt: skip
            thresholds, _ = choose_thresholds_out_of_fold(pool, fit, scheme.topics, config.thresholds)
        else:
            thresholds = tune_thresholds(dev_docs, untuned.predict_documents(dev_docs), scheme.topics,
                                         config.thresholds.prior, config.thresholds.prior_weight)  # fmt: skip
            log.info("topic thresholds tuned on %d dev document(s): %s", len(dev_docs), thresholds)
    return BaselineModel(scheme, settings, tagger, topics, thresholds, conventions=with_conventions and with_ner)


def _flat_with_groups(grouped: list[list[ParagraphExample]]) -> tuple[list[ParagraphExample], list[int]]:
    """The examples of several documents in order, and the document index of each."""
    return [ex for group in grouped for ex in group], [i for i, group in enumerate(grouped) for _ in group]


def topic_weak_examples(
    pipeline: TextPipeline, topics: tuple[str, ...], tfidf: TfidfConfig
) -> list[ParagraphExample]:
    """The scheme lexicon's phrases as weak examples (``tfidf.lexicon_weight`` > 0), else none."""
    if tfidf.lexicon_weight == 0:
        return []
    phrases = lexicon_phrases(pipeline, topics)
    return [ParagraphExample(forms, ["O"] * len(forms), [topic]) for forms, topic in phrases]


def paragraph_examples(pipeline: TextPipeline, doc: Document, scheme: LabelScheme) -> list[ParagraphExample]:
    """The training examples of one gold document, paragraph by paragraph.

    A document that fails validation (a label outside ``scheme``, overlapping
    entities, ...) is an error naming it: training would otherwise learn
    labels the model cannot report, or wrong boundaries.
    """
    _check_document(doc, scheme)
    examples, split = [], 0
    for start, end, topics in ((p.start, p.end, p.topics) for p in doc.paragraphs):
        inside = [e for e in doc.entities if start <= e.start and e.end <= end]
        words, tags, n_split = pipeline.labelled_words(doc.text, start, end, inside)
        split += n_split
        examples.append(ParagraphExample([w.form for w in words], tags, list(topics)))
    if split:
        log.info("document %s: %d word(s) split at entity boundaries", doc.id, split)
    return examples


def _check_document(doc: Document, scheme: LabelScheme) -> None:
    """``xdd validate``'s content checks (labels in the scheme, no overlaps, paragraphs = lines, ...)."""
    problems = content_problems(doc.to_json(), scheme)
    if problems:
        raise CorpusError(f"document {doc.id!r}: " + "; ".join(problems))


def train_crf(
    examples: list[ParagraphExample], crf: CRFConfig, features: Sequence[str] = ORIGINAL_GROUPS
) -> CRFTagger:
    """L-BFGS CRF over the examples' word sequences with the feature groups ``features``, kept in memory."""
    features = check_feature_groups(features)
    sequences = [ex for ex in examples if ex.forms]
    with tempfile.TemporaryDirectory(prefix="xdd-crf-") as folder:
        path = Path(folder) / "model.crfsuite"
        trainer = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=crf.c1,
            c2=crf.c2,
            max_iterations=crf.max_iterations,
            all_possible_transitions=True,
            model_filename=str(path),
        )
        trainer.fit([word_features(ex.forms, features) for ex in sequences], [ex.tags for ex in sequences])
        tagger = CRFTagger(path.read_bytes(), features=features)
    words = sum(len(ex.forms) for ex in sequences)
    log.info("CRF: %d sequences, %d words, features %s, tags %s", len(sequences), words, list(features),
             sorted(tagger.tags))  # fmt: skip
    return tagger


def train_topics(
    examples: list[ParagraphExample],
    topics: tuple[str, ...],
    tfidf: TfidfConfig,
    documents: list[int] | None = None,
    weak: list[ParagraphExample] | None = None,
) -> TopicLinear:
    """TF-IDF over word n-grams + one logistic regression per topic (one-vs-rest), as plain arrays.

    ``documents`` gives the document of each example (a document's paragraphs
    consecutive and in order; None: all from one document): with
    ``tfidf.context_weight`` > 0 each paragraph's row gets its neighbours'
    rows added within its document (``topic_linear.with_context``, as at
    prediction).  ``weak`` examples (the scheme lexicon) join the vocabulary and
    the fit with sample weight ``tfidf.lexicon_weight`` and no context.
    ``tfidf.class_weight`` is passed to each regression.

    The per-topic loop is written out rather than using ``OneVsRestClassifier``
    because with a single topic that class switches to binary mode, where an
    all-negative column is learned as "always class 0".  A topic with no
    positive (or no negative) training paragraph gets a constant probability of
    0 (or 1): zero weights and an infinite intercept, with a warning.  Weak
    examples do not count as training paragraphs here.
    """
    weak = list(weak or [])
    texts = [paragraph_text(ex.forms) for ex in examples]
    weak_texts = [paragraph_text(ex.forms) for ex in weak]
    vectorizer = TfidfVectorizer(min_df=tfidf.min_df, **vectorizer_options(tfidf.ngram_max))
    try:
        matrix = vectorizer.fit_transform(texts + weak_texts).tocsr()
    except ValueError as err:  # empty vocabulary, e.g. min_df above the number of paragraphs
        raise ConfigError(f"TF-IDF on {len(texts)} training paragraphs: {err}; lower 'tfidf.min_df'") from err
    bounds = _document_bounds(documents, len(texts))
    blocks = [with_context(matrix[a:b], texts[a:b], tfidf.context_weight) for a, b in bounds]
    features = sparse.vstack([*blocks, matrix[len(texts) :]]).tocsr()
    weights = np.concatenate([np.ones(len(texts)), np.full(len(weak), tfidf.lexicon_weight)])
    coef = np.zeros((len(topics), features.shape[1]))
    intercept = np.zeros(len(topics))
    for j, topic in enumerate(topics):
        gold = np.array([topic in ex.topics for ex in examples], dtype=int)
        if gold.min() == gold.max():
            log.warning("topic %s: every training paragraph is %s; constant prediction", topic,
                        "positive" if gold[0] else "negative")
            intercept[j] = np.inf if gold[0] else -np.inf
            continue
        labels = np.concatenate([gold, [int(topic in ex.topics) for ex in weak]]).astype(int)
        regression = LogisticRegression(C=tfidf.C, max_iter=1000, class_weight=tfidf.class_weight)
        regression.fit(features, labels, sample_weight=weights)
        coef[j], intercept[j] = regression.coef_[0], regression.intercept_[0]
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    return TopicLinear(list(topics), vocabulary, tfidf.ngram_max, vectorizer.idf_, coef, intercept,
                       context_weight=tfidf.context_weight)  # fmt: skip


def _document_bounds(documents: list[int] | None, n: int) -> list[tuple[int, int]]:
    """(start, end) row ranges of each document's examples; a document's examples must be consecutive."""
    if documents is None:
        return [(0, n)]
    if len(documents) != n:
        raise ValueError(f"{len(documents)} document indices for {n} examples")
    starts = [i for i in range(n) if i == 0 or documents[i] != documents[i - 1]]
    if len({documents[i] for i in starts}) != len(starts):
        raise ValueError("the examples of one document must be consecutive")
    return list(zip(starts, [*starts[1:], n]))


def baseline_train_fn(
    train_docs: list[Document], dev_docs: list[Document], config: Config, scheme: LabelScheme, fold_dir: Path
) -> BaselineModel:
    """:func:`train_baselines` as a ``xdd.training.cv.TrainFn``; ``fold_dir``/choices.json says how thresholds were chosen."""
    model = train_baselines(train_docs, dev_docs, config, scheme)
    pool = oof_pool(train_docs, dev_docs, config)
    chosen_on = "out_of_fold" if pool is not None else ("dev" if dev_docs else "none")
    record_choices(fold_dir, {"chosen_on": chosen_on, **described(pool if pool is not None else dev_docs),
                              "thresholds": model.thresholds})  # fmt: skip
    return model
