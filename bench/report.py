"""The benchmark report: targets checked against the measured ratios, as a text or Markdown table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xdd.bench.suite import fastest_exact


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the figure measured in this run and whether it is met."""
    inference = report["inference"]
    best = fastest_exact(inference)
    hf = inference["hf_pipeline"]["docs_per_s"]
    scaling = report["scaling"]
    checks: list[tuple[str, str, float, Callable[[float], bool]]] = [
        (f"fastest exact backend ({best}) vs HF pipelines, docs/s, both tasks", ">= 3x",
         inference[best]["docs_per_s"] / hf, lambda x: x >= 3),
        ("onnx_int8 vs HF pipelines, docs/s, both tasks", ">= 5x",
         inference["onnx_int8"]["docs_per_s"] / hf, lambda x: x >= 5),
        ("training real tokens/s, ours vs fixed padding", ">= 2x", report["training"]["speedup"], lambda x: x >= 2),
        (f"inference ({best}) share of the matmul limit", ">= 0.50",
         inference[best]["fraction_of_limit"], lambda x: x >= 0.5),
        (f"time for 4N vs N documents ({scaling['backend']})", "3.6-4.4",
         scaling["time_ratio_4x"], lambda x: 3.6 <= x <= 4.4),
        (f"peak memory for 4N vs N documents ({scaling['backend']})", "<= 1.2",
         scaling["rss_ratio_4x"], lambda x: x <= 1.2),
    ]  # fmt: skip
    return [{"target": name, "wanted": wanted, "measured": round(value, 3), "met": ok(value)}
            for name, wanted, value, ok in checks]  # fmt: skip


def render(report: dict[str, Any], markdown: bool = False) -> str:
    """Every section of the report as tables (plain text for the terminal, or Markdown)."""
    table = _markdown_table if markdown else _text_table
    w = report["workload"]
    inference_title = (
        f"Inference: {w['documents']} documents, {w['paragraphs']} paragraphs, {w['windows']} windows, "
        f"{w['tokens']} tokens; {report['limit']['threads']} threads; fastest of {report['settings']['rounds']} "
        f"round(s); matmul limit {report['limit']['matmul_gflops']:.1f} GFLOP/s"
    )
    training_title = (
        f"Training: real tokens/s, one epoch over the same {report['training']['ours']['windows']} windows, "
        f"batch {report['settings']['train_batch_size']}, same steps"
    )
    parts = [
        inference_title,
        table(*_inference_rows(report)),
        training_title,
        table(*_training_rows(report)),
        "Scaling, preprocessing, int8 on a trained model",
        table(["figure", "value"], _other_rows(report)),
        "Targets",
        table(["target", "wanted", "measured", "met"],
              [[t["target"], t["wanted"], f"{t['measured']:.3g}", "yes" if t["met"] else "NO"]
               for t in report["targets"]]),
    ]  # fmt: skip
    return "\n\n".join(parts)


def _inference_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    headers = ["row", "docs/s", "tokens/s", "vs HF", "GFLOP/s", "of limit", "peak RSS MB",
               "entity F1 / topics vs torch"]  # fmt: skip
    rows = []
    for name, row in report["inference"].items():
        agreement = row.get("agreement_with_torch_fp32")
        rows.append([
            name, f"{row['docs_per_s']:.3f}", f"{row['tokens_per_s']:.0f}",
            f"{row['speedup_vs_hf']:.2f}x" if "speedup_vs_hf" in row else "1.00x",
            f"{row['achieved_gflops']:.1f}", f"{row['fraction_of_limit']:.0%}", f"{row['peak_rss_mb']:.0f}",
            f"{agreement['entity_f1']:.4f} / {agreement['topic_agreement']:.4f}" if agreement else "n/a",
        ])  # fmt: skip
    return headers, rows


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
    s, p = report["scaling"], report["preprocessing"]
    rows = [
        ["scaling backend", s["backend"]],
        ["seconds for N / 4N documents",
         f"{s['seconds'][0]:.2f} / {s['seconds'][1]:.2f} (N = {s['documents'][0]}; ratio {s['time_ratio_4x']:.2f})"],
        ["peak RSS MB for N / 4N",
         f"{s['peak_rss_mb'][0]:.0f} / {s['peak_rss_mb'][1]:.0f} (ratio {s['rss_ratio_4x']:.3f})"],
        ["preprocessing chars/s", f"{p['chars_per_s']:,.0f} ({p['words_per_s']:,.0f} words/s)"],
    ]  # fmt: skip
    trained = report.get("trained_agreement")
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


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
