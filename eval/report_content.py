"""What the reports say, independent of how it is rendered.

``report_md`` and ``report_html`` render the same :class:`ReportContent`: the
headline table with intervals, the cross-validation table, per-label tables,
the plots, and the errors in context (each wrong entity highlighted in its
sentence, each misclassified paragraph with gold and predicted topics).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from xdd.eval.ner_metrics import EntityError, entity_errors
from xdd.eval.topic_metrics import ParagraphError, paragraph_errors
from xdd.models.document import Document, Entity

ERROR_SECTIONS = {
    "missed": "Missed entities (in gold, not predicted)",
    "spurious": "Spurious entities (predicted, overlapping no gold entity)",
    "wrong_type": "Wrong type (same span, other label)",
    "wrong_boundary": "Wrong boundary (overlapping prediction, other span)",
}
CONTEXT_LIMIT = 320  # characters of context around an error before it is cut with "…"
PARAGRAPH_LIMIT = 500
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)»]*\s+")

HEADLINES = [
    ("NER micro precision", "ner.micro.precision"),
    ("NER micro recall", "ner.micro.recall"),
    ("NER micro F1", "ner.micro.f1"),
    ("NER macro F1", "ner.macro.f1"),
    ("NER weighted F1", "ner.weighted.f1"),
] + [
    (f"Topics ({level}) {name}", f"topics.{level}.{path}")
    for level in ("paragraph", "document")
    for name, path in (
        ("micro precision", "micro.precision"),
        ("micro recall", "micro.recall"),
        ("micro F1", "micro.f1"),
        ("macro F1", "macro.f1"),
        ("subset accuracy", "subset_accuracy.value"),
        ("Hamming loss", "hamming_loss.value"),
    )
]


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str | None = None


@dataclass(frozen=True)
class Highlight:
    """One line of context with one marked span; ``css`` is the kind of error (HTML class)."""

    caption: str
    before: str
    marked: str
    after: str
    css: str


@dataclass(frozen=True)
class EntityErrorView:
    kind: str
    doc_id: str
    gold: str  # "LABEL «text»" or ""
    pred: str
    lines: list[Highlight]


@dataclass
class ReportContent:
    title: str
    overview: list[str]
    tables: list[Table]
    images: list[tuple[str, str]]  # (caption, file name beside the report)
    entity_errors: dict[str, list[EntityErrorView]] = field(default_factory=dict)
    paragraph_errors: list[tuple[ParagraphError, str]] = field(default_factory=list)  # (error, clipped text)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def fmt_ci(ci: Sequence[float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def lookup(metrics: dict, path: str) -> tuple[float, list[float] | None]:
    """A figure of metrics.json by dotted path and its interval (``X.f1``/``X.value`` → ``X.ci95``)."""
    *parents, name = path.split(".")
    node = metrics
    for key in parents:
        node = node[key]
    ci_key = "ci95" if name in ("f1", "value") else f"{name}_ci95"
    return node[name], node.get(ci_key)


def build_content(
    metrics: dict, pairs: Sequence[tuple[Document, Document]], title: str, images: list[tuple[str, str]]
) -> ReportContent:
    """Everything the Markdown and HTML reports show, from a metrics dict and the scored documents."""
    tables = [headline_table(metrics)]
    if "cv" in metrics:
        tables.append(cv_table(metrics["cv"]))
    if "learning_curve" in metrics:
        tables.append(learning_curve_table(metrics["learning_curve"]))
    tables.append(ner_table(metrics))
    tables += [topic_table(metrics, level) for level in ("paragraph", "document")]
    errors = [e for gold, pred in pairs for e in entity_errors(gold, pred)]
    texts = {gold.id: gold.text for gold, _ in pairs}
    views = {kind: [_entity_view(e, texts[e.doc_id]) for e in errors if e.kind == kind] for kind in ERROR_SECTIONS}
    wrong_paragraphs = [
        (p, _clip(texts[p.doc_id][p.start : p.end])) for p in paragraph_errors(pairs, metrics["topics"]["labels"])
    ]
    return ReportContent(title, overview(metrics), tables, images, views, wrong_paragraphs)


def overview(metrics: dict) -> list[str]:
    boot = metrics["bootstrap"]
    lines = [
        f"{metrics['n_documents']} documents, {metrics['n_paragraphs']} paragraphs. "
        f"95% intervals: percentile bootstrap over documents ({boot['n_boot']} resamples, seed {boot['seed']}).",
        (
            "NER is scored entity by entity on exact character spans (seqeval, strict IOB2, on the syllable "
            "tokens of the original text split at every entity boundary)."
        ),
    ]
    if "cv" in metrics:
        lines.append(
            f"Cross-validation over {metrics['cv']['n_folds']} folds: the tables score all folds' test "
            "predictions pooled; the fold table gives mean ± standard deviation over folds."
        )
    if not metrics["topics"]["scores_available"]:
        lines.append(
            "Predictions carry no topic scores: average precision and precision-recall curves are not available."
        )
    return lines + alignment_notes(metrics["ner"]["alignment"])


def alignment_notes(alignment: dict) -> list[str]:
    """One line per side whose spans were not scored exactly as given, so no change goes unnoticed."""
    lines = []
    for side, name in (("gold", "Gold"), ("pred", "Predicted")):
        counts = alignment[side]
        overlapping = counts.get("overlapping_dropped", 0)  # metrics.json files written before it existed
        if counts["snapped"] or counts["dropped"] or overlapping:
            line = (
                f"{name} spans: {counts['snapped']} scored without their leading or trailing whitespace, "
                f"{counts['dropped']} of whitespace only ignored"
            )
            if side == "pred":
                line += f", {overlapping} overlapping a kept prediction left out"
            lines.append(line + ".")
    return lines


def headline_table(metrics: dict) -> Table:
    rows = []
    for name, path in HEADLINES:
        value, ci = lookup(metrics, path)
        rows.append([name, fmt(value), fmt_ci(ci)])
    for level in ("paragraph", "document"):
        mean_ap = metrics["topics"][level]["mean_average_precision"]
        rows.append([f"Topics ({level}) mean average precision", fmt(mean_ap), "n/a"])
    return Table("Headline figures", ["Metric", "Value", "95% CI"], rows)


def cv_table(cv: dict) -> Table:
    rows = []
    for label, path in HEADLINES:
        spread = cv["summary"][path]
        folds = [fmt(f["figures"][path]) for f in cv["folds"]]
        mean_std = f"{spread['mean']:.3f} ± {spread['std']:.3f}"
        rows.append([label, mean_std, fmt(spread["min"]), fmt(spread["max"]), *folds])
    fold_names = [f"Fold {f['fold']} (n={f['n_documents']})" for f in cv["folds"]]
    headers = ["Metric", "Mean ± std", "Min", "Max", *fold_names]
    return Table("Cross-validation folds", headers, rows, "std: sample standard deviation over folds (0 for one fold).")


def learning_curve_table(curve: dict) -> Table:
    rows = [[str(p["train_documents"]), fmt(p["entity_f1"]), fmt(p["topic_f1"])] for p in curve["points"]]
    held = curve["points"][0]["held_out_documents"] if curve["points"] else 0
    note = (
        f"Out-of-fold: each of the {held} documents held out in turn, the model trained on that many of the "
        "others (chosen at random), the held-out predictions pooled. How much one more annotated article is "
        f"worth; every point rests on {held} documents."
    )
    return Table("Learning curve", ["Training documents", "Entity micro F1", "Topic micro F1"], rows, note)


def ner_table(metrics: dict) -> Table:
    ner = metrics["ner"]
    rows = []
    for label in ner["labels"]:
        s, e = ner["per_label"][label], ner["errors"][label]
        rows.append(
            [label, fmt(s["precision"]), fmt(s["recall"]), fmt(s["f1"]), fmt_ci(s["ci95"]), str(s["support"]),
             str(s["predicted"]), *(str(e[k]) for k in ("exact", "wrong_type", "wrong_boundary", "missed", "spurious"))]
        )
    headers = ["Label", "P", "R", "F1", "F1 95% CI", "Support", "Predicted",
               "Exact", "Wrong type", "Wrong boundary", "Missed", "Spurious"]
    note = "Error kinds are counted under the gold label (spurious: under the predicted label)."
    return Table("NER per label", headers, rows, note)


def topic_table(metrics: dict, level: str) -> Table:
    block = metrics["topics"][level]
    rows = [
        [topic, fmt(s["precision"]), fmt(s["recall"]), fmt(s["f1"]), fmt_ci(s["ci95"]), str(s["support"]),
         str(s["predicted"]), fmt(s["average_precision"])]
        for topic, s in block["per_label"].items()
    ]
    headers = ["Topic", "P", "R", "F1", "F1 95% CI", "Support", "Predicted", "Avg. precision"]
    return Table(f"Topics per label ({level} level, n={block['n']})", headers, rows)


def _entity_view(error: EntityError, text: str) -> EntityErrorView:
    spans = [e for e in (error.gold, error.pred) if e is not None]
    left, right = context_window(text, min(e.start for e in spans), max(e.end for e in spans))
    css = error.kind.replace("_", "-")
    if error.kind == "wrong_boundary":
        lines = [_highlight(text, left, right, e.start, e.end, caption, css)
                 for caption, e in (("gold", error.gold), ("predicted", error.pred)) if e is not None]
    else:
        entity = spans[0]
        lines = [_highlight(text, left, right, entity.start, entity.end, "", css)]
    return EntityErrorView(error.kind, error.doc_id, _describe(error.gold, text), _describe(error.pred, text), lines)


def _describe(entity: Entity | None, text: str) -> str:
    return "" if entity is None else f"{entity.label} «{text[entity.start:entity.end]}»"


def _highlight(text: str, left: int, right: int, start: int, end: int, caption: str, css: str) -> Highlight:
    before = ("…" if left > 0 and text[left - 1] != "\n" else "") + text[left:start]
    after = text[end:right].rstrip() + ("…" if right < len(text) and text[right] != "\n" else "")
    return Highlight(caption, before, text[start:end], after, css)


def context_window(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence(s) of the paragraph that contain ``text[start:end]``, cut to about CONTEXT_LIMIT characters."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    ends = [m.end() for m in _SENTENCE_END.finditer(text, line_start, line_end)]
    left = max((b for b in ends if b <= start), default=line_start)
    right = min((b for b in ends if b >= end), default=line_end)
    if right - left > CONTEXT_LIMIT:
        margin = max(0, (CONTEXT_LIMIT - (end - start)) // 2)
        left, right = max(left, start - margin), min(right, end + margin)
    return left, right


def _clip(text: str) -> str:
    return text if len(text) <= PARAGRAPH_LIMIT else text[:PARAGRAPH_LIMIT] + "…"
