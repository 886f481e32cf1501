"""What every benchmark row works on: the corpus texts repeated to ``n`` documents.

Our side gets the raw texts (it normalises, segments, aligns and decodes, as
``xdd predict`` does).  The Hugging Face side gets, for the same documents,
the text of every window our pipeline builds, its words already segmented and
joined by spaces: the usual route starts from pre-segmented text, and each
input then tokenises to exactly the sub-words of one of our windows (the
pipeline would fail on inputs longer than the model's 256 positions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xdd.models.errors import ConfigError


def bench_texts(corpus: Path, n: int) -> list[str]:
    """The corpus's article texts, repeated in order until there are ``n`` of them."""
    from xdd.training.text_cli import corpus_texts

    if n < 1:
        raise ConfigError(f"the benchmark needs at least one document, got {n}")
    texts = [t for t in corpus_texts(corpus) if t.strip()]
    if not texts:
        raise ConfigError(f"{corpus}: no non-empty texts to benchmark on")
    return [texts[i % len(texts)] for i in range(n)]


@dataclass(frozen=True)
class Workload:
    """Size of a set of documents as our pipeline feeds them to the model."""

    documents: int
    chars: int
    paragraphs: int
    words: int
    lengths: tuple[int, ...]  # tokens of each window, <s> and </s> included

    @property
    def windows(self) -> int:
        return len(self.lengths)

    @property
    def tokens(self) -> int:
        return sum(self.lengths)

    def to_json(self) -> dict[str, int]:
        return {
            "documents": self.documents,
            "chars": self.chars,
            "paragraphs": self.paragraphs,
            "words": self.words,
            "windows": self.windows,
            "tokens": self.tokens,
            "longest_window": max(self.lengths, default=0),
        }


def describe(pipeline, texts: Sequence[str]) -> tuple[Workload, list[str]]:
    """The workload of ``texts`` and the pre-segmented window texts the Hugging Face side is fed."""
    from xdd.models.document import Document

    lengths: list[int] = []
    window_texts: list[str] = []
    paragraphs = words = 0
    for k, text in enumerate(texts):
        encoded = pipeline.encode_document(Document(str(k), text))
        paragraphs += len(encoded.paragraphs)
        words += sum(len(ws) for ws in encoded.words)
        for window in encoded.windows:
            lengths.append(len(window.input_ids))
            forms = encoded.words[window.paragraph][window.word_start:window.word_end]
            window_texts.append(" ".join(w.form for w in forms))
    workload = Workload(len(texts), sum(len(t) for t in texts), paragraphs, words, tuple(lengths))
    return workload, window_texts
