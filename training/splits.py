"""Train/dev/test splits and cross-validation folds, always by document.

Paragraphs and sentences of one article share names, places and phrasing, so
splitting below the document would leak them between train and test.  Every
split here keeps each document whole, is deterministic for a given seed, and
knows nothing about the model being trained (the CRF baselines and the
transformer trainer use it alike).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Literal

from xdd.models.document import Document
from xdd.models.document.corpus import Problem, read_documents
from xdd.models.errors import ConfigError, CorpusError
from xdd.training.config import DataConfig
from xdd.training.validate import check_corpus

# Problems listed in full before the rest are only counted.
MAX_LISTED_PROBLEMS = 20

log = logging.getLogger(__name__)

Folds = int | Literal["loo"]


@dataclass
class Split:
    """Documents to learn from and documents to select or tune on.

    ``dev_is_train`` is true when there was only one document, so the dev set
    is the training set itself and its figures say nothing about generalisation.
    """

    train: list[Document]
    dev: list[Document]
    test: list[Document] = field(default_factory=list)
    dev_is_train: bool = False


@dataclass
class Fold:
    """One cross-validation fold: train on ``train``, score on the held-out ``test``."""

    index: int
    train: list[Document]
    test: list[Document]


def split_documents(docs: list[Document], dev_fraction: float, seed: int) -> Split:
    """Hold out ``dev_fraction`` of the documents (at least one, at most all but one) as dev.

    With a single document there is nothing to hold out: dev is the training
    document, and a warning says so.
    """
    if not docs:
        raise ConfigError("cannot split an empty corpus: check 'data.train' points at JSONL files with documents")
    if len(docs) == 1:
        log.warning("only one document (%s): dev = train, dev figures are training figures", docs[0].id)
        return Split(train=list(docs), dev=list(docs), dev_is_train=True)
    n_dev = min(max(1, round(len(docs) * dev_fraction)), len(docs) - 1)
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    dev_idx = set(order[:n_dev])
    return Split(
        train=[d for i, d in enumerate(docs) if i not in dev_idx],
        dev=[d for i, d in enumerate(docs) if i in dev_idx],
    )


def read_corpus(path: str) -> list[Document]:
    """The documents of a corpus path after full validation (``xdd validate``'s checks).

    Training on overlapping or shifted spans, or on nothing (an empty file),
    would silently teach the model wrong boundaries or fail far from the
    cause, so any error stops here, listed ``PATH:LINE: id=ID: problem``.
    Warnings (house style in a corpus with its own labels) do not stop
    training: they are logged, so that the run says what it accepted.
    """
    problems = check_corpus(path)
    errors = [p for p in problems if not p.is_warning]
    if errors:
        raise CorpusError(_listing(errors, f"problem(s) in {path}") + f"; fix them (see `xdd validate {path}`)")
    if len(problems) > len(errors):
        log.warning("%s", _listing([p for p in problems if p.is_warning], f"warning(s) in {path}, not blocking"))
    return read_documents(path)


def _listing(problems: list[Problem], what: str) -> str:
    """The first :data:`MAX_LISTED_PROBLEMS` problems, one per line, then ``N <what> (M more not shown)``."""
    listed = [str(p) for p in problems[:MAX_LISTED_PROBLEMS]]
    more = len(problems) - len(listed)
    tail = f" ({more} more not shown)" if more else ""
    return "\n".join(listed) + f"\n{len(problems)} {what}{tail}"


def load_split(data: DataConfig) -> Split:
    """Read ``data.train`` (and ``data.dev``/``data.test`` when given); split dev off train when not.

    A document id found in two of the sets is an error: it would be scored on
    what it was trained on.
    """
    train = read_corpus(data.train)
    if data.dev is not None:
        split = Split(train=train, dev=read_corpus(data.dev))
    else:
        split = split_documents(train, data.dev_fraction, data.split_seed)
    if data.test is not None:
        split.test = read_corpus(data.test)
    _check_disjoint(split, data)
    return split


def _check_disjoint(split: Split, data: DataConfig) -> None:
    dev_source = data.dev or f"split off {data.train}"
    sets = [
        ("data.train", data.train, split.train),
        ("data.dev", dev_source, split.dev),
        ("data.test", data.test, split.test),
    ]
    if split.dev_is_train:
        del sets[1]
    for i, (key_a, source_a, docs_a) in enumerate(sets):
        for key_b, source_b, docs_b in sets[i + 1 :]:
            shared = sorted({d.id for d in docs_a} & {d.id for d in docs_b})
            if shared:
                raise ConfigError(
                    f"'{key_a}' ({source_a}) and '{key_b}' ({source_b}) share document id(s) "
                    f"{', '.join(shared[:5])}; remove them from one of the two corpora"
                )


def parse_folds(value: str) -> Folds:
    """``"loo"`` or a whole number of folds >= 2, as written on the command line."""
    if value.strip().lower() == "loo":
        return "loo"
    try:
        folds = int(value)
    except ValueError:
        raise ConfigError(f"--folds {value!r}: expected a number of folds (e.g. 5) or 'loo'") from None
    if folds < 2:
        raise ConfigError(f"--folds {folds}: cross-validation needs at least 2 folds (or 'loo')")
    return folds


def cv_folds(docs: list[Document], folds: Folds, seed: int) -> list[Fold]:
    """K folds of shuffled documents dealt round-robin, or one fold per document (``"loo"``).

    Leave-one-out keeps the corpus order, so fold *i* holds out document *i*.
    """
    n = len(docs)
    if folds == "loo":
        k = n
        if n < 2:
            raise ConfigError(f"leave-one-document-out needs at least 2 documents, the corpus has {n}")
        order = list(range(n))
    else:
        k = folds
        if k < 2:
            raise ConfigError(f"--folds {k}: cross-validation needs at least 2 folds (or 'loo')")
        if k > n:
            raise ConfigError(
                f"--folds {k} is more than the {n} documents of the corpus; use --folds {n} or fewer, or --folds loo"
            )
        order = list(range(n))
        random.Random(seed).shuffle(order)
    held_out = [set(order[i::k]) for i in range(k)]
    return [
        Fold(
            index=i,
            train=[d for j, d in enumerate(docs) if j not in held],
            test=[d for j, d in enumerate(docs) if j in held],
        )
        for i, held in enumerate(held_out)
    ]
