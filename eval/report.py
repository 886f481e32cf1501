"""``write_report``: the one entry point that writes an evaluation folder.

``xdd evaluate --out``, training runs and cross-validation all call it, so every
run folder has the same layout (see ``docs/metrics.md``)::

    metrics.json        the metrics dict (evaluate() or aggregate_folds())
    report.md           Markdown report
    report.html         self-contained HTML report (plots embedded)
    *.png               the plots, also as files
    predictions.jsonl   the scored predictions, in gold order
    evaluation.json     {"gold": <gold path or null>, "predictions": "predictions.jsonl", "title": ...}

For cross-validation pass the pooled gold and predictions of all folds; the
errors-in-context sections then cover every fold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from xdd.eval.evaluate import pair_documents
from xdd.eval.plots import write_plots
from xdd.eval.report_content import build_content
from xdd.eval.report_html import render_html
from xdd.eval.report_md import render_markdown
from xdd.models.document import Document
from xdd.models.document.corpus import write_documents
from xdd.models.document.labels import LabelScheme

FILES = ("metrics.json", "report.md", "report.html", "predictions.jsonl", "evaluation.json")


def write_report(
    out_dir: str | Path,
    metrics: dict,
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    title: str = "Evaluation report",
    gold_path: str | Path | None = None,
) -> dict[str, Path]:
    """Write metrics, reports, plots and predictions into ``out_dir``; returns the written paths by name.

    ``gold_path`` is recorded in evaluation.json so that ``xdd compare`` can
    find the gold again; without it, compare needs ``--data``.
    """
    scheme = LabelScheme(tuple(metrics["ner"]["labels"]), tuple(metrics["topics"]["labels"]))
    pairs = pair_documents(gold, pred, scheme)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {name: out / name for name in FILES}

    metrics_text = json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=False)  # NaN would be a bug
    written["metrics.json"].write_text(metrics_text + "\n", encoding="utf-8")
    write_documents(written["predictions.jsonl"], [p for _, p in pairs])
    record = {
        "gold": None if gold_path is None else str(Path(gold_path).resolve()),
        "predictions": "predictions.jsonl",
        "title": title,
    }
    written["evaluation.json"].write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    images = write_plots(out, metrics, pairs)
    content = build_content(metrics, pairs, title, images)
    written["report.md"].write_text(render_markdown(content), encoding="utf-8")
    pngs = {name: (out / name).read_bytes() for _, name in images}
    written["report.html"].write_text(render_html(content, pngs), encoding="utf-8")
    written.update({name: out / name for name in pngs})
    return written
