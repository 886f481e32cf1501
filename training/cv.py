"""Cross-validation by document: train on the other folds, predict the held-out one, aggregate.

Any model plugs in through one function, :data:`TrainFn`::

    train_fn(train_docs, dev_docs, config, scheme, fold_dir) -> predictor

where ``predictor.predict_documents(docs)`` returns one predicted
:class:`~xdd.models.document.Document` per input.  ``dev_docs`` are carved out of
the fold's training documents (``data.dev_fraction``, by document), never out
of its test documents, so threshold tuning and early stopping never see the
held-out article.  ``fold_dir`` is where the trainer may keep checkpoints.

The run folder (``xdd.training.runs``) gets, per fold, ``fold-<i>/predictions.jsonl``
and ``fold-<i>/metrics.json``; at the top, the aggregated ``metrics.json``
(``xdd.eval.aggregate``: pooled figures with bootstrap intervals, plus each
fold's headline figures and their mean, std, min and max) and the evaluation
report of the pooled predictions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from xdd.eval.aggregate import aggregate_folds
from xdd.eval.evaluate import evaluate
from xdd.eval.report import write_report
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme, scheme_for
from xdd.training.config import Config
from xdd.training.runs import RunFolder
from xdd.training.splits import Folds, cv_folds, read_corpus, split_documents

log = logging.getLogger(__name__)

# Headline figures of the per-fold table: (column title, dotted key of eval.evaluate.point_figures).
TABLE_FIGURES = (("entity F1", "ner.micro.f1"), ("topic F1", "topics.paragraph.micro.f1"))


class FoldModel(Protocol):
    def predict_documents(self, inputs: Sequence[str | Document]) -> list[Document]: ...


TrainFn = Callable[[list[Document], list[Document], Config, LabelScheme, Path], FoldModel]


def run_cv(
    config: Config, folds: Folds, out_dir: str | Path, train_fn: TrainFn, with_learning_curve: bool = False
) -> dict:
    """Cross-validate ``train_fn`` on ``config.data.train``; returns the aggregated metrics dict.

    ``data.dev`` and ``data.test`` are not used (each fold makes its own);
    a warning says so when they are set.  ``with_learning_curve`` adds
    ``metrics["learning_curve"]`` (:mod:`xdd.training.learning_curve`).
    """
    data = config.data
    if data.dev is not None or data.test is not None:
        log.warning("cross-validation uses data.train only; data.dev and data.test are ignored")
    docs = read_corpus(data.train)
    scheme = scheme_for(data.train)
    with RunFolder(out_dir) as run:
        run.record(config, {"train": data.train})
        results = []
        for fold in cv_folds(docs, folds, data.split_seed):
            started = time.perf_counter()
            name = f"fold-{fold.index}"
            split = split_documents(fold.train, data.dev_fraction, data.split_seed)
            log.info("%s: train %s, dev %s, test %s", name, _ids(split.train), _ids(split.dev), _ids(fold.test))
            predictor = train_fn(split.train, split.dev, config, scheme, run.path / name)
            predictions = predictor.predict_documents(fold.test)
            run.write_predictions(predictions, name)
            run.write_metrics(evaluate(fold.test, predictions, scheme=scheme), name)
            log.info("%s done in %.1fs", name, time.perf_counter() - started)
            results.append((fold.test, predictions))
        metrics = aggregate_folds(results, scheme=scheme)
        if with_learning_curve:
            from xdd.training.learning_curve import learning_curve

            metrics["learning_curve"] = learning_curve(docs, config, scheme, train_fn, run.path / "learning-curve")
        gold = [doc for test, _ in results for doc in test]
        pred = [doc for _, predictions in results for doc in predictions]
        kind = "leave-one-document-out" if folds == "loo" else f"{len(results)}-fold"
        title = f"{config.name}: {kind} cross-validation"
        write_report(run.path, metrics, gold, pred, title=title, gold_path=data.train)
    return metrics


def _ids(docs: list[Document]) -> str:
    return ", ".join(d.id for d in docs)


def cv_table(metrics: dict) -> str:
    """Per-fold headline figures and their mean ± std, as a plain-text table.

    A figure whose label family is empty (topics of a NER-only corpus) shows ``-``.
    """
    cv = metrics["cv"]
    keys = [key if metrics[key.split(".")[0]]["labels"] else None for _, key in TABLE_FIGURES]
    rows = [["fold", "docs", *(title for title, _ in TABLE_FIGURES)]]
    for fold in cv["folds"]:
        figures = [f"{fold['figures'][k]:.3f}" if k else "-" for k in keys]
        rows.append([str(fold["fold"]), str(fold["n_documents"]), *figures])
    spreads = [f"{cv['summary'][k]['mean']:.3f} ± {cv['summary'][k]['std']:.3f}" if k else "-" for k in keys]
    rows.append(["mean ± std", str(metrics["n_documents"]), *spreads])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def learning_curve_text(curve: dict) -> str:
    """The learning curve as plain text: one line per number of training documents."""
    lines = ["learning curve (out-of-fold, pooled over held-out documents):", "train docs  entity F1  topic F1"]
    for point in curve["points"]:
        figures = [f"{point[k]:.3f}" if point[k] is not None else "-" for k in ("entity_f1", "topic_f1")]
        lines.append(f"{point['train_documents']:<10}  {figures[0]:<8}  {figures[1]}")
    return "\n".join(lines)
