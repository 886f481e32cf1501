"""The bundle's ``README.md``: a model card with Hugging Face metadata.

The YAML front matter carries ``model-index`` with the run's evaluation
figures (one result per task and evaluated split), so the Hub shows them; the
body says what the model is, how it was trained, how well it does (with the
bootstrap intervals), what the ONNX graph is and how it compares with PyTorch,
and how to use it.  A model whose backbone was a random ``xdd init-model``
encoder says so at the top.
"""

from __future__ import annotations

from typing import Any

import yaml

TAGS = ["vietnamese", "named-entity-recognition", "token-classification", "text-classification", "xdd"]


def model_card(
    info: dict[str, Any], metrics: dict[str, dict], parity: dict[str, Any] | None, license_id: str
) -> str:
    """The card for a bundle described by ``info`` (bundle.json), ``metrics`` by split and ``parity``."""
    front = {
        "language": "vi",
        "license": license_id,
        "library_name": "xdd",
        "tags": TAGS + _backbone_tags(info["backbone"]),
        "model-index": [{"name": info["name"], "results": _results(metrics)}],
    }
    sections = [
        f"# {info['name']}",
        _warning(info),
        _summary(info),
        _evaluation(metrics),
        _parity(parity),
        _usage(info),
    ]
    body = "\n\n".join(s for s in sections if s)
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + body + "\n"


def _results(metrics: dict[str, dict]) -> list[dict[str, Any]]:
    results = []
    for split, figures in metrics.items():
        if figures["ner"]["labels"]:
            micro = figures["ner"]["micro"]
            results.append({
                "task": {"type": "token-classification", "name": "Named entity recognition"},
                "dataset": _dataset(split),
                "metrics": [
                    {"type": name, "value": round(micro[name], 4), "name": f"Entity micro {name}"}
                    for name in ("precision", "recall", "f1")
                ] + [{"type": "f1", "value": round(figures["ner"]["macro"]["f1"], 4), "name": "Entity macro f1"}],
            })  # fmt: skip
        if figures["topics"]["labels"]:
            block = figures["topics"]["paragraph"]
            results.append({
                "task": {"type": "text-classification", "name": "Paragraph topic classification (multi-label)"},
                "dataset": _dataset(split),
                "metrics": [
                    {"type": "f1", "value": round(block["micro"]["f1"], 4), "name": "Paragraph topic micro f1"},
                    {"type": "f1", "value": round(block["macro"]["f1"], 4), "name": "Paragraph topic macro f1"},
                ],
            })  # fmt: skip
    return results


# What each split's figures were measured on, in the card's words.
SPLIT_NAMES = {
    "cross-validation": "out-of-fold predictions of cross-validation by document on the training corpus "
    "(the figures that say most about new articles)",
    "dev": "held-out dev documents",
    "test": "held-out test documents",
    "evaluation": "an evaluation set",
    "train": "the TRAINING documents (no held-out dev: not a measure of quality on new articles)",
}


def _dataset(split: str) -> dict[str, str]:
    """A fresh dict per result (a shared one would be written as a YAML alias, which the Hub does not read)."""
    name = f"party-building news (xdd gold corpus): {SPLIT_NAMES.get(split, split)}"
    return {"type": "xdd-party-building", "name": name, "split": split}


def _backbone_tags(backbone: dict[str, Any] | None) -> list[str]:
    if backbone is None:
        return ["crf", "tf-idf"]
    return ["random-weights"] if backbone["random_init"] else ["transformer"]


def _warning(info: dict[str, Any]) -> str:
    backbone = info["backbone"]
    if backbone is None:
        return ""
    if backbone["random_init"]:
        return (
            f"> **Not a real model.** The backbone `{backbone['name']}` was a RANDOMLY initialised encoder "
            "written by `xdd init-model` for tests and benchmarks. This bundle exercises the export and "
            "inference code; its predictions mean nothing."
        )
    if backbone["random_init"] is None:
        return (
            f"> The backbone `{backbone['name']}` could not be inspected at export time, so this card cannot "
            "say whether it was a pre-trained encoder or a random test model."
        )
    return ""


def _summary(info: dict[str, Any]) -> str:
    text, labels, training = info["text"], info["labels"], info["training"]
    documents = ", ".join(f"{role} {n}" for role, n in training["documents"].items())
    thresholds = ", ".join(f"`{t}` {v:.2f}" for t, v in info["thresholds"].items()) or "none"
    thresholds += _chosen(training.get("choices"))
    lines = [
        "Vietnamese named entities and paragraph topics for party-building (xây dựng Đảng) news.",
        "",
        f"- kind: **{info['kind']}**" + (f", backbone `{info['backbone']['name']}`" if info["backbone"] else ""),
        f"- entity labels: {', '.join(f'`{x}`' for x in labels['entities']) or 'none'}",
        f"- paragraph topics: {', '.join(f'`{x}`' for x in labels['topics']) or 'none'}; thresholds: {thresholds}",
        f"- text pipeline: {text['normalizer']}; segmenter `{text['segmenter_version'] or text['segmenter']}`"
        + (f"; windows of {text['max_tokens']} tokens overlapping by {text['overlap_words']} words (long documents "
           "are windowed, never truncated)" if info["kind"] == "transformer" else ""),
        f"- training run `{training['run']}`, config `training/config.yaml`, corpus SHA-256 "
        f"`{training['corpus_sha256']}` (documents: {documents})",
    ]  # fmt: skip
    return "\n".join(lines)


def _chosen(choices: dict[str, Any] | None) -> str:
    """How the thresholds (and epochs) were chosen, from the run's choices.json; nothing when it has none."""
    if not choices or choices.get("chosen_on") not in ("out_of_fold", "dev"):
        return ""
    where = "out of fold (leave one document out)" if choices["chosen_on"] == "out_of_fold" else "on the dev split"
    epochs = f", {choices['epochs']:g} epoch(s)" if choices.get("epochs") else ""
    return f" (chosen {where} on {choices['documents']} document(s), {choices['paragraphs']} paragraphs{epochs})"


def _evaluation(metrics: dict[str, dict]) -> str:
    if not metrics:
        return "## Evaluation\n\nThe training run recorded no evaluation figures."
    rows = ["| split | figure | value | 95% interval |", "|---|---|---|---|"]
    for split, figures in metrics.items():
        for name, block in _headline_blocks(figures):
            low, high = block.get("ci95") or (None, None)
            interval = f"{low:.3f}–{high:.3f}" if low is not None and high is not None else "n/a"
            rows.append(f"| {split} | {name} | {block['f1']:.3f} | {interval} |")
    legend = [
        f"- **{split}** ({_documents(figures.get('n_documents'))}): {SPLIT_NAMES.get(split, split)}"
        for split, figures in metrics.items()
    ]
    return (
        "## Evaluation\n\n" + "\n".join(rows) + "\n\nWhat the figures were measured on:\n\n" + "\n".join(legend)
        + "\n\n95% intervals: percentile bootstrap over documents (none with one document); details in `training/`."
    )


def _documents(count: int | None) -> str:
    return "documents: unknown" if count is None else f"{count} document{'s' if count != 1 else ''}"


def _headline_blocks(figures: dict) -> list[tuple[str, dict]]:
    blocks = []
    if figures["ner"]["labels"]:
        blocks += [("entity micro F1", figures["ner"]["micro"]), ("entity macro F1", figures["ner"]["macro"])]
    if figures["topics"]["labels"]:
        for level in ("paragraph", "document"):
            blocks.append((f"{level} topic micro F1", figures["topics"][level]["micro"]))
    return blocks


def _parity(parity: dict[str, Any] | None) -> str:
    if not parity:
        return ""
    rows = ["| model | max abs logit difference | word tag agreement | topic label agreement |", "|---|---|---|---|"]
    for name, check in parity["checks"].items():
        rows.append(
            f"| `{check['file']}` ({name}) | {check['max_abs_logit_diff']:.2e} | "
            f"{_percent(check['tag_agreement'])} | {_percent(check['topic_agreement'])} |"
        )
    return (
        "## ONNX parity with PyTorch\n\n"
        f"Checked at export time on {parity['documents']} documents ({parity['windows']} windows, "
        f"{parity['words']} words, {parity['paragraphs']} paragraphs) from {parity['data']}:\n\n" + "\n".join(rows)
        + f"\n\n`{parity['checks']['fp32']['file']}` is the {parity['graph']['summary']}{_int8_origin(parity)}"
    )


def _int8_origin(parity: dict[str, Any]) -> str:
    int8 = parity["checks"].get("int8")
    return f"; `{int8['file']}` is its dynamic int8 quantisation." if int8 else "."


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _usage(info: dict[str, Any]) -> str:
    backends = "torch|onnx|onnx-int8" if info["kind"] == "transformer" else "torch"
    return f"""## Usage

```python
from xdd.models import Predictor

predictor = Predictor.load("bundles/{info['name']}")  # verifies SHA256SUMS first
for doc in predictor.predict(["Ban Thường vụ Huyện uỷ Cao Lộc ..."]):
    print([(e.text, e.label, e.score) for e in doc.entities], doc.topics)
```

```
xdd predict --model bundles/{info['name']} articles/ --output predictions.jsonl --backend {backends.split('|')[0]}
```

Backends: {backends}. Offsets index the original text. See docs/inference.md of xdd."""
