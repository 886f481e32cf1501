"""The inference side of the CRF baseline: word features and a crfsuite tagger.

Words are the text pipeline's segmented, normalised forms (syllables joined by
``_``, e.g. ``Huyện_ủy``).  Features follow the usual recipe for Vietnamese
NER with CRFs: the word and its syllables, lower-cased; casing, which carries
most of the signal for names (``Nguyễn_Thị_Mai`` is title case, ``Ban_Thường_vụ``
has an initial capital only); a character shape (``d/d/d`` for dates,
``d-X/X`` for document codes); the first and last syllable as prefix and suffix;
digit and punctuation flags; and the same for two words either side.

The model is crfsuite's own binary file, opened from memory: no pickle.
Training lives in :mod:`training.baselines`; both sides call
:func:`word_features`, so features cannot drift between them.
"""

from __future__ import annotations

from pathlib import Path

import pycrfsuite

from models.errors import BundleError

Features = dict[str, str | bool | list[str]]

# Features of a neighbour that are copied into a word's own feature dict.
NEIGHBOUR_KEYS = ("lower", "casing", "shape", "first", "last", "punct")
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)


def casing(form: str) -> str:
    """The word's capitalisation: ``upper``, ``lower``, ``title`` (every syllable capitalised),
    ``initial`` (only the first syllable), ``mixed``, or ``none`` (no letters)."""
    if not any(c.isalpha() for c in form):
        return "none"
    if form.isupper():
        return "upper"
    if form.islower():
        return "lower"
    capitalised = [s[:1].isupper() and (s[1:].islower() or not s[1:].isalpha()) for s in form.split("_") if s]
    if all(capitalised):
        return "title"
    if capitalised[0] and not any(c.isupper() for c in form.split("_", 1)[1]):
        return "initial"
    return "mixed"


def shape(form: str) -> str:
    """Upper-case letters as ``X``, lower-case as ``x``, digits as ``d``, others kept; runs collapsed."""
    out: list[str] = []
    for char in form:
        cls = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        if not out or out[-1] != cls:
            out.append(cls)
    return "".join(out)


def _own_features(form: str) -> Features:
    syllables = [s for s in form.split("_") if s] or [form]
    features: Features = {
        "lower": form.lower(),
        "syl": sorted({s.lower() for s in syllables}),
        "n_syl": str(min(len(syllables), 4)),
        "casing": casing(form),
        "shape": shape(form),
        "first": syllables[0].lower(),
        "last": syllables[-1].lower(),
    }
    flags = {
        "digit": form.isdigit(),
        "has_digit": any(c.isdigit() for c in form),
        "has_slash": "/" in form,
        "has_hyphen": "-" in form,
        "punct": not any(c.isalnum() for c in form),
    }
    features.update({name: True for name, on in flags.items() if on})
    return features


def word_features(forms: list[str]) -> list[Features]:
    """crfsuite feature dicts for a sequence of word forms (one dict per word).

    String values become ``key=value`` indicator features; ``syl`` lists the
    syllable indicators; flags are present only when true.
    """
    own = [_own_features(form) for form in forms]
    sequence: list[Features] = []
    for i, features in enumerate(own):
        item = dict(features)
        item["bias"] = True
        for offset in NEIGHBOUR_OFFSETS:
            j = i + offset
            if not 0 <= j < len(own):
                item[f"{offset:+d}:edge"] = True
                continue
            for key in NEIGHBOUR_KEYS:
                if key in own[j]:
                    item[f"{offset:+d}:{key}"] = own[j][key]
        if i == 0:
            item["BOS"] = True
        else:
            item["-1|0"] = f"{own[i - 1]['lower']}|{features['lower']}"
        if i == len(own) - 1:
            item["EOS"] = True
        else:
            item["0|+1"] = f"{features['lower']}|{own[i + 1]['lower']}"
        sequence.append(item)
    return sequence


class CRFTagger:
    """A trained crfsuite model tagging word sequences with IOB2 tags and per-word marginals."""

    def __init__(self, model: bytes, source: str = "<memory>") -> None:
        self.model = model
        self._tagger = pycrfsuite.Tagger()
        try:
            self._tagger.open_inmemory(model)
        except (ValueError, OSError) as err:
            raise BundleError(
                f"{source}: not a crfsuite model file ({err}); re-export the model with `xdd train`"
            ) from err

    @classmethod
    def load(cls, path: str | Path) -> CRFTagger:
        """Open a crfsuite model file (as written by sklearn-crfsuite or :meth:`save`)."""
        try:
            model = Path(path).read_bytes()
        except OSError as err:
            raise BundleError(f"{path}: cannot read the CRF model: {err.strerror}") from err
        return cls(model, source=str(path))

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.model)

    @property
    def tags(self) -> list[str]:
        """The tags the model knows (those seen in training)."""
        return list(self._tagger.labels())

    def tag(self, forms: list[str]) -> tuple[list[str], list[float]]:
        """The Viterbi tag of each word and its marginal probability (the word's score)."""
        if not forms:
            return [], []
        self._tagger.set(pycrfsuite.ItemSequence(word_features(forms)))
        tags = list(self._tagger.tag())
        scores = [self._tagger.marginal(tag, i) for i, tag in enumerate(tags)]
        return tags, scores
