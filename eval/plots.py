"""PNG plots of a report: per-label F1 bars with intervals and topic precision-recall curves.

Figures are drawn on matplotlib's Agg canvas directly (no ``pyplot``), so no
display and no global backend switch are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve
from xdd.eval.topic_metrics import Matrices, paragraph_matrices
from xdd.models.document import Document

NER_F1, TOPICS_F1, TOPICS_PR = "ner_per_label_f1.png", "topics_per_label_f1.png", "topics_pr_curves.png"


def write_plots(out_dir: Path, metrics: dict, pairs: Sequence[tuple[Document, Document]]) -> list[tuple[str, str]]:
    """Write the report's PNG files into ``out_dir``; returns ``(caption, file name)`` for each."""
    ner = metrics["ner"]["per_label"]
    images = [("NER F1 per label (bars: 95% bootstrap interval)", NER_F1)]
    _f1_bars({"entities": ner}, out_dir / NER_F1, "NER F1 per label")
    topics = {level: metrics["topics"][level]["per_label"] for level in ("paragraph", "document")}
    _f1_bars(topics, out_dir / TOPICS_F1, "Topic F1 per label")
    images.append(("Topic F1 per label, paragraph and document level (bars: 95% bootstrap interval)", TOPICS_F1))
    matrices = paragraph_matrices(pairs, metrics["topics"]["labels"])
    if matrices.scores is not None:
        _pr_curves(matrices, metrics["topics"]["labels"], out_dir / TOPICS_PR)
        images.append(("Topic precision-recall curves (paragraph level)", TOPICS_PR))
    return images


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100, bbox_inches="tight")


def _f1_bars(groups: dict[str, dict[str, dict]], path: Path, title: str) -> None:
    """Horizontal F1 bars per label, one bar per group, with the interval as error bars."""
    labels = list(next(iter(groups.values())))
    figure = Figure(figsize=(7, 0.5 + 0.45 * len(labels) * len(groups) + 0.6))
    axes = figure.add_subplot()
    height = 0.8 / len(groups)
    positions = np.arange(len(labels))
    for i, (group, per_label) in enumerate(groups.items()):
        f1 = np.array([per_label[label]["f1"] for label in labels])
        low = np.array([per_label[label]["ci95"][0] for label in labels])
        high = np.array([per_label[label]["ci95"][1] for label in labels])
        axes.barh(positions + i * height, f1, height=height, label=group,
                  xerr=np.vstack([f1 - low, high - f1]).clip(min=0), capsize=3)
    if len(groups) == 1:  # one group: show the gold support beside each label
        names = [f"{label} (n={per_label[label]['support']})" for label in labels]
    else:
        names = labels
    axes.set_yticks(positions + height * (len(groups) - 1) / 2, labels=names)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.05)
    axes.set_xlabel("F1")
    axes.set_title(title)
    if len(groups) > 1:
        axes.legend(loc="lower right")
    _save(figure, path)


def _pr_curves(matrices: Matrices, topics: Sequence[str], path: Path) -> None:
    """One precision-recall curve per topic that has at least one gold paragraph."""
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    for k, topic in enumerate(topics):
        if matrices.gold[:, k].any():
            scores = matrices.scores[:, k]  # type: ignore[index]
            precision, recall, _ = precision_recall_curve(matrices.gold[:, k], scores)
            axes.step(recall, precision, where="post", label=f"{topic} (n={int(matrices.gold[:, k].sum())})")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("Recall")
    axes.set_ylabel("Precision")
    axes.set_title("Topic precision-recall (paragraphs)")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="lower left")
    else:
        axes.text(0.5, 0.5, "no gold paragraph has a topic", ha="center", va="center")
    _save(figure, path)
