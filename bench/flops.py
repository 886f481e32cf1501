"""Analytic FLOP counts of an encoder forward pass, for "achieved GFLOP/s" figures.

Only matrix multiplications are counted (one multiply-add = 2 FLOPs); layer
norms, GELU, softmax, embeddings and bias additions are left out, as in the
usual "model FLOPs" accounting.  Only REAL tokens count: the padding a backend
computes is its own waste, not useful work, so two backends doing the same
job get the same FLOP count and their GFLOP/s compare like their speeds.

For a window of ``L`` tokens through an encoder with hidden size ``h``,
feed-forward size ``f`` and ``n`` layers::

    per layer:  2·L·(4·h²)        Q, K, V and output projections
              + 2·L·(2·h·f)       the two feed-forward matrices
              + 4·L²·h            Q·Kᵀ and attention·V (2·L²·h each)
    heads:      2·L·h·tags        token head (NER), every token
              + 2·h·topics        topic head, on the <s> vector only

A Hugging Face sequence classifier's head is ``dense(h, h)`` + ``out_proj(h,
labels)`` on <s>: ``2·h² + 2·h·labels``.  Training is counted as three forward
passes (the backward pass costs two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TRAINING_FACTOR = 3  # forward + backward (gradients of activations and of weights)


@dataclass(frozen=True)
class EncoderShape:
    """What the FLOP count needs from a transformers config."""

    hidden: int
    intermediate: int
    layers: int

    @classmethod
    def from_config(cls, config) -> EncoderShape:
        return cls(config.hidden_size, config.intermediate_size, config.num_hidden_layers)

    def token_flops(self) -> int:
        """FLOPs of the per-token matrix multiplications of all layers (attention scores excluded)."""
        h, f = self.hidden, self.intermediate
        return self.layers * (2 * 4 * h * h + 2 * 2 * h * f)

    def attention_flops(self, length: int) -> int:
        """FLOPs of Q·Kᵀ and attention·V of all layers for one window of ``length`` tokens."""
        return self.layers * 4 * length * length * self.hidden


def encoder_flops(shape: EncoderShape, lengths: Iterable[int]) -> int:
    """FLOPs of the encoder over windows of the given real lengths."""
    return sum(length * shape.token_flops() + shape.attention_flops(length) for length in lengths)


def joint_flops(shape: EncoderShape, lengths: Iterable[int], tags: int, topics: int) -> int:
    """One pass of our joint model: encoder, token head on every token, topic head on <s>."""
    lengths = list(lengths)
    heads = sum(2 * shape.hidden * (length * tags + topics) for length in lengths)
    return encoder_flops(shape, lengths) + heads


def two_pass_flops(shape: EncoderShape, lengths: Iterable[int], tags: int, topics: int) -> int:
    """The Hugging Face route: a token-classification pass and a sequence-classification pass."""
    lengths = list(lengths)
    h = shape.hidden
    token_pass = encoder_flops(shape, lengths) + sum(2 * h * tags * length for length in lengths)
    sequence_pass = encoder_flops(shape, lengths) + len(lengths) * (2 * h * h + 2 * h * topics)
    return token_pass + sequence_pass


def training_flops(shape: EncoderShape, lengths: Iterable[int], tags: int, topics: int) -> int:
    """Useful FLOPs of training steps over windows of the given real lengths (3 × forward)."""
    return TRAINING_FACTOR * joint_flops(shape, lengths, tags, topics)


def matmul_flops(n: int) -> int:
    """FLOPs of an ``n × n`` by ``n × n`` matrix product."""
    return 2 * n**3
