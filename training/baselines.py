"""Training the fast baselines: a CRF tagger for NER, TF-IDF + one-vs-rest logistic regression for topics.

Both learn from the same words: each gold paragraph is segmented by the text
pipeline (settings from ``config.text``), with words split where a gold
entity starts or ends inside them so that every entity is a whole number of
words.  The CRF learns IOB2 word tags (sklearn-crfsuite, L-BFGS with
``config.crf``'s L1/L2 penalties); the topic model learns from the paragraphs'
lower-cased word forms (``config.tfidf``).  Per-topic thresholds are tuned on
the dev paragraphs (``training.thresholds``).  Nothing is downloaded; on the
five-article gold corpus training takes seconds.

Which heads are trained follows the label scheme and ``config.task``: a corpus
without topics (a CoNLL import, say) trains the CRF only; one without entity
labels, the topic model only.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn_crfsuite
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.baseline_model import BaselineModel
from models.crf_tagger import CRFTagger, word_features
from models.document import Document
from models.errors import ConfigError, CorpusError
from models.labels import LabelScheme
from models.text_pipeline import TextPipeline
from models.topic_linear import TopicLinear, paragraph_text, vectorizer_options
from training.config import Config, CRFConfig, TfidfConfig
from training.thresholds import tune_thresholds
from training.validate import content_problems

log = logging.getLogger(__name__)


@dataclass
class ParagraphExample:
    """One gold paragraph as both learners see it: word forms, their IOB2 tags, its topics."""

    forms: list[str]
    tags: list[str]
    topics: list[str]


def train_baselines(
    train_docs: list[Document], dev_docs: list[Document], config: Config, scheme: LabelScheme
) -> BaselineModel:
    """A CRF tagger and/or TF-IDF topic model trained on ``train_docs``, topic thresholds tuned on ``dev_docs``."""
    with_ner = bool(scheme.entities) and config.task != "topics"
    with_topics = bool(scheme.topics) and config.task != "ner"
    if not (with_ner or with_topics):
        raise ConfigError(
            f"nothing to train: task '{config.task}' with entity labels {list(scheme.entities)} and topics "
            f"{list(scheme.topics)}; declare labels in labels.json beside the corpus or change 'task'"
        )
    settings = config.text.for_saving()
    pipeline = TextPipeline(settings)
    examples = [ex for doc in train_docs for ex in paragraph_examples(pipeline, doc, scheme)]
    if not any(ex.forms for ex in examples):
        raise CorpusError(f"the {len(train_docs)} training document(s) contain no words to learn from")
    tagger = train_crf(examples, config.crf) if with_ner else None
    topics = train_topics(examples, scheme.topics, config.tfidf) if with_topics else None
    thresholds = {}
    if topics is not None:
        untuned = BaselineModel(scheme, settings, tagger=None, topics=topics)
        thresholds = tune_thresholds(dev_docs, untuned.predict_documents(dev_docs), scheme.topics)
        log.info("topic thresholds tuned on %d dev document(s): %s", len(dev_docs), thresholds)
    return BaselineModel(scheme, settings, tagger, topics, thresholds)


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


def train_crf(examples: list[ParagraphExample], crf: CRFConfig) -> CRFTagger:
    """L-BFGS CRF over the examples' word sequences; the crfsuite model file is kept in memory."""
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
        trainer.fit([word_features(ex.forms) for ex in sequences], [ex.tags for ex in sequences])
        tagger = CRFTagger(path.read_bytes())
    words = sum(len(ex.forms) for ex in sequences)
    log.info("CRF: %d sequences, %d words, tags %s", len(sequences), words, sorted(tagger.tags))
    return tagger


def train_topics(examples: list[ParagraphExample], topics: tuple[str, ...], tfidf: TfidfConfig) -> TopicLinear:
    """TF-IDF over word n-grams + one logistic regression per topic (one-vs-rest), as plain arrays.

    The per-topic loop is written out rather than using ``OneVsRestClassifier``
    because with a single topic that class switches to binary mode, where an
    all-negative column is learned as "always class 0".  A topic with no
    positive (or no negative) training paragraph gets a constant probability of
    0 (or 1): zero weights and an infinite intercept, with a warning.
    """
    texts = [paragraph_text(ex.forms) for ex in examples]
    vectorizer = TfidfVectorizer(min_df=tfidf.min_df, **vectorizer_options(tfidf.ngram_max))
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError as err:  # empty vocabulary, e.g. min_df above the number of paragraphs
        raise ConfigError(f"TF-IDF on {len(texts)} training paragraphs: {err}; lower 'tfidf.min_df'") from err
    coef = np.zeros((len(topics), features.shape[1]))
    intercept = np.zeros(len(topics))
    for j, topic in enumerate(topics):
        labels = np.array([topic in ex.topics for ex in examples], dtype=int)
        if labels.min() == labels.max():
            log.warning("topic %s: every training paragraph is %s; constant prediction", topic,
                        "positive" if labels[0] else "negative")
            intercept[j] = np.inf if labels[0] else -np.inf
            continue
        regression = LogisticRegression(C=tfidf.C, max_iter=1000).fit(features, labels)
        coef[j], intercept[j] = regression.coef_[0], regression.intercept_[0]
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    return TopicLinear(list(topics), vocabulary, tfidf.ngram_max, vectorizer.idf_, coef, intercept)


def baseline_train_fn(
    train_docs: list[Document], dev_docs: list[Document], config: Config, scheme: LabelScheme, fold_dir: Path
) -> BaselineModel:
    """:func:`train_baselines` as a ``training.cv.TrainFn`` (nothing is written to ``fold_dir``)."""
    return train_baselines(train_docs, dev_docs, config, scheme)
