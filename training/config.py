"""Typed training configs, validated on load, overridable with ``--set key=value``.

Every default lives here, in one commented place.  A YAML file names only what
it changes; unknown keys and bad values are errors that name the dotted key
(``training.learning_rate``) and where the value came from (the file, or the
``--set`` that overrode it), with a suggestion for typos.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from xdd.models.errors import ConfigError
from xdd.models.text.pipeline import TextSettings

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class ModelConfig:
    # "transformer": fine-tune an encoder; "baselines": CRF tagger + TF-IDF linear topics.
    kind: Literal["transformer", "baselines"] = "transformer"
    # Hugging Face hub id or local directory (a PhoBERT download, or `xdd init-model` output).
    backbone: str = "vinai/phobert-base"
    # Dropout before both heads.
    head_dropout: float = 0.1


@dataclass
class DataConfig:
    # Gold corpus (a JSONL file or a directory of them).
    train: str = "data/annotations"
    # Explicit dev/test corpora; when dev is null, dev_fraction of the training
    # documents (at least one, by document) are held out for early stopping.
    dev: str | None = None
    test: str | None = None
    dev_fraction: float = 0.2
    split_seed: int = 13
    # Below this many training documents (the training and split-off dev documents together),
    # choices are made out of fold instead of on a dev split: leave-one-document-out over all of
    # them, thresholds tuned on the pooled out-of-fold predictions, then the model trained on all
    # of them (no dev document withheld).  An explicit data.dev stays held out.  0: never.
    # (xdd.training.oof; docs/training.md, "Choices on a tiny corpus")
    oof_below: int = 10


@dataclass
class TrainingConfig:
    epochs: float = 30.0
    # Stop after this many optimiser steps (-1: run the epochs).
    max_steps: int = -1
    learning_rate: float = 5e-5
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 42
    # Joint loss = ner_loss_weight * token cross-entropy + topic_loss_weight * topic BCE.
    ner_loss_weight: float = 1.0
    topic_loss_weight: float = 1.0
    # Evaluations on dev without improvement of the selection metric before stopping (0: never stop early).
    early_stopping_patience: int = 5
    # Evaluate (and maybe checkpoint) every this many steps; 0 = once per epoch.
    eval_steps: int = 0
    # Batch windows of similar length together (less padding, faster).
    group_by_length: bool = True
    # Optimiser steps between log lines.
    logging_steps: int = 10


@dataclass
class ThresholdConfig:
    # Per-topic thresholds maximise F1 on held-out scores, shrunk towards `prior` by
    # prior_weight / (positives + prior_weight); never above a positive's highest score.
    prior: float = 0.5
    # Positive paragraphs the prior is worth (0: no shrinking).
    prior_weight: float = 5.0


@dataclass
class CRFConfig:
    c1: float = 0.05
    c2: float = 0.05
    max_iterations: int = 200


@dataclass
class TfidfConfig:
    # Inverse of regularisation strength of the one-vs-rest logistic regression.
    C: float = 4.0
    ngram_max: int = 2
    min_df: int = 1
    # "balanced": weight each topic's positives and negatives inversely to their frequency.
    class_weight: Literal["balanced"] | None = "balanced"
    # Sample weight of the weak examples written from the annotation scheme
    # (models/nets/lexicons/topics.txt: one line, one example of its topic); 0: not used.
    lexicon_weight: float = 1.0
    # A paragraph's features += context_weight * the features of its previous and next
    # non-empty paragraphs (saved with the model, applied identically at prediction); 0: none.
    context_weight: float = 0.0


@dataclass
class Config:
    name: str = "phobert-joint"
    # "joint": one encoder, NER + topic heads; "ner" or "topics": one head.
    task: Literal["joint", "ner", "topics"] = "joint"
    model: ModelConfig = field(default_factory=ModelConfig)
    # Normaliser, segmenter and windows (xdd.models.text.pipeline.TextSettings, saved with the model).
    text: TextSettings = field(default_factory=TextSettings)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    crf: CRFConfig = field(default_factory=CRFConfig)
    tfidf: TfidfConfig = field(default_factory=TfidfConfig)
    thresholds: ThresholdConfig = field(default_factory=ThresholdConfig)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config (``text.segmenter_version`` is recorded with the model, not here)."""
        data = dataclasses.asdict(self)
        data["text"].pop("segmenter_version", None)
        return data


_POSITIVE = {
    "training.learning_rate", "training.batch_size", "text.max_tokens", "training.logging_steps",
    "crf.max_iterations", "tfidf.C", "tfidf.ngram_max", "tfidf.min_df",
}
_NON_NEGATIVE = {
    "training.epochs", "training.weight_decay", "training.ner_loss_weight", "training.topic_loss_weight",
    "training.early_stopping_patience", "training.eval_steps", "crf.c1", "crf.c2",
    "model.head_dropout", "data.oof_below", "thresholds.prior_weight", "tfidf.lexicon_weight",
    "tfidf.context_weight",
}
_FRACTIONS = {"training.warmup_ratio", "data.dev_fraction", "model.head_dropout"}


@dataclass(frozen=True)
class _Origins:
    """Where the config's values came from, so that an error blames the ``--set`` or the file that wrote the key.

    Blaming the YAML file for a typo typed on the command line sends the user
    to look for it in the wrong place.
    """

    source: str
    overridden: tuple[str, ...] = ()

    def of(self, *keys: str) -> str:
        """``--set KEY`` when an override wrote one of ``keys`` (or a section holding it), else the file."""
        for key in keys:
            for item in self.overridden:
                if key == item or key.startswith(item + "."):
                    return f"--set {item}"
        return self.source


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (or the defaults), apply ``key=value`` overrides, validate."""
    source = str(path) if path else "<defaults>"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"{source}: cannot read config: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: not valid YAML: {err}") from err
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{source}: a config is a mapping of keys to values")
        data = loaded or {}
    origins = _Origins(source, tuple(_apply_override(data, item) for item in overrides or []))
    config = _build(Config, data, "", origins)
    _check_values(config, origins)
    return config


def resolve_config_path(name_or_path: str) -> Path:
    """A config path as given, or the name of a shipped config (``tiny-joint``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = CONFIG_DIR / (name_or_path if name_or_path.endswith(".yaml") else f"{name_or_path}.yaml")
    if shipped.exists():
        return shipped
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    raise ConfigError(f"config '{name_or_path}' not found (not a file, not a shipped config: {', '.join(names)})")


def _apply_override(data: dict[str, Any], item: str) -> str:
    """Set ``key=value`` in the loaded YAML mapping; returns the dotted key (for error messages)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. training.learning_rate=3e-5")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {item!r}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value
    return ".".join(parts)


def _build(cls: type, data: Any, prefix: str, origins: _Origins) -> Any:
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{origins.of(where)}: '{where}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{origins.of(f'{prefix}{key}')}: unknown key '{prefix}{key}'{hint}; allowed: {', '.join(names)}"
            )
    values = {}
    for name in names:
        if name not in data:
            continue
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, data[name], f"{prefix}{name}.", origins)
        else:
            values[name] = _coerce(data[name], hint, f"{prefix}{name}", origins.of(f"{prefix}{name}"))
    try:
        return cls(**values)
    except ConfigError as err:  # a section that validates itself (TextSettings): blame whoever wrote into it
        raise ConfigError(f"{origins.of(*(f'{prefix}{key}' for key in data))}: '{where}' section: {err}") from None


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, key, source)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{source}: '{key}' must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "3e-5" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str) and value:
            return value
    raise ConfigError(f"{source}: '{key}' must be {_type_name(hint)}, got {value!r}")


def _type_name(hint: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a non-empty string"}.get(hint, str(hint))


def _check_values(config: Config, origins: _Origins) -> None:
    flat = _flatten(config.to_dict())
    for key, value in flat.items():
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"{origins.of(key)}: '{key}' must be > 0, got {value!r}")
        if key in _NON_NEGATIVE and value < 0:
            raise ConfigError(f"{origins.of(key)}: '{key}' must be >= 0, got {value!r}")
        if key in _FRACTIONS and not 0 <= value < 1:
            raise ConfigError(f"{origins.of(key)}: '{key}' must be in [0, 1), got {value!r}")
    text, training = config.text, config.training
    if text.max_tokens > 512 or text.max_tokens < 8:
        where = origins.of("text.max_tokens")
        raise ConfigError(f"{where}: 'text.max_tokens' must be between 8 and 512, got {text.max_tokens}")
    if text.overlap_words * 2 >= text.max_tokens:
        where = origins.of("text.overlap_words", "text.max_tokens")
        raise ConfigError(f"{where}: 'text.overlap_words' must be less than half of 'text.max_tokens'")
    if training.epochs == 0 and training.max_steps <= 0:
        where = origins.of("training.epochs", "training.max_steps")
        raise ConfigError(f"{where}: set 'training.epochs' > 0 or 'training.max_steps' > 0")
    if config.task == "joint" and training.ner_loss_weight == 0 == training.topic_loss_weight:
        where = origins.of("training.ner_loss_weight", "training.topic_loss_weight", "task")
        raise ConfigError(f"{where}: 'training.ner_loss_weight' and 'training.topic_loss_weight' are both 0")
    if not 0 < config.thresholds.prior < 1:
        where = origins.of("thresholds.prior")
        prior = config.thresholds.prior
        raise ConfigError(f"{where}: 'thresholds.prior' must be between 0 and 1 (exclusive), got {prior}")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
