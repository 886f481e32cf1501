"""``xdd simulate-annotation``: is choosing by uncertainty worth it here?  The annotation loop, replayed on gold.

A gold corpus plays the pool.  Its gold stays hidden from the model until a
unit is "annotated", that is, chosen; then its gold joins the training set:

1. ``start`` units are drawn at random (seed ``s``; the same draw for every
   strategy, so the curves share their first point);
2. the baselines are retrained on the annotated units as ``xdd train``
   trains them (:func:`xdd.training.splits.split_documents` for dev, then
   :func:`xdd.training.baselines.train_baselines`) and scored on the dev
   documents (:func:`xdd.eval.evaluate.point_figures`: entity micro-F1,
   paragraph topic micro-F1);
3. ``step`` more units are chosen from the rest: ``uncertainty`` with
   ``xdd suggest``'s own scoring and diversity step
   (:func:`xdd.training.suggest.rank_scores`,
   :func:`~xdd.training.suggest.choose_diverse`), ``random`` by seed;
4. back to 2, ``rounds`` times.

Units are whole documents, or paragraphs (``unit="paragraph"``): each gold
paragraph becomes a one-paragraph document
(:func:`xdd.training.suggest.paragraph_document`), exactly what
``xdd corpus add`` stores for a paragraph task.  The dev documents are held
out whole (a document-level split), so no paragraph of a dev article is ever
trained on.  The curve (F1 against annotated units, per strategy, mean and
spread over seeds) is written as ``curve.json`` and ``curve.png``.

:func:`synthetic_pool` makes distinct articles from a corpus's paragraphs,
for measuring ``xdd suggest`` on a pool of realistic size.
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdd.eval.evaluate import point_figures
from xdd.models.document import Document, Paragraph
from xdd.models.document.corpus import atomic_write_text
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import ConfigError
from xdd.models.predict.baseline import BaselineModel
from xdd.training.config import Config
from xdd.training.learning_curve import FIGURES
from xdd.training.suggest import (
    STRATEGIES,
    UNITS,
    choose_diverse,
    choose_random,
    paragraph_document,
    rank_scores,
    units_of,
)

log = logging.getLogger(__name__)

Train = Callable[[list[Document]], BaselineModel]
DEV_SPLIT_SEED = 13  # the dev documents do not change with the simulation's seeds


@dataclass(frozen=True)
class Plan:
    """What one simulation runs: ``rounds`` additions of ``step`` units after ``start``, per strategy and seed."""

    start: int
    step: int
    rounds: int
    strategies: tuple[str, ...] = STRATEGIES
    seeds: tuple[int, ...] = (0,)
    unit: str = "paragraph"

    def check(self, pool_size: int) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            raise ConfigError(f"--strategies {','.join(self.strategies)}: expected some of {', '.join(STRATEGIES)}")
        if self.unit not in UNITS:
            raise ConfigError(f"--unit {self.unit!r}: expected one of {', '.join(UNITS)}")
        if self.start < 1 or self.step < 1 or self.rounds < 0 or not self.seeds:
            raise ConfigError("--start and --step must be >= 1, --rounds >= 0, --seeds >= 1")
        if self.start >= pool_size:
            raise ConfigError(f"--start {self.start}: the pool has only {pool_size} {self.unit} unit(s); start lower")


@dataclass
class Run:
    """One strategy with one seed: a point per round, and the units each round added."""

    strategy: str
    seed: int
    points: list[dict[str, Any]] = field(default_factory=list)
    added: list[list[str]] = field(default_factory=list)


# --- the data -------------------------------------------------------------------


def split_dev(docs: list[Document], dev: str | Sequence[Document]) -> tuple[list[Document], list[Document]]:
    """``(pool, dev)``: ``dev`` as documents (held out by id), a fraction of the documents, or comma-separated ids."""
    if not isinstance(dev, str):
        held = {d.id for d in dev}
        return [d for d in docs if d.id not in held], list(dev)
    try:
        fraction = float(dev)
    except ValueError:
        fraction = None
    if fraction is not None:
        if not 0 < fraction < 1:
            raise ConfigError(f"--dev {dev}: a fraction of the documents is between 0 and 1")
        from xdd.training.splits import split_documents

        split = split_documents(docs, fraction, DEV_SPLIT_SEED)
        return split.train, split.dev
    ids = [i.strip() for i in dev.split(",") if i.strip()]
    missing = [i for i in ids if i not in {d.id for d in docs}]
    if missing:
        raise ConfigError(f"--dev: no document {', '.join(missing)} in the corpus (give a path, a fraction or ids)")
    return [d for d in docs if d.id not in ids], [d for d in docs if d.id in ids]


def gold_units(docs: list[Document], unit: str) -> list[Document]:
    """The pool's units as gold documents: the documents, or every paragraph as a document of its own."""
    if unit == "document":
        return list(docs)
    return [paragraph_document(doc, paragraph, i) for doc in docs for i, paragraph in enumerate(doc.paragraphs)]


def hidden(doc: Document) -> Document:
    """The document as the model may see it before it is annotated: text and paragraph spans, no gold."""
    return Document(doc.id, doc.text, paragraphs=[Paragraph(p.start, p.end) for p in doc.paragraphs], meta=doc.meta)


# --- the loop -------------------------------------------------------------------


def simulate(
    pool: list[Document], dev: list[Document], plan: Plan, train: Train, scheme: LabelScheme
) -> list[Run]:
    """Every strategy with every seed, in that order (module docstring)."""
    plan.check(len(pool))
    runs = []
    for seed in plan.seeds:
        for strategy in plan.strategies:
            runs.append(simulate_run(pool, dev, plan, train, scheme, strategy, seed))
    return runs


def simulate_run(
    pool: list[Document], dev: list[Document], plan: Plan, train: Train, scheme: LabelScheme, strategy: str, seed: int
) -> Run:
    """One curve: ``plan.rounds + 1`` trainings on a growing annotated set, each scored on ``dev``."""
    rng = random.Random(seed)
    annotated = rng.sample(range(len(pool)), plan.start)
    run = Run(strategy, seed, added=[[pool[i].id for i in annotated]])
    for round_number in range(plan.rounds + 1):
        started = time.perf_counter()
        model = train([pool[i] for i in annotated])
        figures = point_figures(dev, model.predict_documents([hidden(d) for d in dev]), scheme)
        point = {"round": round_number, "annotated": len(annotated)}
        point.update({name: figures.get(path) for name, path in FIGURES.items()})
        point["seconds"] = round(time.perf_counter() - started, 2)
        run.points.append(point)
        log.info("simulate %s seed %d: %s", strategy, seed, point)
        taken = set(annotated)
        rest = [i for i in range(len(pool)) if i not in taken]
        if round_number == plan.rounds or not rest:
            break
        chosen = _next_units(pool, rest, plan.step, model, scheme, strategy, rng)
        annotated += chosen
        run.added.append([pool[i].id for i in chosen])
    return run


def _next_units(
    pool: list[Document], rest: list[int], step: int, model: BaselineModel, scheme: LabelScheme, strategy: str,
    rng: random.Random,
) -> list[int]:  # fmt: skip
    """The indices of the ``step`` units to annotate next, as ``xdd suggest`` would choose them."""
    if strategy == "random":
        return choose_random(rest, step, rng.randrange(2**32))
    scored = model.score_documents([hidden(pool[i]) for i in rest])
    units = [unit for s in scored for unit in units_of(s, "document", "pool", scheme, model.thresholds)]
    rank_scores(units)
    position = {pool[i].id: i for i in rest}
    return [position[unit.id] for unit in choose_diverse(units, step)]


def baseline_trainer(config: Config, scheme: LabelScheme) -> Train:
    """Train the baselines on the annotated units as ``xdd train`` does: dev split off them, then train.

    The units are sorted by id first, so the model depends on which units
    are annotated, not on the order they were chosen in: two strategies
    that have annotated the same units have the same model.
    """
    from xdd.training.baselines import train_baselines
    from xdd.training.splits import split_documents

    def train(docs: list[Document]) -> BaselineModel:
        split = split_documents(sorted(docs, key=lambda d: d.id), config.data.dev_fraction, config.data.split_seed)
        return train_baselines(split.train, split.dev, config, scheme)

    return train


# --- the curve ------------------------------------------------------------------


def summarise(runs: list[Run], plan: Plan) -> dict[str, Any]:
    """Per strategy and round: annotated units, and each figure's mean, standard deviation, min and max over seeds."""
    curves: dict[str, list[dict[str, Any]]] = {}
    for strategy in plan.strategies:
        mine = [r for r in runs if r.strategy == strategy]
        rounds = min(len(r.points) for r in mine)
        curves[strategy] = [_aggregate([r.points[i] for r in mine]) for i in range(rounds)]
    return {"curves": curves}


def _aggregate(points: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"annotated": points[0]["annotated"]}
    for name in FIGURES:
        values = [p[name] for p in points if p[name] is not None]
        out[name] = None if not values else {
            "mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "values": values,
        }  # fmt: skip
    return out


def write_curve(out: Path, result: dict[str, Any]) -> dict[str, Path]:
    """``curve.json`` and ``curve.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "curve.json", json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    plot_curve(result, out / "curve.png")
    return {"json": out / "curve.json", "plot": out / "curve.png"}


def plot_curve(result: dict[str, Any], path: Path) -> None:
    """One panel per figure: the mean over seeds per strategy, shaded from the lowest to the highest seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in FIGURES if any(p[n] for c in result["curves"].values() for p in c)]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(5.5 * max(len(names), 1), 4), squeeze=False)
    for axis, name in zip(axes[0], names):
        for strategy, points in result["curves"].items():
            shown = [p for p in points if p[name]]
            x = [p["annotated"] for p in shown]
            line = axis.plot(x, [p[name]["mean"] for p in shown], marker="o", label=strategy)[0]
            axis.fill_between(x, [p[name]["min"] for p in shown], [p[name]["max"] for p in shown],
                              color=line.get_color(), alpha=0.15)  # fmt: skip
        axis.set_xlabel(f"annotated {result['unit']}s")
        axis.set_ylabel(name.replace("_", " "))
        axis.grid(alpha=0.3)
        axis.legend()
    seeds = len(result["seeds"])
    fig.suptitle(f"dev: {', '.join(result['dev'])}; mean over {seeds} seed(s), band = min-max", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- a pool for measuring xdd suggest --------------------------------------------


def synthetic_pool(docs: list[Document], n: int, seed: int = 0, paragraphs: tuple[int, int] = (8, 20)) -> list[dict]:
    """``n`` distinct articles (``{"id", "text"}``) made of a corpus's paragraphs, drawn and lightly perturbed.

    Each article takes a random number of paragraphs from all documents, in
    random order, and drops one word in about half of them: no two are
    near duplicates, and the text looks like the corpus's.
    """
    rng = random.Random(seed)
    lines = [doc.text[p.start : p.end] for doc in docs for p in doc.paragraphs]
    articles = []
    for number in range(n):
        chosen = rng.sample(lines, min(rng.randint(*paragraphs), len(lines)))
        articles.append({"id": f"synthetic-{number:04d}", "text": "\n".join(_perturbed(line, rng) for line in chosen)})
    return articles


def _perturbed(line: str, rng: random.Random) -> str:
    words = line.split(" ")
    if len(words) > 4 and rng.random() < 0.5:
        del words[rng.randrange(1, len(words) - 1)]
    return " ".join(words)
