"""The inference side of the topic baseline: TF-IDF features and one logistic regression per topic.

A paragraph is represented by its segmented, normalised word forms,
lower-cased and joined by spaces (:func:`paragraph_text`); word n-grams of
those are counted over a fixed vocabulary, weighted by inverse document
frequency and L2-normalised, exactly as scikit-learn's ``TfidfVectorizer``
does; each topic's probability is ``sigmoid(x @ coef + intercept)``, as its
one-vs-rest ``LogisticRegression`` models compute it.

Everything is stored without pickle: the vocabulary and settings in
``topics.json``, the idf, coefficient and intercept arrays in
``topics.safetensors``.  A topic with no positive (or no negative) training
paragraph has zero weights and an intercept of -inf (or +inf): a constant
probability of 0 (or 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from models.errors import BundleError

SETTINGS_FILE = "topics.json"
WEIGHTS_FILE = "topics.safetensors"
# Word forms are whitespace-free (syllables joined by "_") and lower-cased before counting.
TOKEN_PATTERN = r"\S+"


def paragraph_text(forms: list[str]) -> str:
    """The text TF-IDF sees: lower-cased word forms with at least one letter or digit, space-separated."""
    return " ".join(form.lower() for form in forms if any(c.isalnum() for c in form))


def vectorizer_options(ngram_max: int) -> dict[str, Any]:
    """Options shared by the training ``TfidfVectorizer`` and the inference ``CountVectorizer``."""
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

    def __post_init__(self) -> None:
        n_topics, n_features = len(self.topics), len(self.vocabulary)
        expected = {"idf": (n_features,), "coef": (n_topics, n_features), "intercept": (n_topics,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise BundleError(
                    f"topic model: '{name}' has shape {getattr(self, name).shape}, expected {shape} for "
                    f"{n_topics} topics and {n_features} vocabulary entries; re-export the model"
                )
        self._counter = CountVectorizer(vocabulary=self.vocabulary, **vectorizer_options(self.ngram_max))

    def features(self, texts: list[str]) -> sparse.csr_matrix:
        """The L2-normalised TF-IDF matrix (sparse, one row per text)."""
        counts = self._counter.transform(texts)
        return normalize(counts.multiply(self.idf).tocsr(), norm="l2")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Topic probabilities, shape ``(len(texts), len(topics))``."""
        if not texts:
            return np.zeros((0, len(self.topics)))
        logits = np.asarray(self.features(texts) @ self.coef.T) + self.intercept
        return expit(logits)

    def save(self, directory: str | Path) -> None:
        """Write topics.json (settings, vocabulary) and topics.safetensors (float64 arrays)."""
        directory = Path(directory)
        settings = {
            "topics": self.topics,
            "ngram_max": self.ngram_max,
            "token_pattern": TOKEN_PATTERN,
            "norm": "l2",
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
        )
