"""``xdd compare RUN_A RUN_B``: per-metric difference B - A with a paired bootstrap interval.

Run-folder layout (what ``xdd evaluate --out`` and ``xdd.eval.report.write_report``
write; a training run folder that calls ``write_report`` has it too)::

    RUN/
      predictions.jsonl   one predicted record per gold document (required for a paired interval)
      evaluation.json     {"gold": "<gold JSONL file or directory>", ...}; or pass --data GOLD
      metrics.json        used only when predictions.jsonl is missing

The paired bootstrap draws the same documents for both runs in each resample,
so the interval measures how the two systems differ on the same articles.  It
needs both runs' predictions on the same gold documents.  Given only two
metrics.json files (or folders without predictions), the command still prints
the differences of the point figures and says why there is no interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xdd.eval.bootstrap import paired_differences, resample_weights
from xdd.eval.corpus_io import load_gold
from xdd.eval.evaluate import figure_function, headline_figures, score
from xdd.models.document.corpus import read_documents
from xdd.models.errors import EvaluationError

PREDICTIONS, EVALUATION, METRICS = "predictions.jsonl", "evaluation.json", "metrics.json"


@dataclass(frozen=True)
class ComparedRun:
    """What one side of a comparison provides."""

    path: Path
    predictions: Path | None
    gold: Path | None
    metrics: Path | None


def find_run(path: str | Path) -> ComparedRun:
    """Locate predictions, recorded gold path and metrics of a run folder (or a metrics.json file)."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".json":
            raise EvaluationError(f"{path}: expected a run folder or a metrics.json file")
        return ComparedRun(path, None, None, path)
    if not path.is_dir():
        raise EvaluationError(f"{path}: no such run folder or metrics.json file")
    predictions = path / PREDICTIONS if (path / PREDICTIONS).is_file() else None
    metrics = path / METRICS if (path / METRICS).is_file() else None
    if predictions is None and metrics is None:
        raise EvaluationError(
            f"{path}: neither {PREDICTIONS} nor {METRICS} found; a run folder needs {PREDICTIONS} "
            f"(and {EVALUATION} naming the gold, or --data) for a paired comparison"
        )
    return ComparedRun(path, predictions, _recorded_gold(path), metrics)


def _recorded_gold(folder: Path) -> Path | None:
    record = folder / EVALUATION
    if not record.is_file():
        return None
    try:
        gold = json.loads(record.read_text(encoding="utf-8")).get("gold")
    except (OSError, json.JSONDecodeError, AttributeError) as err:
        raise EvaluationError(f"{record}: cannot read the recorded gold path: {err}") from err
    return None if gold is None else (folder / gold).resolve()


def compare_runs(
    a: str | Path, b: str | Path, *, data: str | Path | None = None, n_boot: int = 1000, seed: int = 0
) -> dict:
    """Differences B - A of every headline figure; paired 95% intervals when both runs have predictions."""
    run_a, run_b = find_run(a), find_run(b)
    missing = [r.path for r in (run_a, run_b) if r.predictions is None]
    if missing:
        note = (
            f"no paired interval: {', '.join(map(str, missing))} has no {PREDICTIONS}; a paired bootstrap "
            "interval needs both runs' predictions on the same documents"
        )
        return _unpaired(run_a, run_b, note)
    gold_path = Path(data) if data is not None else _common_gold(run_a, run_b)
    gold, scheme = load_gold(gold_path)
    tables_a = score(gold, read_documents(run_a.predictions), scheme).tables
    tables_b = score(gold, read_documents(run_b.predictions), scheme).tables
    weights = resample_weights(len(gold), n_boot, seed)
    return {
        "a": str(run_a.path),
        "b": str(run_b.path),
        "gold": str(gold_path),
        "paired": True,
        "note": None,
        "n_documents": len(gold),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "unit": "document", "percentiles": [2.5, 97.5]},
        "metrics": paired_differences(tables_a, tables_b, figure_function(scheme), weights),
    }


def _common_gold(run_a: ComparedRun, run_b: ComparedRun) -> Path:
    for run in (run_a, run_b):
        if run.gold is None:
            raise EvaluationError(f"{run.path}: no {EVALUATION} records the gold corpus; pass --data GOLD")
    if run_a.gold != run_b.gold:
        raise EvaluationError(
            f"the runs were scored on different gold corpora ({run_a.gold} and {run_b.gold}); "
            "a paired comparison needs the same documents: pass --data GOLD to choose one"
        )
    assert run_a.gold is not None
    return run_a.gold


def _unpaired(run_a: ComparedRun, run_b: ComparedRun, note: str) -> dict:
    figures_a, figures_b = (_figures(run) for run in (run_a, run_b))
    return {
        "a": str(run_a.path),
        "b": str(run_b.path),
        "gold": None,
        "paired": False,
        "note": note,
        "n_documents": None,
        "bootstrap": None,
        "metrics": {
            name: {
                "a": figures_a[name],
                "b": figures_b[name],
                "difference": figures_b[name] - figures_a[name],
                "ci95": None,
            }
            for name in figures_a
            if name in figures_b
        },
    }


def _figures(run: ComparedRun) -> dict[str, float]:
    metrics = _read_metrics(run)
    try:
        return headline_figures(metrics)
    except (KeyError, TypeError) as err:
        raise EvaluationError(
            f"{run.metrics}: not an xdd metrics.json (missing key {err}); see docs/metrics.md for the layout"
        ) from err


def _read_metrics(run: ComparedRun) -> dict:
    if run.metrics is None:
        raise EvaluationError(f"{run.path}: no {METRICS} to compare and no {PREDICTIONS} to score")
    try:
        return json.loads(run.metrics.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise EvaluationError(f"{run.metrics}: cannot read metrics: {err}") from err


def format_comparison(result: dict) -> str:
    """A plain-text table: metric, A, B, B - A and its interval (or the reason there is none)."""
    lines = [f"A = {result['a']}", f"B = {result['b']}"]
    if result["note"]:
        lines.append(result["note"])
    header = f"{'metric':<48} {'A':>7} {'B':>7} {'B - A':>8}  95% CI (paired)"
    lines += ["", header, "-" * len(header)]
    for name, row in result["metrics"].items():
        ci = "n/a" if row["ci95"] is None else f"[{row['ci95'][0]:+.3f}, {row['ci95'][1]:+.3f}]"
        lines.append(f"{name:<48} {row['a']:7.3f} {row['b']:7.3f} {row['difference']:+8.3f}  {ci}")
    return "\n".join(lines)
