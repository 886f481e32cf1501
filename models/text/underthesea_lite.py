"""underthesea's tokenizers without the optional pipelines its ``__init__`` imports on the way.

``import underthesea`` (9.x) also imports its optional pipelines (translate,
classify, sentiment, ...) and through them ``transformers`` and ``torch``:
about 3 s of a 3.7 s import on the project's 2-core machine, paid by every
process that segments text (``xdd predict``, each of its worker processes,
each Ray actor), even a baseline bundle's that never touches PyTorch.  xdd
uses only ``word_tokenize`` and ``sent_tokenize``.

underthesea imports each optional pipeline inside ``try/except ImportError``
and sets the name to ``None`` when it fails; :func:`tokenizers` makes those
imports fail by putting ``None`` in ``sys.modules`` for the length of the
first import (Python's documented way to block one), then removes exactly
those entries, so anyone can still ``import underthesea.pipeline.translate``
later (``underthesea.translate`` itself stays ``None`` in that process, as
underthesea leaves it when the pipeline cannot be imported).  When
underthesea was already imported, it is used as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

OPTIONAL_PIPELINES = (  # underthesea.__init__'s optional_imports, none of which xdd uses
    "underthesea.pipeline.classification",
    "underthesea.pipeline.sentiment",
    "underthesea.pipeline.lang_detect",
    "underthesea.pipeline.dependency_parse",
    "underthesea.pipeline.translate",
    "underthesea.agent",
    "underthesea.address",
)


@cache
def tokenizers() -> tuple[Callable[..., list[str]], Callable[..., list[str]]]:
    """``(word_tokenize, sent_tokenize)`` from underthesea, imported without its optional pipelines."""
    with _blocked(OPTIONAL_PIPELINES if "underthesea" not in sys.modules else ()):
        from underthesea import sent_tokenize, word_tokenize
    return word_tokenize, sent_tokenize


@contextmanager
def _blocked(names: tuple[str, ...]) -> Iterator[None]:
    """Imports of ``names`` raise ImportError inside; outside, ``sys.modules`` is as it was for them."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
