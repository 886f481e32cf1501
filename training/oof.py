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

The trainers plug in through one function each: the baselines through
``fit(docs) -> model`` with ``model.predict_documents(docs)``
(:func:`out_of_fold_predictions`), the transformer trainer, which also chooses
its number of epochs, through ``fit(docs, held_out) -> [(epochs, prediction)]``,
the held-out document predicted after every epoch
(:func:`out_of_fold_predictions_by_epoch`).  Both follow the same rule
(docs/training.md, "Choices on a tiny corpus"), and the transformer records
what it chose in the work folder's :data:`CHOICES_FILE`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from xdd.models.document import Document
from xdd.training.config import Config, ThresholdConfig
from xdd.training.thresholds import tune_thresholds

log = logging.getLogger(__name__)


class ScoringModel(Protocol):
    def predict_documents(self, inputs: Sequence[str | Document]) -> list[Document]: ...


Fit = Callable[[list[Document]], ScoringModel]
# fit(train_docs, held_out) -> [(epochs trained, prediction of held_out)], one pair at the end of every epoch.
EpochFit = Callable[[list[Document], Document], list[tuple[float, Document]]]
# What a trainer chose and on what (chosen_on: "out_of_fold", "dev", or "none" without dev documents).
CHOICES_FILE = "choices.json"
T = TypeVar("T")


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
    return _leave_one_out(docs, lambda rest, held_out: fit(rest).predict_documents([held_out])[0])


@dataclass(frozen=True)
class EpochPredictions:
    """Pooled out-of-fold predictions at each epoch end (1, 2, ...) and the training epochs each stands for."""

    predictions: dict[int, list[Document]]  # in the order of the pooled documents
    epochs: dict[int, float]  # = the epoch end, unless training.max_steps cut the last epoch short


def out_of_fold_predictions_by_epoch(docs: list[Document], fit: EpochFit) -> EpochPredictions:
    """For each document, the predictions after every epoch of a model fitted on all the others.

    Only the epoch ends every fit reached are pooled: with ``training.max_steps``
    a fit on more windows ends in fewer epochs, and an epoch some held-out
    documents were never predicted at cannot be scored on all of them.
    """
    per_fit = _leave_one_out(docs, fit)
    reached = min(len(predictions) for predictions in per_fit)
    if reached == 0:
        raise ValueError("an out-of-fold fit ended before its first epoch end: nothing to choose from")
    if any(len(predictions) > reached for predictions in per_fit):
        log.info("out of fold: only the first %d epoch end(s) were reached by every fit (training.max_steps); "
                 "choosing among them", reached)  # fmt: skip
    ends = range(1, reached + 1)
    return EpochPredictions(
        predictions={end: [fit_predictions[end - 1][1] for fit_predictions in per_fit] for end in ends},
        epochs={end: round(sum(p[end - 1][0] for p in per_fit) / len(per_fit), 4) for end in ends},
    )


def _leave_one_out(docs: list[Document], fit: Callable[[list[Document], Document], T]) -> list[T]:
    """``fit(all documents but one, that one)`` for each document in turn, in the order of ``docs``."""
    if len(docs) < 2:
        raise ValueError(f"out-of-fold predictions need at least 2 documents, got {len(docs)}")
    return [fit(docs[:i] + docs[i + 1 :], held_out) for i, held_out in enumerate(docs)]


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
) -> tuple[int, dict[int, float]]:
    """The epoch whose pooled out-of-fold predictions score best (ties: the earliest), and every epoch's figure.

    For trainers with epochs (the transformer): each leave-one-out fit
    predicts its held-out document after every epoch; ``predictions_by_epoch``
    maps an epoch to the pooled predictions of all held-out documents (in the
    order of ``gold``), and ``score(gold, pred)`` is the selection figure
    (entity / topic micro-F1 or their mean).  The shipped model is then trained
    on every document for the chosen number of epochs, without early stopping;
    the figures of the other epochs are returned so the run can record them.
    """
    if not predictions_by_epoch:
        raise ValueError("no epochs to choose from")
    scored = {epoch: score(gold, pred) for epoch, pred in sorted(predictions_by_epoch.items())}
    best = max(scored.values())
    chosen = min(epoch for epoch, value in scored.items() if value == best)
    log.info("epochs chosen out of fold: %d (selection figure %.4f; by epoch: %s)", chosen, best,
             ", ".join(f"{epoch}: {value:.4f}" for epoch, value in scored.items()))  # fmt: skip
    return chosen, scored


def described(docs: list[Document]) -> dict[str, Any]:
    """The documents a choice was made on, for :data:`CHOICES_FILE`: their ids and how many paragraphs."""
    return {"documents": [d.id for d in docs], "paragraphs": paragraph_count(docs)}


def paragraph_count(docs: list[Document]) -> int:
    return sum(len(d.paragraphs) for d in docs)


def record_choices(work_dir: Path, choices: dict[str, Any]) -> Path:
    """Write ``choices`` to ``work_dir``/:data:`CHOICES_FILE` (the run folder, or a CV fold's folder)."""
    path = Path(work_dir) / CHOICES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(choices, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _unique(docs: list[Document]) -> list[Document]:
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc.id not in seen:
            seen.add(doc.id)
            out.append(doc)
    return out
