"""The parts of fine-tuning an encoder for NER and/or paragraph topics with the Hugging Face ``Trainer``.

What :mod:`xdd.training.transformer_fit` puts together, in order:

1. load the backbone's tokenizer (or stop with the two remedies), then a
   fresh model per training (:class:`Setup`);
2. encode documents into windows (text pipeline) with first-sub-word labels
   and the paragraph's topics as a multi-hot vector per window
   (:func:`window_dataset`);
3. train with ``Trainer`` (:class:`XddTrainer`): dynamic padding
   (:class:`WindowCollator`), length-grouped batches
   (:class:`LengthGroupedBatches`), TensorBoard logs, ``--resume`` from the
   last checkpoint; the same code runs under ``torchrun`` (Trainer's DDP);
4. score held-out documents with the same predictor users run
   (:func:`held_out_predictor`, :func:`selection_figures`), on dev or out of fold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from datasets import Dataset
from torch.utils.data import Sampler
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
from xdd.eval.evaluate import evaluate
from xdd.models.document import Document
from xdd.models.document.labels import LabelScheme
from xdd.models.nets.joint import JointModel
from xdd.models.predict.batching import decode_all, encoded_for, pad_batch
from xdd.models.predict.conventions import conventions_apply_to
from xdd.models.predict.torch_backend import TransformerPredictor
from xdd.models.text.pipeline import IGNORE_INDEX, TextPipeline
from xdd.training.backbone import load_encoder, load_tokenizer
from xdd.training.config import Config
from xdd.training.thresholds import DEFAULT_THRESHOLD, tune_thresholds

log = logging.getLogger(__name__)
SELECTION = "selection"
Predict = Callable[[torch.nn.Module], list[Document]]


def effective_task(config: Config, scheme: LabelScheme) -> str:
    """The configured task, narrowed to what the corpus has (no topics → NER only, and vice versa)."""
    task = config.task
    if not scheme.topics and task != "ner":
        log.info("the corpus declares no topics: training NER only")
        task = "ner"
    if not scheme.entities and task != "topics":
        log.info("the corpus declares no entity labels: training topics only")
        task = "topics"
    return task


def window_dataset(docs: list[Document], pipeline: TextPipeline, scheme: LabelScheme, task: str) -> Dataset:
    """One row per window: ``input_ids``, ``length``, and ``labels`` / ``topic_labels`` for the task's heads."""
    tag_ids = {tag: i for i, tag in enumerate(scheme.bio_tags())}
    rows: dict[str, list[Any]] = {"input_ids": [], "length": []}
    if task != "topics":
        rows["labels"] = []
    if task != "ner":
        rows["topic_labels"] = []
    for doc in docs:
        encoded = pipeline.encode_document(doc, with_labels=True)
        for window in encoded.windows:
            rows["input_ids"].append(window.input_ids)
            rows["length"].append(len(window.input_ids))
            if "labels" in rows:
                rows["labels"].append(encoded.token_labels(window, tag_ids))
            if "topic_labels" in rows:
                topics = doc.paragraphs[window.paragraph].topics
                rows["topic_labels"].append([float(t in topics) for t in scheme.topics])
    return Dataset.from_dict(rows)


@dataclass
class WindowCollator:
    """Pads a batch to its longest window (dynamic padding); labels are padded with -100."""

    pad_id: int

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([f["input_ids"] for f in features], self.pad_id)
        batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if "labels" in features[0]:
            labels, _ = pad_batch([f["labels"] for f in features], IGNORE_INDEX)
            batch["labels"] = torch.from_numpy(labels)
        if "topic_labels" in features[0]:
            batch["topic_labels"] = torch.tensor([f["topic_labels"] for f in features], dtype=torch.float)
        return batch


class LengthGroupedBatches(Sampler[int]):
    """Windows of similar length in the same batch, the batches in random order.

    Hugging Face's ``LengthGroupedSampler`` sorts within mega-batches of at
    most a quarter of the data set, so on a corpus of a few documents (84
    windows, batch 16) it sorts within single batches and groups nothing.
    Here up to ``group_batches`` batches' worth of windows are sorted together,
    cut into batches, and the full batches shuffled (short ones last, so the
    DataLoader's consecutive cuts fall on batch boundaries).  The order depends only on the
    seed and the epoch, so every DDP process draws the same batches, and a run
    resumed from a checkpoint draws the batches the uninterrupted run drew: the
    ``Trainer`` calls :meth:`set_epoch` before every epoch, resumed ones included.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, group_batches: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.group_batches = list(lengths), batch_size, seed, group_batches
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration draws (each iteration then moves to the next)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        group = self.batch_size * self.group_batches
        batches: list[list[int]] = []
        for g in range(0, len(order), group):
            chunk = sorted(order[g : g + group], key=self.lengths.__getitem__, reverse=True)
            batches += [chunk[b : b + self.batch_size] for b in range(0, len(chunk), self.batch_size)]
        full = [b for b in batches if len(b) == self.batch_size]  # the DataLoader cuts consecutive runs:
        partial = [b for b in batches if len(b) < self.batch_size]  # short batches go last
        shuffled = [full[k] for k in torch.randperm(len(full), generator=generator).tolist()] + partial
        return iter([i for batch in shuffled for i in batch])


class XddTrainer(Trainer):
    """``Trainer`` with :class:`LengthGroupedBatches` for ``train_sampling_strategy="group_by_length"``."""

    def _get_train_sampler(self, train_dataset: Dataset | None = None) -> Sampler | None:
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        dataset = self.train_dataset if train_dataset is None else train_dataset  # unused columns already removed
        lengths = [len(ids) for ids in dataset["input_ids"]]
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthGroupedBatches(lengths, batch, seed=self.args.seed)


def held_out_predictor(predictor: TransformerPredictor, docs: list[Document]) -> Predict:
    """``predict(model)``: ``docs`` predicted by a model in training, with the predictor users run.

    The Trainer's own logits are not used (their order follows the length-grouped
    sampler); running the predictor's windows → logits → decode path keeps
    training-time figures identical to what ``xdd evaluate`` reports.  The
    documents are segmented once, not at every call.
    """
    encoded = [encoded_for(predictor.pipeline, doc) for doc in docs]
    windows = [w for enc in encoded for w in enc.windows]

    def predict(model: torch.nn.Module) -> list[Document]:
        _adopt(predictor, model)
        scored = decode_all(docs, encoded, predictor.window_logits(windows), scheme=predictor.scheme,
                            thresholds=predictor.thresholds, conventions=predictor.conventions)  # fmt: skip
        return [s.document for s in scored]

    return predict


def selection_figures(gold: list[Document], pred: list[Document], scheme: LabelScheme, task: str) -> dict[str, float]:
    """Entity and paragraph topic micro-F1, and :data:`SELECTION`: the task's one of them, or their mean (joint)."""
    metrics = evaluate(gold, pred, scheme=scheme, n_boot=0)
    figures = {"entity_f1": metrics["ner"]["micro"]["f1"], "topic_f1": metrics["topics"]["paragraph"]["micro"]["f1"]}
    chosen = {"ner": ["entity_f1"], "topics": ["topic_f1"], "joint": ["entity_f1", "topic_f1"]}[task]
    figures[SELECTION] = sum(figures[k] for k in chosen) / len(chosen)
    return figures


def dev_scorer(
    trainer_ref: list[Trainer], predictor: TransformerPredictor, dev: list[Document], task: str
) -> Callable[[Any], dict[str, float]]:
    """``compute_metrics`` for Trainer: :func:`selection_figures` of the dev documents (:func:`held_out_predictor`)."""
    predict = held_out_predictor(predictor, dev)

    def compute_metrics(_: Any) -> dict[str, float]:
        return selection_figures(dev, predict(trainer_ref[0].model), predictor.scheme, task)

    return compute_metrics


def training_arguments(
    config: Config, work_dir: Path, task: str, has_dev: bool, keep: bool = True
) -> TrainingArguments:
    """The Trainer's arguments; ``keep=False`` (the out-of-fold fits): no checkpoint and no TensorBoard log."""
    t = config.training
    strategy = "steps" if t.eval_steps else "epoch"
    return TrainingArguments(
        output_dir=str(work_dir / "checkpoints"),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        weight_decay=t.weight_decay,
        # transformers >= 5 has no warmup_ratio: a float in [0, 1) given as warmup_steps is a
        # fraction of the total steps (the config checks the range); float() keeps 0 a ratio too.
        warmup_steps=float(t.warmup_ratio),
        seed=t.seed,
        data_seed=t.seed,
        eval_strategy=strategy if has_dev else "no",
        save_strategy=strategy if keep else "no",
        eval_steps=t.eval_steps or None,
        save_steps=t.eval_steps or None,
        save_total_limit=2,
        load_best_model_at_end=has_dev,
        metric_for_best_model=SELECTION if has_dev else None,
        greater_is_better=True,
        logging_steps=t.logging_steps,
        report_to=["tensorboard"] if keep else "none",
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        length_column_name="length",
        label_names=[n for n, on in (("labels", task != "topics"), ("topic_labels", task != "ner")) if on],
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


@dataclass(frozen=True)
class Setup:
    """What every fit of one :func:`fit_transformer` call shares: config, scheme, task and text pipeline."""

    config: Config
    scheme: LabelScheme
    task: str
    pipeline: TextPipeline

    @classmethod
    def load(cls, config: Config, scheme: LabelScheme) -> Setup:
        """Load the tokenizer first: a missing backbone stops here, before anything is written."""
        tokenizer = load_tokenizer(config.model.backbone)
        return cls(config, scheme, effective_task(config, scheme), TextPipeline(config.text.for_saving(), tokenizer))

    def new_predictor(self) -> TransformerPredictor:
        """A predictor around a fresh model: the backbone's weights, heads drawn from ``training.seed``.

        Every fit starts from the same weights, so the out-of-fold fits and the
        shipped model differ only in the documents they learn from.
        """
        config, scheme = self.config, self.scheme
        set_seed(config.training.seed)
        model = JointModel(
            load_encoder(config.model.backbone),
            num_tags=len(scheme.bio_tags()) if self.task != "topics" else 0,
            num_topics=len(scheme.topics) if self.task != "ner" else 0,
            dropout=config.model.head_dropout,
            ner_loss_weight=config.training.ner_loss_weight,
            topic_loss_weight=config.training.topic_loss_weight,
        )
        batch_size, conventions = config.training.batch_size, conventions_apply_to(scheme)
        return TransformerPredictor(model, self.pipeline, scheme, self.untuned_thresholds(), batch_size=batch_size,
                                    conventions=conventions)  # fmt: skip

    def train(
        self,
        predictor: TransformerPredictor,
        docs: list[Document],
        args: TrainingArguments,
        dev_docs: list[Document] | None = None,
        callbacks: list[TrainerCallback] | None = None,
        resume_from: str | bool | None = None,
    ) -> Trainer:
        """Train ``predictor.model`` on ``docs`` (evaluating on ``dev_docs`` when given); it then holds the result."""
        train_set = window_dataset(docs, self.pipeline, self.scheme, self.task)
        log.info("training %s on %d windows from %d documents (task %s)", self.config.model.backbone,
                 len(train_set), len(docs), self.task)  # fmt: skip
        trainer_ref: list[Trainer] = []
        trainer = XddTrainer(
            model=predictor.model,
            args=args,
            train_dataset=train_set,
            eval_dataset=window_dataset(dev_docs, self.pipeline, self.scheme, self.task) if dev_docs else None,
            data_collator=WindowCollator(self.pipeline.tokenizer.pad_token_id),
            compute_metrics=dev_scorer(trainer_ref, predictor, dev_docs, self.task) if dev_docs else None,
            callbacks=callbacks,
        )
        trainer_ref.append(trainer)
        log.info("world size %d (%s)", trainer.args.world_size, trainer.args.device)
        trainer.train(resume_from_checkpoint=resume_from)
        _adopt(predictor, trainer.model.eval())
        return trainer

    def untuned_thresholds(self) -> dict[str, float]:
        """0.5 for every topic: during training (the selection figure) and for a model without a topic head."""
        return {t: DEFAULT_THRESHOLD for t in self.scheme.topics}

    def tuned_thresholds(self, gold: list[Document], pred: list[Document]) -> dict[str, float]:
        """Per-topic thresholds on held-out ``pred`` with the ``thresholds.*`` settings (untuned for NER only)."""
        if self.task == "ner":
            return self.untuned_thresholds()
        settings = self.config.thresholds
        return tune_thresholds(gold, pred, self.scheme.topics, settings.prior, settings.prior_weight)


def _adopt(predictor: TransformerPredictor, model: torch.nn.Module) -> None:
    """Point ``predictor`` at ``model`` (the Trainer's, in training or done) and its device."""
    predictor.model = model
    predictor.device = next(model.parameters()).device


def resume_checkpoint(work_dir: Path) -> str | bool:
    """The last checkpoint to resume from; a clear message when there is none."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = work_dir / "checkpoints"
    last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    if last is None:
        log.warning("--resume: no checkpoint under %s, starting from scratch", folder)
        return False
    log.info("resuming from %s", last)
    return last
