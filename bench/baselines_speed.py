"""Training and tagging speed of the shipped baselines against the original features.

Run as ``python -m xdd.bench.baselines_speed``. Issue 12's knowledge-rich
baselines (all five CRF feature groups, the scheme's boundary conventions)
must train in seconds and tag within 1.5× the time of the original model
(``base`` features only, conventions off). Both are trained on the same corpus
with the shipped ``baselines`` config, each ``--trainings`` times (the last
model is timed); then ``predict_documents`` over the corpus repeated
``--repeat`` times is timed in ``--rounds`` interleaved rounds, so the
machine's other load hits both alike, after a warm-up call that loads the
segmenter, gazetteer and lexicons. Wall and CPU seconds are medians over the
rounds. Prints a Markdown table.

The reference is today's code with the original settings, not the original
code: a word's base features are computed once per word form in both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

MODELS = {
    "base features, conventions off": {"features": ["base"], "conventions": False},
    "shipped: all feature groups, conventions on": {},
}


def measure(corpus: Path, trainings: int, repeat: int, rounds: int) -> dict[str, Any]:
    """``{"documents", "characters", "models": {name: {"training_s": [...], "wall_s": [...], "cpu_s": [...]}}}``."""
    from xdd.models.document.corpus import read_documents
    from xdd.models.document.labels import scheme_for
    from xdd.training.baselines import train_baselines
    from xdd.training.config import load_config, resolve_config_path

    config = load_config(resolve_config_path("baselines"))
    docs, scheme = read_documents(corpus), scheme_for(corpus)
    models, results = {}, {}
    for name, options in MODELS.items():
        seconds = []
        for _ in range(trainings):
            start = time.perf_counter()
            models[name] = train_baselines(docs, [], config, scheme, **options)
            seconds.append(time.perf_counter() - start)
        results[name] = {"training_s": seconds, "wall_s": [], "cpu_s": []}
    texts = [doc.text for doc in docs] * repeat
    for model in models.values():
        model.predict_documents(texts[:2])
    for _ in range(rounds):
        for name, model in models.items():
            wall, cpu = time.perf_counter(), time.process_time()
            model.predict_documents(texts)
            results[name]["wall_s"].append(time.perf_counter() - wall)
            results[name]["cpu_s"].append(time.process_time() - cpu)
    return {"documents": len(texts), "characters": sum(map(len, texts)), "models": results}


def render(report: dict[str, Any]) -> str:
    """The Markdown table, and the shipped model's ratio to the original settings (wall and CPU)."""
    rows = [f"{report['documents']} documents, {report['characters']:,} characters", "",
            "| model | training (each run) | tagging wall, median | tagging CPU, median | characters per CPU-second |",
            "|---|---|---:|---:|---:|"]  # fmt: skip
    medians = {}
    for name, figures in report["models"].items():
        wall, cpu = statistics.median(figures["wall_s"]), statistics.median(figures["cpu_s"])
        medians[name] = (wall, cpu)
        runs = ", ".join(f"{s:.1f} s" for s in figures["training_s"])
        rows.append(f"| {name} | {runs} | {wall:.3f} s | {cpu:.3f} s | {report['characters'] / cpu:,.0f} |")
    (base_wall, base_cpu), (wall, cpu) = medians.values()
    rows += ["", f"shipped / original settings: wall {wall / base_wall:.2f}x, CPU {cpu / base_cpu:.2f}x (limit 1.5x)"]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xdd.bench.baselines_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/annotations"))
    parser.add_argument("--trainings", type=int, default=3, help="trainings of each model (each is timed)")
    parser.add_argument("--repeat", type=int, default=4, help="the corpus's texts this many times per tagging pass")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved tagging rounds")
    args = parser.parse_args(argv)
    for flag in ("trainings", "repeat", "rounds"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} {getattr(args, flag)}: expected an integer >= 1")
    print(render(measure(args.corpus, args.trainings, args.repeat, args.rounds)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
