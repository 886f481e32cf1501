"""Choices made out of fold when the corpus is tiny (``data.oof_below``).

On a corpus of a handful of documents, a dev split of one document decides
thresholds (and, for transformers, when to stop) on a dozen paragraphs, and
withholds a fifth of the little there is to learn from.  Below
``data.oof_below`` documents the trainers instead:

1. pool the training documents and the dev documents split off them
   (:func:`oof_pool`; an explicit ``data.dev`` is the user's held-out set and
   stays out of the pool);
2. train on all of them but one, predict the one left out, for each of them
   (:func:`out_of_fold_predictions`: leave-one-document-out *inside* the
   training documents);
3. make the choices on the pooled out-of-fold predictions (thresholds:
   :func:`choose_thresholds_out_of_fold`; epochs: :func:`choose_epoch`);
4. train the shipped model on every pooled document with those choices.

Under ``xdd cv`` each fold's trainer receives only that fold's training
documents, so the held-out fold document never enters steps 1-4: the choice
is nested inside the fold and the CV figure stays honest.

The trainers plug in through one function, ``fit(docs) -> model`` with
``model.predict_documents(docs)``, so the baselines and the transformer trainer
follow the same rule (docs/training.md, "Choices on a tiny corpus").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from xdd.models.document import Document
from xdd.training.config import Config, ThresholdConfig
from xdd.training.thresholds import tune_thresholds

log = logging.getLogger(__name__)


class ScoringModel(Protocol):
    def predict_documents(self, inputs: Sequence[str | Document]) -> list[Document]: ...


Fit = Callable[[list[Document]], ScoringModel]


def oof_pool(train_docs: list[Document], dev_docs: list[Document], config: Config) -> list[Document] | None:
    """The documents to choose on out of fold, or None when the dev split decides (as above ``data.oof_below``).

    The pool is ``train_docs`` followed by ``dev_docs`` (once each, by id),
    unless ``data.dev`` names an explicit dev corpus, which stays held out.
    Out of fold needs at least two documents; with one, the dev split decides.
    """
    pool = list(train_docs) if config.data.dev is not None else _unique(list(train_docs) + list(dev_docs))
    if not uses_out_of_fold(len(pool), config) or len(pool) < 2:
        return None
    return pool


def uses_out_of_fold(n_documents: int, config: Config) -> bool:
    """Whether a trainer given ``n_documents`` (training + split-off dev) chooses out of fold."""
    return n_documents < config.data.oof_below


def out_of_fold_predictions(docs: list[Document], fit: Fit) -> list[Document]:
    """For each document, the prediction of a model fitted on all the others (leave-one-document-out).

    ``fit`` never sees the document it is asked to predict; the predictions
    come back in the order of ``docs``.
    """
    if len(docs) < 2:
        raise ValueError(f"out-of-fold predictions need at least 2 documents, got {len(docs)}")
    predictions = []
    for i, held_out in enumerate(docs):
        rest = docs[:i] + docs[i + 1 :]
        model = fit(rest)
        (predicted,) = model.predict_documents([held_out])
        predictions.append(predicted)
    return predictions


def choose_thresholds_out_of_fold(
    docs: list[Document], fit: Fit, topics: tuple[str, ...], settings: ThresholdConfig | None = None
) -> tuple[dict[str, float], list[Document]]:
    """Per-topic thresholds tuned on the pooled out-of-fold predictions of ``docs``; and those predictions."""
    settings = settings or ThresholdConfig()
    predictions = out_of_fold_predictions(docs, fit)
    thresholds = tune_thresholds(docs, predictions, topics, settings.prior, settings.prior_weight)
    log.info("topic thresholds chosen on out-of-fold predictions of %d document(s) (%d paragraphs): %s",
             len(docs), sum(len(d.paragraphs) for d in docs), thresholds)  # fmt: skip
    return thresholds, predictions


def choose_epoch(
    gold: list[Document],
    predictions_by_epoch: dict[int, list[Document]],
    score: Callable[[list[Document], list[Document]], float],
) -> int:
    """The epoch whose pooled out-of-fold predictions score best (ties: the earliest).

    For trainers with epochs (the transformer): each leave-one-out fit
    predicts its held-out document after every epoch; ``predictions_by_epoch``
    maps an epoch to the pooled predictions of all held-out documents (in the
    order of ``gold``), and ``score(gold, pred)`` is the selection figure
    (entity / topic micro-F1 or their mean).  The shipped model is then trained
    on every document for the chosen number of epochs, without early stopping.
    """
    if not predictions_by_epoch:
        raise ValueError("no epochs to choose from")
    scored = {epoch: score(gold, pred) for epoch, pred in sorted(predictions_by_epoch.items())}
    best = max(scored.values())
    chosen = min(epoch for epoch, value in scored.items() if value == best)
    log.info("epochs chosen out of fold: %d (selection figure %.4f)", chosen, best)
    return chosen


def _unique(docs: list[Document]) -> list[Document]:
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.id not in seen:
            seen.add(doc.id)
            out.append(doc)
    return out
