"""Training rows: our trainer against the common fixed-padding recipe, same model, same steps.

Both rows run our ``XddTrainer`` (the Hugging Face ``Trainer``) built from our own
:func:`xdd.training.transformer.training_arguments` on the same windows of the
corpus (a seeded random choice of ``windows`` of them), for epochs of
``ceil(windows / batch_size)`` steps, from the same random phobert-base-shaped
model.  Only two things differ:

- ``ours``: :class:`xdd.training.transformer.WindowCollator` (each batch padded
  to its longest window) and length-grouped batches (``group_by_length``);
- ``fixed_padding``: every window padded to ``max_tokens`` (256), batches
  drawn at random (``padding="max_length"`` in the usual PhoBERT NER recipe).

Tokens/s counts REAL tokens (attention mask ones), which both rows process
exactly the same number of (one epoch over the same windows); the padded
positions each row computed are reported next to them.  Checkpoints, logging
back-ends and evaluation are off, so the timing is the training loop itself.

Each row trains :data:`EPOCHS` epochs and times the last one only, as the
inference rows time nothing before a warm-up call: the first step at a
batch's largest shape takes several seconds more than the same step again
(14.4 s against 8.0 s for ours' batch of 16 windows of 242 tokens,
docs/performance.md), most likely the memory of the activations being
touched for the first time (not proven).  That cost is paid once per run,
however long the run; in one epoch of 6 steps it fell on ours' one long
batch and took 6 of its 22 s
(fixed padding's epoch: 49.2 s timed first, 48.3 s timed second).  One
warm-up step on the largest batch instead of the first epoch was tried
(2026-12-08) and not kept: that batch's next step was still 1-3 s slower
than in a second epoch, and the ratio fell from 3.1x to 2.6-2.8x
(docs/performance.md, "One warm-up step instead of a warm-up epoch").
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

from transformers import TrainerCallback

EPOCHS = 2  # the first warms up, the second is timed


class CountingCollator:
    """Wraps a collator; counts the real and the computed (padded) token positions it hands out."""

    def __init__(self, collate) -> None:
        self.collate = collate
        self.real = 0
        self.computed = 0

    def __call__(self, features: list[dict[str, Any]]) -> dict:
        batch = self.collate(features)
        self.real += int(batch["attention_mask"].sum())
        self.computed += batch["attention_mask"].numel()
        return batch


@dataclasses.dataclass
class FixedPaddingCollator:
    """The common recipe: every window padded to ``length`` tokens (labels with -100)."""

    pad_id: int
    length: int

    def __call__(self, features: list[dict[str, Any]]) -> dict:
        from torch.nn.functional import pad
        from xdd.models.text.pipeline import IGNORE_INDEX
        from xdd.training.transformer import WindowCollator

        batch = WindowCollator(self.pad_id)(features)
        extra = self.length - batch["input_ids"].shape[1]
        fill = {"input_ids": self.pad_id, "attention_mask": 0, "labels": IGNORE_INDEX}
        for key, value in fill.items():
            if key in batch:
                batch[key] = pad(batch[key], (0, extra), value=value)
        return batch


class EpochClock(TrainerCallback):
    """The clock, the step and the collator's counts at the end of every epoch."""

    def __init__(self, collator: CountingCollator) -> None:
        self.collator = collator
        self.ends: list[tuple[float, int, int, int]] = []

    def on_epoch_end(self, args, state, control, **kwargs) -> None:
        self.ends.append((time.perf_counter(), state.global_step, self.collator.real, self.collator.computed))


def train_row(spec: dict[str, Any]) -> dict[str, Any]:
    """Train ``spec["variant"]`` ("ours" or "fixed_padding") over the chosen windows; the last epoch is timed."""
    from pathlib import Path

    from xdd.models.document.corpus import read_documents
    from xdd.models.document.labels import scheme_for
    from xdd.models.predict.torch_backend import TransformerPredictor
    from xdd.training.config import load_config
    from xdd.training.transformer import (
        WindowCollator,
        XddTrainer,
        training_arguments,
        window_dataset,
    )

    variant = spec["variant"]
    predictor = TransformerPredictor.load(spec["bundle"])
    scheme = scheme_for(spec["corpus"])
    data = window_dataset(read_documents(spec["corpus"]), predictor.pipeline, scheme, "joint")
    data = data.shuffle(seed=spec["seed"]).select(range(min(spec["windows"], len(data))))
    steps = math.ceil(len(data) / spec["batch_size"])
    config = load_config(None, [
        f"training.batch_size={spec['batch_size']}", f"training.max_steps={EPOCHS * steps}",
        f"training.epochs={EPOCHS}",
        f"training.group_by_length={variant == 'ours'}", f"training.seed={spec['seed']}",
        "training.warmup_ratio=0.0", "training.logging_steps=100000", "training.early_stopping_patience=0",
    ])  # fmt: skip
    args = training_arguments(config, Path(spec["scratch"]), "joint", has_dev=False)
    args = dataclasses.replace(args, save_strategy="no", report_to=[], disable_tqdm=True)
    pad_id = predictor.pipeline.tokenizer.pad_token_id
    inner = WindowCollator(pad_id) if variant == "ours" else FixedPaddingCollator(pad_id, spec["max_tokens"])
    collator = CountingCollator(inner)
    trainer = XddTrainer(model=predictor.model.train(), args=args, train_dataset=data, data_collator=collator)
    clock = EpochClock(collator)
    trainer.add_callback(clock)
    trainer.train()
    first, last = clock.ends[-2], clock.ends[-1]  # (seconds, steps, real, computed) at the end of each epoch
    return {
        "seconds": last[0] - first[0],
        "steps": last[1] - first[1],
        "epochs": f"the last of {len(clock.ends)}",
        "windows": len(data),
        "lengths": list(data["length"]),
        "real_tokens": last[2] - first[2],
        "computed_tokens": last[3] - first[3],
        "loss": trainer.state.log_history[-1].get("train_loss") if trainer.state.log_history else None,
    }
