"""The inference side of the CRF baseline: word features and a crfsuite tagger.

Words are the text pipeline's segmented, normalised forms (syllables joined by
``_``, e.g. ``Huyện_ủy``).  Features come in named groups; the groups a model
was trained with are saved with it (``baseline.json``, ``ner.features``) and
:class:`CRFTagger` computes exactly those at inference:

``base`` (the original features, the default of models saved without a list)
    the usual recipe for Vietnamese NER with CRFs: the word and its
    syllables, lower-cased; casing, which carries most of the signal for names
    (``Nguyễn_Thị_Mai`` is title case, ``Ban_Thường_vụ`` has an initial
    capital only); a character shape (``d/d/d`` for dates, ``d-X/X`` for
    document codes); the first and last syllable as prefix and suffix; digit
    and punctuation flags; and the same for two words either side.
``syllables``
    the casing of each syllable (``TTl`` for ``Ban_Thường_vụ``) and the two
    syllables across each word boundary (``tỉnh|uỷ`` for ``BTV_Tỉnh`` +
    ``uỷ``), so that a segmentation error does not hide a name.
``shape``
    patterns over the paragraph's words, whatever the segmenter cut:
    dates (``23/1``, ``23/01/2021``, ``30-3-2007``, ``12-2008``), years,
    terms (``2020 – 2025``), clock times, document codes (``10-CT/TW``,
    ``09-HD/BTCTW``), abbreviations (``TP.HCM``, all-caps words), Roman
    numerals, percentages, ``GMT+7``; and the number of digits of a number.
    Each pattern gives the words it covers a ``B``/``I``/``E``/``S`` tag.
``gazetteer``
    Vietnamese place names (:mod:`xdd.models.nets.gazetteer`, from
    ``vietnam_provinces``), countries, and the administrative unit words
    (``xã``, ``phường``, ``tỉnh``, ``thôn`` ...), matched on syllables
    (:mod:`xdd.models.nets.lexicons`), for the word and its neighbours
    ("previous word is a unit word").
``lexicons``
    the party-building scheme's lexicons: position heads, organisation
    heads, document types, date head words, times of day, weekdays, person
    cues (honorifics, ranks), family names; the same syllable matching, with
    whether the match starts with a capital.

``base``, ``syllables``, ``shape`` and ``gazetteer`` are generic (any label
set: a CoNLL import trains with them); ``lexicons`` follows the
party-building labels (:func:`default_feature_groups`).

The model is crfsuite's own binary file, opened from memory: no pickle.
Training lives in :mod:`xdd.training.baselines`; both sides call
:func:`word_features`, so features cannot drift between them.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycrfsuite
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.errors import BundleError
from xdd.models.nets.gazetteer import gazetteer, gazetteer_version
from xdd.models.nets.lexicons import (
    SCHEME_LEXICONS,
    is_capitalised,
    lexicon_matcher,
    lexicons_digest,
    split_syllables,
    syllable_key,
    syllable_tags,
    word_tags,
)

Features = dict[str, str | bool | list[str]]

# Features of a neighbour that are copied into a word's own feature dict.
NEIGHBOUR_KEYS = ("lower", "casing", "shape", "first", "last", "punct")
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)

FEATURE_GROUPS = ("base", "syllables", "shape", "gazetteer", "lexicons")
GENERIC_GROUPS = ("base", "syllables", "shape", "gazetteer")
ORIGINAL_GROUPS = ("base",)


def default_feature_groups(scheme: LabelScheme) -> tuple[str, ...]:
    """Every group for the party-building labels; the generic groups for a corpus with its own labels."""
    return FEATURE_GROUPS if tuple(scheme.entities) == PARTY_BUILDING.entities else GENERIC_GROUPS


def check_feature_groups(groups: Sequence[str], source: str = "CRF features") -> tuple[str, ...]:
    """``groups`` as a tuple in canonical order; ``base`` is required, an unknown group is an error."""
    unknown = sorted(set(groups) - set(FEATURE_GROUPS))
    if unknown:
        raise BundleError(f"{source}: unknown feature group(s) {unknown}; this xdd knows {list(FEATURE_GROUPS)}")
    if "base" not in groups:
        raise BundleError(f"{source}: the feature groups {list(groups)} lack 'base'")
    return tuple(g for g in FEATURE_GROUPS if g in groups)


def feature_resources(groups: Sequence[str]) -> dict[str, str]:
    """The data the groups read (lexicon digest, gazetteer version), recorded with a model."""
    resources = {}
    if "gazetteer" in groups or "lexicons" in groups:
        resources["lexicons_sha256"] = lexicons_digest()
    if "gazetteer" in groups:
        resources["gazetteer"] = gazetteer_version()
    return resources


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


@lru_cache(maxsize=1 << 16)
def _own_features(form: str) -> Features:
    """The word's own base features (cached per form: callers copy, never change, the dict)."""
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


def _base_features(forms: list[str]) -> list[Features]:
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


def word_features(forms: list[str], groups: Sequence[str] = ORIGINAL_GROUPS) -> list[Features]:
    """crfsuite feature dicts for a sequence of word forms (one dict per word), from the feature ``groups``.

    String values become ``key=value`` indicator features; ``syl`` lists the
    syllable indicators; flags are present only when true.  With the default
    ``groups`` (``base`` only) these are exactly the original features.
    """
    sequence = _base_features(forms)
    if len(groups) == 1 or not forms:
        return sequence
    words = _Syllables(forms)
    extra: list[Features] = [{} for _ in forms]
    if "syllables" in groups:
        _add_syllable_features(words, extra)
    if "shape" in groups:
        _add_shape_features(forms, extra)
    if "gazetteer" in groups:
        keys, capitals = words.keys(), words.capitals()
        _add_matches(words, extra, "gaz", gazetteer().matches_keys(keys, capitals), cased=False)
        _add_matches(words, extra, "units", lexicon_matcher("units").matches_keys(keys), cased=True)
        _add_matches(words, extra, "countries", lexicon_matcher("countries").matches_keys(keys, capitals), cased=False)
    if "lexicons" in groups:
        keys, capitals = words.keys(), words.capitals()
        for name in SCHEME_LEXICONS:
            mask = capitals if name == "surnames" else None  # family names are capitalised
            _add_matches(words, extra, f"lx_{name}", lexicon_matcher(name).matches_keys(keys, mask), cased=True)
    for i, item in enumerate(sequence):
        item.update(extra[i])
        for offset in (-1, 1):
            j = i + offset
            if 0 <= j < len(extra):
                for key, value in extra[j].items():
                    if not key.startswith("x"):  # boundary bigrams are already about the neighbour
                        item[f"{offset:+d}:{key}"] = value
    return sequence


class _Syllables:
    """The syllables of a word sequence and, per word, its range of syllables (keys computed once, on demand)."""

    __slots__ = ("_capitals", "_keys", "_word_of", "owners", "syllables")

    def __init__(self, forms: Sequence[str]) -> None:
        self.syllables: list[str] = []
        self.owners: list[tuple[int, int]] = []
        for form in forms:
            first = len(self.syllables)
            self.syllables.extend(split_syllables(form))
            self.owners.append((first, len(self.syllables)))
        self._keys: list[str] | None = None
        self._capitals: list[bool] | None = None
        self._word_of: list[int] | None = None

    def word_of(self) -> list[int]:
        """The index of the word each syllable belongs to."""
        if self._word_of is None:
            self._word_of = [i for i, (first, last) in enumerate(self.owners) for _ in range(first, last)]
        return self._word_of

    def keys(self) -> list[str]:
        if self._keys is None:
            self._keys = [syllable_key(s) for s in self.syllables]
        return self._keys

    def capitals(self) -> list[bool]:
        if self._capitals is None:
            self._capitals = [is_capitalised(s) for s in self.syllables]
        return self._capitals


def _syllable_case(syllable: str) -> str:
    if syllable.isdigit():
        return "d"
    if not syllable.isalnum():
        return "p"
    if syllable.isupper():
        return "U" if len(syllable) > 1 else "T"
    if syllable.islower():
        return "l"
    return "T" if syllable[0].isupper() and syllable[1:].islower() else "m"


def _add_syllable_features(words: _Syllables, extra: list[Features]) -> None:
    syllables, keys = words.syllables, words.keys()
    for i, (first, last) in enumerate(words.owners):
        if first == last:
            continue
        cases = "".join(_syllable_case(s) for s in syllables[first:last])
        extra[i]["syc"] = cases if len(cases) <= 4 else cases[:2] + "…" + cases[-2:]
        if first > 0:
            extra[i]["x-1|0"] = f"{keys[first - 1]}|{keys[first]}"
        if last < len(syllables):
            extra[i]["x0|+1"] = f"{keys[last - 1]}|{keys[last]}"


# Patterns over the words of a paragraph joined by single spaces (``_`` read as a space), so that they
# match however the segmenter cut the text ("10-CT/TW" or "10 - CT / TW").
_D = r"(?<![\w./:,–-])"  # not inside a longer number or code
_E = r"(?![\w/:–-]|[.,]\d)"
SHAPE_PATTERNS: dict[str, re.Pattern[str]] = {
    "date_dmy": re.compile(rf"{_D}(?:0?[1-9]|[12]\d|3[01]) ?([/.-]) ?(?:0?[1-9]|1[0-2]) ?\1 ?(?:1[89]|20)\d\d{_E}"),
    "date_dm": re.compile(rf"{_D}(?:0?[1-9]|[12]\d|3[01]) ?[/-] ?(?:0?[1-9]|1[0-2]){_E}"),
    "date_my": re.compile(rf"{_D}(?:0?[1-9]|1[0-2]) ?[/-] ?(?:1[89]|20)\d\d{_E}"),
    "fraction": re.compile(rf"{_D}\d+ ?/ ?\d+{_E}"),
    "year": re.compile(rf"{_D}(?:1[89]|20)\d\d{_E}"),
    "term": re.compile(rf"{_D}(?:1[89]|20)\d\d ?[-–—] ?(?:1[89]|20)\d\d{_E}"),
    "clock": re.compile(rf"{_D}(?:[01]?\d|2[0-3]) ?(?::|h|giờ) ?[0-5]\d{_E}"),
    "code": re.compile(rf"{_D}\d+[a-z]? ?[-–] ?[A-ZĐ][A-ZĐa-z]{{0,6}}(?: ?[/-] ?[A-ZĐ][A-ZĐa-z]{{0,9}})+{_E}"),
    "code_year": re.compile(rf"{_D}\d+ ?/ ?(?:19|20)\d\d ?/ ?[A-ZĐ]+(?: ?[-/] ?[A-ZĐ]+)*{_E}"),
    "abbrev": re.compile(r"(?<![\w.])[A-ZĐ]{1,4} ?\. ?[A-ZĐ]{2,}(?![\w.])"),
    "roman": re.compile(r"(?<![\w-])(?=[IVX])(?:X{0,3})(?:IX|IV|V?I{0,3})(?![\w-])"),
    "percent": re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)? ?%"),
    "timezone": re.compile(r"\b(?:GMT|UTC) ?[+-] ?\d{1,2}\b"),
}


def _add_shape_features(forms: Sequence[str], extra: list[Features]) -> None:
    starts, pieces, at = [], [], 0
    for form in forms:
        starts.append(at)
        pieces.append(form.replace("_", " "))
        at += len(pieces[-1]) + 1
    surface = " ".join(pieces)
    ends = [s + len(p) for s, p in zip(starts, pieces)]
    for name, pattern in SHAPE_PATTERNS.items():
        for match in pattern.finditer(surface):
            if match.end() == match.start():
                continue
            # the words overlapping the match: from the last starting at or before it to the last starting inside it
            covered = range(bisect_right(starts, match.start()) - 1, bisect_left(starts, match.end()))
            for k, i in enumerate(covered):
                tag = "S" if len(covered) == 1 else "B" if k == 0 else "E" if k == len(covered) - 1 else "I"
                whole = starts[i] >= match.start() and ends[i] <= match.end()
                extra[i][f"pat_{name}"] = tag if whole else tag + "~"
    for i, form in enumerate(forms):
        if form.isdigit():
            extra[i]["n_digits"] = str(min(len(form), 5))
        letters = [c for c in form if c.isalpha()]
        if len(letters) >= 2 and all(c.isupper() for c in letters):
            extra[i]["acronym"] = True


def _add_matches(words: _Syllables, extra: list[Features], key: str, matches: list[tuple[int, int]],
                 cased: bool) -> None:  # fmt: skip
    if not matches:
        return
    tags = syllable_tags(len(words.syllables), matches)
    word_of = words.word_of()
    touched = sorted({word_of[k] for start, end in matches for k in range(start, end)})
    for i, value in zip(touched, word_tags([words.owners[i] for i in touched], tags), strict=True):
        if value:
            if cased:
                value += "^" if is_capitalised(words.syllables[words.owners[i][0]]) else "_"
            extra[i][key] = value


class CRFTagger:
    """A trained crfsuite model tagging word sequences with IOB2 tags and per-word marginals.

    ``features`` are the feature groups it was trained with (``("base",)``,
    the original features, for models saved without a list); ``resources``
    the lexicon digest and gazetteer version recorded at training, checked
    against the installed ones (a warning when they differ).
    """

    def __init__(
        self,
        model: bytes,
        source: str = "<memory>",
        features: Sequence[str] = ORIGINAL_GROUPS,
        resources: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.features = check_feature_groups(features, source)
        if resources is not None and not (
            isinstance(resources, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in resources.items())
        ):
            raise BundleError(f"{source}: CRF feature resources must map names to strings, got {resources!r}")
        self.resources = dict(resources) if resources is not None else feature_resources(self.features)
        installed = feature_resources(self.features)
        changed = sorted(k for k in set(installed) | set(self.resources) if installed.get(k) != self.resources.get(k))
        if changed:
            warnings.warn(
                f"{source}: the CRF was trained with {', '.join(f'{k}={self.resources.get(k)}' for k in changed)} "
                f"but {', '.join(f'{k}={installed.get(k)}' for k in changed)} is installed; its features may differ "
                "from training",
                stacklevel=2,
            )
        self._tagger = pycrfsuite.Tagger()
        try:
            self._tagger.open_inmemory(model)
        except (ValueError, OSError) as err:
            raise BundleError(
                f"{source}: not a crfsuite model file ({err}); re-export the model with `xdd train`"
            ) from err

    @classmethod
    def load(
        cls, path: str | Path, features: Sequence[str] = ORIGINAL_GROUPS, resources: dict[str, str] | None = None
    ) -> CRFTagger:
        """Open a crfsuite model file (as written by sklearn-crfsuite or :meth:`save`)."""
        try:
            model = Path(path).read_bytes()
        except OSError as err:
            raise BundleError(f"{path}: cannot read the CRF model: {err.strerror}") from err
        return cls(model, source=str(path), features=features, resources=resources)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.model)

    def description(self) -> dict[str, Any]:
        """The feature settings to save beside the model file (``baseline.json``'s ``ner`` block)."""
        return {"features": list(self.features), "resources": dict(sorted(self.resources.items()))}

    @property
    def tags(self) -> list[str]:
        """The tags the model knows (those seen in training)."""
        return list(self._tagger.labels())

    def tag(self, forms: list[str]) -> tuple[list[str], list[float]]:
        """The Viterbi tag of each word and its marginal probability (the word's score)."""
        if not forms:
            return [], []
        self._tagger.set(pycrfsuite.ItemSequence(word_features(forms, self.features)))
        tags = list(self._tagger.tag())
        scores = [self._tagger.marginal(tag, i) for i, tag in enumerate(tags)]
        return tags, scores
