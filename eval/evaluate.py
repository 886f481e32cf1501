"""``evaluate(gold, pred)``: the metrics.json dictionary of one set of predictions.

The flow: pair gold and predicted documents by id (checking that they can be
scored together), build per-document count tables (NER by exact character
span, see ``ner_metrics``; topics at paragraph and document level), compute
every figure from the summed tables, and attach a document-bootstrap 95%
interval to every headline figure.
The keys are documented in ``docs/metrics.md``; all values are plain ``float``,
``int``, ``str``, ``list`` or ``None`` (never NaN).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdd.eval import ner_metrics, topic_metrics
from xdd.eval.bootstrap import Figures, Tables, intervals, resample_weights, totals
from xdd.eval.counts import PREDICTED, SUPPORT, TP, prf
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import EvaluationError

SCHEMA_VERSION = 1
PRF = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Scored:
    """Paired documents with their per-document count tables and topic matrices."""

    pairs: list[tuple[Document, Document]]
    tables: dict[str, np.ndarray]
    matrices: dict[str, topic_metrics.Matrices]


def pair_documents(
    gold: Sequence[Document], pred: Sequence[Document], scheme: LabelScheme
) -> list[tuple[Document, Document]]:
    """``(gold, prediction)`` pairs in gold order, after checking they can be scored together."""
    if not gold:
        raise EvaluationError("the gold corpus has no documents; point --data at the annotated JSONL file(s)")
    _check_unique(gold, "gold")
    _check_unique(pred, "predicted")
    by_id = {p.id: p for p in pred}
    gold_ids = {g.id for g in gold}
    missing = [g.id for g in gold if g.id not in by_id]
    if missing:
        raise EvaluationError(
            f"no prediction for gold document id(s) {missing}; predict every gold document "
            "(the prediction file must contain one record per gold id)"
        )
    extra = [p.id for p in pred if p.id not in gold_ids]
    if extra:
        raise EvaluationError(
            f"prediction(s) for document id(s) {extra} that are not in the gold corpus; "
            "check that the predictions were made on this gold corpus"
        )
    pairs = [(g, by_id[g.id]) for g in gold]
    for g, p in pairs:
        _check_pair(g, p, scheme)
    return pairs


def _check_unique(docs: Sequence[Document], side: str) -> None:
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise EvaluationError(f"{side} document id {doc.id!r} occurs twice; ids must be unique")
        seen.add(doc.id)


def _check_pair(gold: Document, pred: Document, scheme: LabelScheme) -> None:
    if gold.text != pred.text:
        differing = (i for i, (a, b) in enumerate(zip(gold.text, pred.text)) if a != b)
        at = next(differing, min(len(gold.text), len(pred.text)))
        raise EvaluationError(
            f"document {gold.id!r}: predicted text differs from the gold text at character {at}; "
            "predictions must keep the original text so that offsets agree"
        )
    gold_spans = [(p.start, p.end) for p in gold.paragraphs]
    pred_spans = [(p.start, p.end) for p in pred.paragraphs]
    if gold_spans != pred_spans:
        raise EvaluationError(
            f"document {gold.id!r}: predicted paragraphs {pred_spans[:3]}... do not align with the gold paragraphs "
            f"{gold_spans[:3]}... ({len(pred_spans)} vs {len(gold_spans)}); emit one paragraph per gold paragraph "
            "with the same (start, end) (xdd.models.document.paragraph_spans), with empty topics if none are predicted"
        )
    for side, doc in (("gold", gold), ("predicted", pred)):
        for entity in doc.entities:
            if entity.label not in scheme.entities:
                raise EvaluationError(
                    f"document {doc.id!r}: {side} entity label {entity.label!r} at [{entity.start}, {entity.end}) "
                    f"is not in the label scheme {list(scheme.entities)}; declare it in labels.json beside the gold"
                )
        for paragraph in doc.paragraphs:
            unknown = [t for t in paragraph.topics if t not in scheme.topics]
            if unknown:
                raise EvaluationError(
                    f"document {doc.id!r}: {side} paragraph [{paragraph.start}, {paragraph.end}) has topic(s) "
                    f"{unknown} not in the label scheme {list(scheme.topics)}; declare them in labels.json"
                )


def score(gold: Sequence[Document], pred: Sequence[Document], scheme: LabelScheme) -> Scored:
    """Pair the documents and build every per-document count table."""
    pairs = pair_documents(gold, pred, scheme)
    paragraphs = topic_metrics.paragraph_matrices(pairs, scheme.topics)
    matrices = {"paragraph": paragraphs, "document": topic_metrics.document_matrices(paragraphs)}
    tables = {"ner": ner_metrics.count_table(pairs, scheme.entities)}
    for level, level_matrices in matrices.items():
        tables[f"{level}.labels"], tables[f"{level}.rows"] = topic_metrics.count_tables(level_matrices)
    return Scored(pairs, tables, matrices)


def figure_function(scheme: LabelScheme) -> Figures:
    """The function from summed tables to every figure that gets an interval, by dotted metrics.json path."""

    def figures(sums: Tables) -> dict[str, np.ndarray]:
        out = _prf_figures("ner", sums["ner"], scheme.entities, ("macro", "weighted"))
        for level in topic_metrics.LEVELS:
            path = f"topics.{level}"
            out.update(_prf_figures(path, sums[f"{level}.labels"], scheme.topics, ("macro",)))
            rows = topic_metrics.row_figures(sums[f"{level}.rows"], len(scheme.topics))
            out.update({f"{path}.{name}": values for name, values in rows.items()})
        return out

    return figures


def _prf_figures(path: str, table: np.ndarray, labels: Sequence[str], averages: Sequence[str]) -> dict[str, np.ndarray]:
    """Micro P/R/F1, the F1 of the other ``averages`` and per-label F1 of one label family."""
    result = prf(table)
    out = {f"{path}.micro.{name}": result[f"micro.{name}"] for name in PRF}
    out.update({f"{path}.{average}.f1": result[f"{average}.f1"] for average in averages})
    out.update({f"{path}.per_label.{label}.f1": result["per_label.f1"][..., i] for i, label in enumerate(labels)})
    return out


def headline_figures(metrics: dict) -> dict[str, float]:
    """The figures of a metrics.json dict that carry an interval, by dotted path (as ``figure_function``)."""
    out = {f"ner.micro.{name}": metrics["ner"]["micro"][name] for name in PRF}
    out["ner.macro.f1"] = metrics["ner"]["macro"]["f1"]
    out["ner.weighted.f1"] = metrics["ner"]["weighted"]["f1"]
    out.update({f"ner.per_label.{k}.f1": v["f1"] for k, v in metrics["ner"]["per_label"].items()})
    for level in topic_metrics.LEVELS:
        block, path = metrics["topics"][level], f"topics.{level}"
        out.update({f"{path}.micro.{name}": block["micro"][name] for name in PRF})
        out[f"{path}.macro.f1"] = block["macro"]["f1"]
        out.update({f"{path}.per_label.{k}.f1": v["f1"] for k, v in block["per_label"].items()})
        out[f"{path}.subset_accuracy.value"] = block["subset_accuracy"]["value"]
        out[f"{path}.hamming_loss.value"] = block["hamming_loss"]["value"]
    return out


def point_figures(gold: Sequence[Document], pred: Sequence[Document], scheme: LabelScheme) -> dict[str, float]:
    """The headline figures (no intervals), keyed by dotted metrics.json path."""
    return {k: float(v) for k, v in figure_function(scheme)(totals(score(gold, pred, scheme).tables)).items()}


def evaluate(
    gold: Sequence[Document], pred: Sequence[Document], *, scheme: LabelScheme, n_boot: int = 1000, seed: int = 0
) -> dict:
    """The metrics.json dictionary: NER and topic figures with document-bootstrap 95% intervals.

    Documents are paired by id; a missing or extra prediction, a changed text,
    misaligned paragraphs, a label outside ``scheme`` or overlapping gold
    entities raise :class:`~xdd.models.errors.EvaluationError` naming the
    document.  Any prediction is scored, never refused: overlapping predicted
    entities are left out and counted in ``ner.alignment.pred.overlapping_dropped``
    (a model's dev evaluation must not crash training).  ``n_boot=0``
    skips the bootstrap (every ``ci95`` is null): model selection during
    training needs only the point estimates.
    """
    scored = score(gold, pred, scheme)
    cis: dict = defaultdict(lambda: None)
    if n_boot:
        cis = intervals(scored.tables, figure_function(scheme), resample_weights(len(scored.pairs), n_boot, seed))
    sums = totals(scored.tables)
    return {
        "schema_version": SCHEMA_VERSION,
        "n_documents": len(scored.pairs),
        "n_paragraphs": int(scored.matrices["paragraph"].gold.shape[0]),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "unit": "document", "percentiles": [2.5, 97.5]},
        "ner": _ner_block(scored, sums, cis, scheme),
        "topics": _topics_block(scored, sums, cis, scheme),
    }


def _ner_block(scored: Scored, sums: Tables, cis: dict, scheme: LabelScheme) -> dict:
    block = {"labels": list(scheme.entities)}
    block.update(_prf_blocks(sums["ner"], scheme.entities, cis, "ner", ("micro", "macro", "weighted")))
    block["errors"] = ner_metrics.error_breakdown(scored.pairs, scheme.entities)
    block["alignment"] = ner_metrics.alignment_counts(scored.pairs)
    return block


def _topics_block(scored: Scored, sums: Tables, cis: dict, scheme: LabelScheme) -> dict:
    block: dict = {
        "labels": list(scheme.topics),
        "scores_available": scored.matrices["paragraph"].scores is not None,
    }
    for level in topic_metrics.LEVELS:
        path = f"topics.{level}"
        matrices = scored.matrices[level]
        level_block: dict = {"n": int(matrices.gold.shape[0])}
        level_block.update(_prf_blocks(sums[f"{level}.labels"], scheme.topics, cis, path, ("micro", "macro")))
        for name, values in topic_metrics.row_figures(sums[f"{level}.rows"], len(scheme.topics)).items():
            metric = name.split(".")[0]
            level_block[metric] = {"value": float(values), "ci95": cis[f"{path}.{name}"]}
        aps = topic_metrics.average_precisions(matrices)
        for topic, ap in zip(scheme.topics, aps):
            level_block["per_label"][topic]["average_precision"] = ap
        defined = [ap for ap in aps if ap is not None]
        level_block["mean_average_precision"] = float(np.mean(defined)) if defined else None
        block[level] = level_block
    return block


def _prf_blocks(table: np.ndarray, labels: Sequence[str], cis: dict, path: str, averages: Sequence[str]) -> dict:
    """The averaged blocks and ``per_label`` of one label family, with their intervals and counts."""
    result = prf(table)
    out: dict = {}
    for average in averages:
        block = {name: float(result[f"{average}.{name}"]) for name in PRF}
        block["ci95"] = cis[f"{path}.{average}.f1"]
        if average == "micro":
            block["precision_ci95"] = cis[f"{path}.micro.precision"]
            block["recall_ci95"] = cis[f"{path}.micro.recall"]
            block.update(_counts(table.sum(axis=0)))
        out[average] = block
    out["per_label"] = {
        label: {
            **{name: float(result[f"per_label.{name}"][i]) for name in PRF},
            "ci95": cis[f"{path}.per_label.{label}.f1"],
            **_counts(table[i]),
        }
        for i, label in enumerate(labels)
    }
    return out


def _counts(row: np.ndarray) -> dict[str, int]:
    return {"tp": int(row[TP]), "predicted": int(row[PREDICTED]), "support": int(row[SUPPORT])}
