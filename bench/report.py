"""The benchmark report: targets checked against the measured figures, as a text or Markdown table.

A target is PASS or MISS on the median of its per-round figure, or SKIPPED
with the reason when this run did not measure it with enough work to be
stable (``--quick`` leaves out scaling, training and the trained model; a
scaling N under :data:`xdd.bench.suite.MIN_SCALING_DOCUMENTS` or training under
:data:`xdd.bench.suite.MIN_TRAINING_STEPS` steps measures nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xdd.bench.profile import profile_rows
from xdd.bench.suite import MIN_SCALING_DOCUMENTS, MIN_TRAINING_STEPS, fastest_exact

PASS, MISS, SKIPPED = "PASS", "MISS", "SKIPPED"
Figure = dict[str, Any] | float  # a spread over rounds (xdd.bench.figures.spread) or a single value


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the figure measured in this run and its status."""
    inference = report["inference"]
    best = fastest_exact(inference)
    exact, int8 = inference[best]["vs"], inference["onnx_int8"]["vs"]
    sizes = inference["hf_pipeline_best"]["batch_size"]
    trained = report["trained_agreement"]
    return [
        target(f"fastest exact backend ({best}) vs HF pipelines at batch 1, docs/s, both tasks", ">= 3.5x",
               exact["hf_pipeline"]["both"], lambda x: x >= 3.5),
        target(f"fastest exact backend ({best}) vs HF pipelines at their best batch size "
               f"(NER {sizes['ner']}, topics {sizes['topics']}), both tasks", ">= 2x",
               exact["hf_pipeline_best"]["both"], lambda x: x >= 2),
        target("onnx_int8 vs HF pipelines at batch 1, docs/s, both tasks", ">= 8x",
               int8["hf_pipeline"]["both"], lambda x: x >= 8),
        target("onnx_int8 entity F1 vs fp32 on the tiny model trained on the corpus", ">= 0.99",
               trained["onnx_int8"]["entity_f1"] if trained else None, lambda x: x >= 0.99,
               None if trained else "--quick trains no model (the other modes train it once, then reuse it)"),
        target(f"fastest exact backend ({best}) end to end, share of the same round's matmul limit", ">= 0.70",
               inference[best]["fraction_of_limit"], lambda x: x >= 0.7),
        target("training real tokens/s, ours vs fixed padding", ">= 2.5x",
               report["training"]["speedup"] if report["training"] else None, lambda x: x >= 2.5,
               _training_skip(report["training"])),
        *_scaling_targets(report["scaling"]),
    ]  # fmt: skip


def target(name: str, wanted: str, measured: Figure | None, ok: Callable[[float], bool],
           skipped: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One target's row: PASS/MISS on the median (or the value), SKIPPED with ``skipped`` as the reason."""
    if skipped:
        return {"target": name, "wanted": wanted, "measured": None, "status": SKIPPED, "reason": skipped}
    value = measured["median"] if isinstance(measured, dict) else measured
    return {"target": name, "wanted": wanted, "measured": measured, "status": PASS if ok(value) else MISS,
            "reason": None}  # fmt: skip


def _training_skip(training: dict[str, Any] | None) -> str | None:
    if training is None:
        return f"--quick trains nothing: the ratio needs >= {MIN_TRAINING_STEPS} steps per row (run --check)"
    steps = min(training[variant]["steps"] for variant in ("ours", "fixed_padding"))
    if steps < MIN_TRAINING_STEPS:
        return f"{steps} training step(s) per row: needs >= {MIN_TRAINING_STEPS} to measure anything"
    return None


def _scaling_targets(scaling: dict[str, Any] | None) -> list[dict[str, Any]]:
    skipped = None
    if scaling is None:
        skipped = f"--quick does not scale: needs N >= {MIN_SCALING_DOCUMENTS} documents (run --check)"
    elif scaling["documents"][0] < MIN_SCALING_DOCUMENTS:
        skipped = f"N = {scaling['documents'][0]} documents: needs >= {MIN_SCALING_DOCUMENTS} to measure anything"
    backend = f" ({scaling['backend']})" if scaling else ""
    time_ratio, rss_ratio = (scaling["time_ratio_4x"], scaling["rss_ratio_4x"]) if scaling else (None, None)
    return [target(f"time for 4N vs N documents{backend}", "3.6-4.4", time_ratio, lambda x: 3.6 <= x <= 4.4, skipped),
            target(f"peak memory for 4N vs N documents{backend}", "<= 1.2", rss_ratio, lambda x: x <= 1.2, skipped)]


# --- rendering --------------------------------------------------------------------------


def render(report: dict[str, Any], markdown: bool = False) -> str:
    """Every section of the report as tables (plain text for the terminal, or Markdown)."""
    table = _markdown_table if markdown else _text_table
    w, settings = report["workload"], report["settings"]
    parts = [
        f"Inference: {w['documents']} documents, {w['paragraphs']} paragraphs, {w['windows']} windows, "
        f"{w['tokens']} tokens; {report['limit']['threads']} threads; {settings['rounds']} interleaved round(s), "
        f"figures per round then median [min–max]; matmul limit {show(report['limit']['matmul_gflops'], '.1f')} "
        f"GFLOP/s, measured in every round ({_limit_libraries(report['limit'])}); other processes kept up to "
        f"{_busiest(report):.2f} cores busy during a timed pass (rerun when that is not near 0)",
        table(*_inference_rows(report)),
        "Ours against each peer: times faster per round, median [min–max] (ours always does both tasks)",
        table(["ours", "peer", "both tasks", "peer NER only", "peer topics only"], _versus_rows(report)),
        "HF pipelines' batch size: seconds of each candidate on the same windows (the fastest is the best)",
        table(["task", "windows", "seconds by batch size", "best"], _calibration_rows(report)),
    ]
    if report["training"]:
        windows, batch = report["training"]["ours"]["windows"], settings["train_batch_size"]
        parts += [f"Training: real tokens/s, the second of two epochs over the same {windows} windows "
                  f"(the first warms up), batch {batch}, same steps", table(*_training_rows(report))]
    parts += ["Scaling, preprocessing, int8 on a trained model", table(["figure", "value"], _other_rows(report)),
              "Targets", table(["target", "wanted", "measured", "status"], _target_rows(report["targets"]))]
    return "\n\n".join(parts)


def render_profile(report: dict[str, Any], markdown: bool = False) -> str:
    """The stage table of ``xdd bench --profile``."""
    table = _markdown_table if markdown else _text_table
    p = report["profile"]
    title = (f"Where the time goes: {p['command']}\n{p['documents']} documents, {p['chars']:,} characters; "
             f"threads: xdd predict's own (every core: {report['machine']['cores']}); other processes kept "
             f"{p['other_load_cores']:.2f} cores busy; stage wrappers' own cost about {p['probe_overhead_s']:.3f} s")
    note = ("load: bundle check, model, tokenizer; segment includes underthesea's own start-up (its import and "
            "model, on the first call); forward: length-sorted batches and the model; other: the rest of the run")
    return "\n\n".join([title, table(["stage", "seconds", "share", "calls"], profile_rows(p)), note])


def show(figure: Figure, spec: str = ".2f", unit: str = "") -> str:
    """``median [min–max]`` of a spread (just the value when one round), or a plain value."""
    if not isinstance(figure, dict):
        return f"{figure:{spec}}{unit}"
    text = f"{figure['median']:{spec}}{unit}"
    return text if len(figure["rounds"]) == 1 else f"{text} [{figure['min']:{spec}}–{figure['max']:{spec}}]"


def _limit_libraries(limit: dict[str, Any]) -> str:
    """Each library's matmul GFLOP/s: the limit is the faster one in each round."""
    return "the faster of " + ", ".join(f"{name} {show(figure, '.1f')}" for name, figure in limit["by_library"].items())


def _busiest(report: dict[str, Any]) -> float:
    """The most cores other processes kept busy during any inference round or limit measurement."""
    rounds = [r for row in report["inference"].values() for r in row["rounds"]] + report["limit"]["rounds"]
    return max(r["other_load_cores"] for r in rounds)


def _row_label(name: str, row: dict[str, Any]) -> str:
    size = row.get("batch_size")
    if name == "tutorial_script":
        return f"{name} (pad {row['rounds'][0]['max_length']}, batch {size})"
    if isinstance(size, dict):
        return f"{name} (batch NER {size['ner']}, topics {size['topics']})"
    return name


def _inference_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = ["row", "docs/s", "tokens/s", "GFLOP/s", "of the round's limit", "peak RSS MB",
               "entity F1 / topics vs torch"]  # fmt: skip
    rows = []
    for name, row in report["inference"].items():
        agreement = row["agreement_with_torch_fp32"]
        rows.append([
            _row_label(name, row), f"{row['docs_per_s']:.3f}", f"{row['tokens_per_s']:.0f}",
            show(row["achieved_gflops"], ".1f"), show(row["fraction_of_limit"], ".0%"), f"{row['peak_rss_mb']:.0f}",
            f"{agreement['entity_f1']:.4f} / {agreement['topic_agreement']:.4f}" if agreement else "n/a",
        ])  # fmt: skip
    return headers, rows


def _versus_rows(report: dict[str, Any]) -> list[list[str]]:
    return [[name, peer, *(show(versus[task], ".2f", "x") for task in ("both", "ner", "topics"))]
            for name, row in report["inference"].items() if "vs" in row for peer, versus in row["vs"].items()]


def _calibration_rows(report: dict[str, Any]) -> list[list[str]]:
    calibration = report["inference"]["hf_pipeline_best"]["calibration"]
    return [[task, str(c["windows"]), ", ".join(f"{size}: {s:.2f}" for size, s in c["seconds"].items()), str(c["best"])]
            for task, c in calibration.items()]  # fmt: skip


def _training_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = ["row", "tokens/s", "steps", "windows", "real tokens", "computed positions", "GFLOP/s", "seconds"]
    rows = []
    for name in ("ours", "fixed_padding"):
        row = report["training"][name]
        rows.append([name, f"{row['tokens_per_s']:.1f}", str(row["steps"]), str(row["windows"]),
                     str(row["real_tokens"]), str(row["computed_tokens"]), f"{row['achieved_gflops']:.1f}",
                     f"{row['seconds']:.1f}"])  # fmt: skip
    return headers, rows


def _other_rows(report: dict[str, Any]) -> list[list[str]]:
    s, p, trained = report["scaling"], report["preprocessing"], report["trained_agreement"]
    rows = [["scaling", "not measured (--quick)"]]
    if s:
        rows = [
            ["scaling backend", s["backend"]],
            ["seconds for N / 4N documents (median round)",
             f"{s['seconds'][0]:.2f} / {s['seconds'][1]:.2f} (N = {s['documents'][0]}; "
             f"ratio {show(s['time_ratio_4x'])})"],
            ["peak RSS MB for N / 4N",
             f"{s['peak_rss_mb'][0]:.0f} / {s['peak_rss_mb'][1]:.0f} (ratio {s['rss_ratio_4x']:.3f})"],
        ]  # fmt: skip
    rows.append(["preprocessing chars/s",
                 f"{p['chars_per_s']:,.0f} ({p['words_per_s']:,.0f} words/s)" if p else "not measured (--check)"])
    if trained:
        int8 = trained["onnx_int8"]
        rows += [
            ["int8 vs fp32, trained model", trained["model"] + f", {trained['steps']} steps"],
            ["  entity F1 / topic decisions", f"{int8['entity_f1']:.4f} / {int8['topic_agreement']:.4f}"],
            ["  word tags (export parity)", f"{trained['word_tag_agreement_int8']:.4f}"],
        ]
    else:
        rows.append(["int8 vs fp32, trained model", "not measured (--quick)"])
    return rows


def _target_rows(checked: list[dict[str, Any]]) -> list[list[str]]:
    return [[t["target"], t["wanted"], "-" if t["measured"] is None else show(t["measured"], ".3g"),
             f"{SKIPPED}: {t['reason']}" if t["status"] == SKIPPED else t["status"]] for t in checked]  # fmt: skip


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
