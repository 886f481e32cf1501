"""How much is one more annotated article worth?  Out-of-fold F1 against the number of training documents.

For ``k = 1 … n−1`` every document is held out in turn and the model is
trained on ``k`` of the others (a random choice per held-out document, seeded),
exactly as a fold of ``xdd cv`` trains (dev carved out of those ``k``); the
held-out predictions of all ``n`` runs are pooled and scored.  The point at
``k = n−1`` is leave-one-document-out cross-validation itself.  Each point
rests on ``n`` held-out documents: with a five-article corpus the curve is a
direction, not a measurement to the second decimal.

It costs ``n·(n−1)`` trainings, seconds each for the baselines; ``xdd cv
--learning-curve`` asks for it (``xdd pipeline`` does for the baselines).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

from xdd.eval.evaluate import point_figures
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.training.config import Config
from xdd.training.splits import split_documents

log = logging.getLogger(__name__)

FIGURES = {"entity_f1": "ner.micro.f1", "topic_f1": "topics.paragraph.micro.f1"}


def learning_curve(
    docs: list[Document], config: Config, scheme: LabelScheme, train_fn: Callable, work: Path
) -> dict:
    """``{"points": [{"train_documents": k, "held_out_documents": n, "entity_f1": …, "topic_f1": …}], …}``."""
    rng = random.Random(config.data.split_seed)
    points = []
    for k in range(1, len(docs)):
        gold, pred = [], []
        for held, test in enumerate(docs):
            others = docs[:held] + docs[held + 1 :]
            chosen = rng.sample(others, k)
            split = split_documents(chosen, config.data.dev_fraction, config.data.split_seed)
            predictor = train_fn(split.train, split.dev, config, scheme, work / f"k{k}-held{held}")
            gold.append(test)
            pred.extend(predictor.predict_documents([test]))
        figures = point_figures(gold, pred, scheme)
        point = {"train_documents": k, "held_out_documents": len(docs)}
        point.update({name: figures.get(path) for name, path in FIGURES.items()})
        log.info("learning curve: %d training document(s): %s", k, point)
        points.append(point)
    return {"unit": "documents", "pooled_over": "held-out documents", "seed": config.data.split_seed,
            "points": points}  # fmt: skip
