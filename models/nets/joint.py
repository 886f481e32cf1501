"""One encoder, two heads: token classification (NER) and paragraph topics.

``forward`` is pure: tensors in, loss and logits out.  Turning logits into
spans and topic labels is :mod:`xdd.models.predict.decode`'s job, shared by training-time
evaluation, batch inference and the ONNX parity check.

The topic head reads the ``<s>`` vector of each window; a paragraph's topic
probabilities are the mean over its windows (see ``xdd.models.predict.decode``).  Either
head can be absent (``num_tags == 0`` or ``num_topics == 0``) for NER-only or
topics-only models.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig

HEADS_FILE = "heads.json"
WEIGHTS_FILE = "model.safetensors"

# Encoders whose constructor takes ``add_pooling_layer``; the pooler is unused
# here, and unused parameters would make DDP fail.
_POOLER_MODEL_TYPES = {"roberta", "bert", "xlm-roberta", "camembert"}


class JointModel(nn.Module):
    """Encoder + optional token head + optional topic head."""

    def __init__(
        self,
        encoder: nn.Module,
        num_tags: int,
        num_topics: int,
        dropout: float = 0.1,
        ner_loss_weight: float = 1.0,
        topic_loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if num_tags == 0 and num_topics == 0:
            raise ValueError("a JointModel needs at least one head (num_tags or num_topics > 0)")
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.ner_head = nn.Linear(hidden, num_tags) if num_tags else None
        self.topic_head = nn.Linear(hidden, num_topics) if num_topics else None
        self.heads = {"num_tags": num_tags, "num_topics": num_topics, "dropout": dropout}
        self.ner_loss_weight = ner_loss_weight
        self.topic_loss_weight = topic_loss_weight

    @property
    def config(self) -> PretrainedConfig:
        return self.encoder.config

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        topic_labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        out: dict[str, torch.Tensor] = {}
        loss = hidden.new_zeros(())
        if self.ner_head is not None:
            out["ner_logits"] = self.ner_head(hidden)
            if labels is not None:
                ner_loss = nn.functional.cross_entropy(
                    out["ner_logits"].flatten(0, 1), labels.flatten(), ignore_index=-100
                )
                loss = loss + self.ner_loss_weight * ner_loss
        if self.topic_head is not None:
            out["topic_logits"] = self.topic_head(hidden[:, 0])
            if topic_labels is not None:
                topic_loss = nn.functional.binary_cross_entropy_with_logits(
                    out["topic_logits"], topic_labels.to(out["topic_logits"].dtype)
                )
                loss = loss + self.topic_loss_weight * topic_loss
        if labels is not None or topic_labels is not None:
            out = {"loss": loss, **out}
        return out

    def save(self, directory: str | Path) -> None:
        """Weights as safetensors, the encoder's config, and the head sizes."""
        from safetensors.torch import save_model

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.encoder.config.save_pretrained(directory)
        (directory / HEADS_FILE).write_text(json.dumps(self.heads, indent=2) + "\n", encoding="utf-8")
        save_model(self, str(directory / WEIGHTS_FILE))

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> JointModel:
        """Rebuild from :meth:`save` output; never runs remote code, never unpickles."""
        from safetensors.torch import load_model

        directory = Path(directory)
        heads = json.loads((directory / HEADS_FILE).read_text(encoding="utf-8"))
        config = AutoConfig.from_pretrained(directory, trust_remote_code=False)
        model = cls(encoder_from_config(config), heads["num_tags"], heads["num_topics"], heads["dropout"])
        load_model(model, str(directory / WEIGHTS_FILE), device=str(device))
        return model.eval()


def encoder_kwargs(model_type: str) -> dict[str, bool]:
    return {"add_pooling_layer": False} if model_type in _POOLER_MODEL_TYPES else {}


def encoder_from_config(config: PretrainedConfig) -> nn.Module:
    return AutoModel.from_config(config, **encoder_kwargs(config.model_type))
