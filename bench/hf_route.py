"""The usual routes, for comparison: Hugging Face ``pipeline`` objects, and the tutorials' plain script.

Both use two models, one per task: the bundle's own weights in Hugging Face's
task classes, so every side runs the same encoder with the same tokenizer:

- ``token-classification``: ``RobertaForTokenClassification`` = the encoder
  + our NER head as its ``classifier``;
- ``text-classification``: ``RobertaForSequenceClassification`` = the same
  encoder weights (a second copy, as two task models would be) + a
  ``RobertaClassificationHead`` whose ``out_proj`` is our topic head (its
  extra ``dense`` layer is seeded random: a head of the usual size).

``PhobertTokenizer`` is a slow tokenizer without offsets: the pipeline's
entities have ``start``/``end`` None, and only ``aggregation_strategy``
"none" or "simple" work ("first", "average" and "max" raise).  We use
"simple", which groups sub-words into entities as our side does.

The plain script (:func:`tutorial_pass`) loads the same two folders with
``AutoModelFor*.from_pretrained`` and runs them on inputs padded to 256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AGGREGATION = "simple"


def write_hf_models(bundle: Path, token_folder: Path, sequence_folder: Path, seed: int = 0) -> None:
    """Save the bundle's encoder and heads as Auto*-loadable token- and sequence-classification folders."""
    import torch
    from safetensors.torch import load_file
    from transformers import (
        AutoTokenizer,
        RobertaForSequenceClassification,
        RobertaForTokenClassification,
    )
    from xdd.models.document.labels import LabelScheme
    from xdd.models.predict.batching import MODEL_INFO_FILE

    info = json.loads((bundle / MODEL_INFO_FILE).read_text(encoding="utf-8"))
    scheme = LabelScheme.from_json(info["labels"], source=str(bundle / MODEL_INFO_FILE))
    weights = load_file(str(bundle / "model.safetensors"))
    encoder = {f"roberta.{k.removeprefix('encoder.')}": v for k, v in weights.items() if k.startswith("encoder.")}
    tokenizer = AutoTokenizer.from_pretrained(str(bundle))
    torch.manual_seed(seed)

    token_model = RobertaForTokenClassification(_task_config(bundle, scheme.bio_tags()))
    head = {"classifier.weight": weights["ner_head.weight"], "classifier.bias": weights["ner_head.bias"]}
    token_model.load_state_dict({**encoder, **head})
    _save(token_model, tokenizer, token_folder)

    config = _task_config(bundle, list(scheme.topics), problem_type="multi_label_classification")
    sequence_model = RobertaForSequenceClassification(config)
    head = {"classifier.out_proj.weight": weights["topic_head.weight"],
            "classifier.out_proj.bias": weights["topic_head.bias"]}  # fmt: skip
    missing, unexpected = sequence_model.load_state_dict({**encoder, **head}, strict=False)
    if unexpected or not all(k.startswith("classifier.dense.") for k in missing):
        raise RuntimeError(f"{bundle}: weights do not map onto RobertaForSequenceClassification "
                           f"(missing {missing}, unexpected {unexpected})")  # fmt: skip
    _save(sequence_model, tokenizer, sequence_folder)


def _task_config(bundle: Path, labels: list[str], **extra):
    """The bundle's encoder config with a task head over ``labels``."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(str(bundle), num_labels=len(labels), id2label=dict(enumerate(labels)),
                                      label2id={label: i for i, label in enumerate(labels)}, **extra)  # fmt: skip


def _save(model, tokenizer, folder: Path) -> None:
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


def load_pipelines(token_folder: Path, sequence_folder: Path):
    """The two pipelines, loaded the usual way (``from_pretrained`` of each folder), on the CPU."""
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(token_folder), device="cpu", aggregation_strategy=AGGREGATION)
    topics = pipeline("text-classification", model=str(sequence_folder), device="cpu", top_k=None)
    return ner, topics


def load_task_models(token_folder: Path, sequence_folder: Path) -> tuple[Any, dict[str, Any]]:
    """The tokenizer and the two task models, loaded with ``from_pretrained`` as a tutorial does, in eval mode."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(token_folder))
    models = {"ner": AutoModelForTokenClassification.from_pretrained(str(token_folder)).eval(),
              "topics": AutoModelForSequenceClassification.from_pretrained(str(sequence_folder)).eval()}  # fmt: skip
    return tokenizer, models


def tutorial_pass(tokenizer: Any, model: Any, task: str, texts: list[str], batch_size: int, length: int) -> list:
    """The script most fine-tuning tutorials end with: every text padded to ``length``, ``batch_size`` at a time.

    ``torch.inference_mode``, arg-max tag ids for NER (no aggregation into
    entities), sigmoid decisions at 0.5 for the multi-label topics.
    """
    import torch

    decided = []
    with torch.inference_mode():
        for k in range(0, len(texts), batch_size):
            inputs = tokenizer(texts[k:k + batch_size], padding="max_length", max_length=length, truncation=True,
                               return_tensors="pt")  # fmt: skip
            logits = model(**inputs).logits
            decided.append(logits.argmax(-1) if task == "ner" else logits.sigmoid() > 0.5)
    return decided
