"""The inference side of the topic baseline: TF-IDF features and one logistic regression per topic.

A paragraph is represented by its segmented, normalised word forms,
lower-cased and joined by spaces (:func:`paragraph_text`); word n-grams of
those are counted over a fixed vocabulary, weighted by inverse document
frequency and L2-normalised, exactly as scikit-learn's ``TfidfVectorizer``
does; each topic's probability is ``sigmoid(x @ coef + intercept)``, as its
one-vs-rest ``LogisticRegression`` models compute it.  Training fits those
with scikit-learn; inference counts with :func:`count_ngrams` instead, which
spares every predicting process scikit-learn's 2 s import (SciPy's
statistics, pandas); a test holds the two equal bit for bit.

Paragraph context (``context_weight`` > 0): the texts given to
:meth:`TopicLinear.predict_proba` are then the paragraphs of ONE document, in
order, and each non-empty paragraph's TF-IDF row gets ``context_weight`` times
the rows of its previous and next non-empty paragraphs added
(:func:`with_context`, the same function training uses).  With the default 0
every text is scored on its own, as models saved before context existed are.

Everything is stored without pickle: the vocabulary and settings in
``topics.json`` (``context_weight`` among them; absent means 0), the idf,
coefficient and intercept arrays in ``topics.safetensors``.  A topic with no positive (or no negative) training
paragraph has zero weights and an intercept of -inf (or +inf): a constant
probability of 0 (or 1).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save
from scipy import sparse
from scipy.special import expit

from xdd.models.errors import BundleError

SETTINGS_FILE = "topics.json"
WEIGHTS_FILE = "topics.safetensors"
# Word forms are whitespace-free (syllables joined by "_") and lower-cased before counting.
TOKEN_PATTERN = r"\S+"
_TOKEN = re.compile(TOKEN_PATTERN)


def paragraph_text(forms: list[str]) -> str:
    """The text TF-IDF sees: lower-cased word forms with at least one letter or digit, space-separated."""
    return " ".join(form.lower() for form in forms if any(c.isalnum() for c in form))


def with_context(features: sparse.spmatrix, texts: list[str], weight: float) -> sparse.csr_matrix:
    """Each non-empty text's row plus ``weight`` × the rows of the previous and next non-empty texts.

    ``texts`` are one document's paragraphs in order; an empty text (no word)
    keeps its all-zero row and is skipped when looking for neighbours.
    """
    features = sparse.csr_matrix(features)
    if weight == 0 or len(texts) < 2:
        return features
    present = [i for i, text in enumerate(texts) if text.strip()]
    rows, cols = list(present), list(present)
    values = [1.0] * len(present)
    for a, b in itertools.pairwise(present):
        rows += [a, b]
        cols += [b, a]
        values += [weight, weight]
    n = len(texts)
    mixing = sparse.csr_matrix((values, (rows, cols)), shape=(n, n))
    return sparse.csr_matrix(mixing @ features)


def count_ngrams(texts: list[str], vocabulary: dict[str, int], ngram_max: int) -> sparse.csr_matrix:
    """Counts of the vocabulary's word 1..``ngram_max``-grams per text: ``CountVectorizer(vocabulary=...)``'s matrix.

    Tokens are :data:`TOKEN_PATTERN` matches, an n-gram is its tokens joined
    by one space, and n-grams outside the vocabulary are not counted (as
    scikit-learn's ``_word_ngrams`` and ``transform`` do).
    """
    rows: list[int] = []
    cols: list[int] = []
    for row, text in enumerate(texts):
        tokens = _TOKEN.findall(text)
        for n in range(1, ngram_max + 1):
            for start in range(len(tokens) - n + 1):
                column = vocabulary.get(" ".join(tokens[start : start + n]))
                if column is not None:
                    rows.append(row)
                    cols.append(column)
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(len(texts), len(vocabulary))
    )
    counts.sum_duplicates()
    return counts


def vectorizer_options(ngram_max: int) -> dict[str, Any]:
    """Options of the training ``TfidfVectorizer``; :func:`count_ngrams` reproduces them at inference."""
    return {"token_pattern": TOKEN_PATTERN, "lowercase": False, "ngram_range": (1, ngram_max)}


@dataclass
class TopicLinear:
    """TF-IDF + per-topic logistic regression, with plain arrays as parameters."""

    topics: list[str]
    vocabulary: dict[str, int]
    ngram_max: int
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_topics, n_features)
    intercept: np.ndarray  # (n_topics,)
    # Weight of the neighbouring paragraphs' features (module docstring); 0: none.
    context_weight: float = 0.0

    def __post_init__(self) -> None:
        n_topics, n_features = len(self.topics), len(self.vocabulary)
        expected = {"idf": (n_features,), "coef": (n_topics, n_features), "intercept": (n_topics,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise BundleError(
                    f"topic model: '{name}' has shape {getattr(self, name).shape}, expected {shape} for "
                    f"{n_topics} topics and {n_features} vocabulary entries; re-export the model"
                )

    def features(self, texts: list[str]) -> sparse.csr_matrix:
        """The L2-normalised TF-IDF matrix (sparse, one row per text); an all-zero row stays zero."""
        weighted = sparse.csr_matrix(count_ngrams(texts, self.vocabulary, self.ngram_max).multiply(self.idf))
        rows = np.repeat(np.arange(weighted.shape[0]), np.diff(weighted.indptr))
        norms = np.sqrt(np.bincount(rows, weights=weighted.data**2, minlength=weighted.shape[0]))
        weighted.data /= norms[rows]  # as sklearn.preprocessing.normalize: squares summed in order, then divided
        return weighted

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Topic probabilities, shape ``(len(texts), len(topics))``.

        With ``context_weight`` > 0, ``texts`` are the paragraphs of one
        document in order (neighbours are taken from this list); otherwise
        each text is scored on its own.
        """
        if not texts:
            return np.zeros((0, len(self.topics)))
        features = with_context(self.features(texts), texts, self.context_weight)
        logits = np.asarray(features @ self.coef.T) + self.intercept
        return expit(logits)

    def save(self, directory: str | Path) -> None:
        """Write topics.json (settings, vocabulary) and topics.safetensors (float64 arrays)."""
        directory = Path(directory)
        settings = {
            "topics": self.topics,
            "ngram_max": self.ngram_max,
            "token_pattern": TOKEN_PATTERN,
            "norm": "l2",
            "context_weight": self.context_weight,
            "vocabulary": self.vocabulary,
        }
        text = json.dumps(settings, ensure_ascii=False, indent=1) + "\n"
        (directory / SETTINGS_FILE).write_text(text, encoding="utf-8")
        arrays = {"idf": self.idf, "coef": self.coef, "intercept": self.intercept}
        contiguous = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
        (directory / WEIGHTS_FILE).write_bytes(save(contiguous))

    @classmethod
    def load(cls, directory: str | Path) -> TopicLinear:
        directory = Path(directory)
        settings_path, weights_path = directory / SETTINGS_FILE, directory / WEIGHTS_FILE
        try:
            settings = json.loads(settings_path.read_text(encoding="utf-8"))
            arrays = load_file(str(weights_path))
        except (OSError, ValueError, SafetensorError) as err:  # JSONDecodeError is a ValueError
            raise BundleError(f"{directory}: cannot read the topic model: {err}; re-export the model") from err
        if not isinstance(settings, dict):
            raise BundleError(f"{settings_path}: expected a JSON object; re-export the model")
        missing = [k for k in ("topics", "ngram_max", "vocabulary") if k not in settings]
        missing += [k for k in ("idf", "coef", "intercept") if k not in arrays]
        if missing:
            raise BundleError(f"{directory}: topic model lacks {', '.join(missing)}; re-export the model")
        return cls(
            topics=settings["topics"],
            vocabulary=settings["vocabulary"],
            ngram_max=settings["ngram_max"],
            idf=arrays["idf"],
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            context_weight=_context_weight(settings, settings_path),
        )


def _context_weight(settings: dict[str, Any], path: Path) -> float:
    """``context_weight`` from topics.json: 0 when absent (files written before it existed)."""
    value = settings.get("context_weight", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise BundleError(f"{path}: 'context_weight' must be a number >= 0, got {value!r}; re-export the model")
    return float(value)
