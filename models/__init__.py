"""xdd's inference library, along the data path a document takes.

``document`` (the document type, labels, corpora, bundle reading) → ``text``
(normalise, segment, align to sub-words, windows) → ``nets`` (the networks and
heads) → ``predict`` (scorers for torch, ONNX and the baselines, one decoding
step, :class:`Predictor`) → ``export`` (writing verified bundles) and
``formats`` (inputs and outputs of batch inference).  See docs/architecture.md.

The two names most users need are importable from here::

    from xdd.models import Document, Predictor
"""

from __future__ import annotations

from typing import Any

__all__ = ["Document", "Predictor"]


def __getattr__(name: str) -> Any:  # lazy, so `import xdd.models.text` does not load the predictor
    if name == "Predictor":
        from xdd.models.predict.predictor import Predictor

        return Predictor
    if name == "Document":
        from xdd.models.document import Document

        return Document
    raise AttributeError(f"module 'xdd.models' has no attribute {name!r}")
