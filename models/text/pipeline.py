"""The text pipeline: original text → model inputs, and predictions → spans on the original text.

::

    text ─normalize─► NFC, invisible characters dropped, spaces and symbols as separators,
                      tone convention (offset map kept)
         ─segment──► words with spans on the ORIGINAL text, forms like "Huyện_uỷ"
         ─(training) split words at entity boundaries, IOB2 word tags
         ─tokenize─► sub-word ids per word (cached per distinct form)
         ─window───► <s> … </s> inputs of at most ``max_tokens`` tokens

and back: word tags (read from the windows that own the words) → entities
with offsets on the original text.  :class:`TextSettings` is saved with every
model, so inference normalises and segments exactly as training did.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Sequence

from xdd.models.text.align import (
    IGNORE_INDEX,
    Window,
    Word,
    build_window,
    merge_window_logits,
    plan_windows,
    spans_to_tags,
    split_at_entity_boundaries,
    token_labels,
)
from xdd.models.document import Document, Entity, paragraph_spans
from xdd.models.checks import is_int, read_json
from xdd.models.errors import BackboneUnavailable, ConfigError
from xdd.models.text.normalize import TONE_CONVENTIONS, Normalized, normalize
from xdd.models.text.segment import SEGMENTERS, get_segmenter, segmenter_version, sentence_starts

__all__ = [
    "IGNORE_INDEX",
    "TEXT_SETTINGS_FILE",
    "EncodedDocument",
    "TextPipeline",
    "TextSettings",
    "Window",
    "Word",
    "merge_window_logits",
    "spans_to_tags",
]

TEXT_SETTINGS_FILE = "text_settings.json"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TextSettings:
    """How text is prepared for a backbone; saved with every model.

    ``tone``: tone-mark convention of the backbone's vocabulary ("old":
    PhoBERT's ``hoá``/``Uỷ``; "new": ``hóa``/``Ủy``; "none": as written).
    ``segmenter``: "underthesea", "pyvi", "none" (syllables, for XLM-R-like
    backbones) or "presegmented" (input already has ``_``-joined words).
    ``max_tokens``: window length including the two special tokens.
    ``overlap_words``: words shared by consecutive windows of a sentence too
    long for one window.  ``segmenter_version``: the segmenter package that
    produced the training data, filled by :meth:`for_saving`.
    """

    tone: str = "old"
    segmenter: str = "underthesea"
    max_tokens: int = 256
    overlap_words: int = 16
    segmenter_version: str | None = None

    def __post_init__(self) -> None:
        checks = {
            "tone": (self.tone in TONE_CONVENTIONS, f"one of {', '.join(TONE_CONVENTIONS)}"),
            "segmenter": (self.segmenter in SEGMENTERS, f"one of {', '.join(SEGMENTERS)}"),
            "max_tokens": (is_int(self.max_tokens) and self.max_tokens >= 3, "an integer >= 3"),
            "overlap_words": (is_int(self.overlap_words) and self.overlap_words >= 0, "an integer >= 0"),
            "segmenter_version": (self.segmenter_version is None or isinstance(self.segmenter_version, str),
                                  "a string or null"),
        }  # fmt: skip
        for key, (ok, expected) in checks.items():
            if not ok:
                raise ConfigError(f"text settings: '{key}' is {getattr(self, key)!r}; expected {expected}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, source: str = "text settings") -> TextSettings:
        """Settings from a JSON object; unknown keys and bad values raise :class:`ConfigError` naming the key."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; allowed: {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except ConfigError as err:
            raise ConfigError(f"{source}: {str(err).removeprefix('text settings: ')}") from None

    def for_saving(self) -> TextSettings:
        """These settings with the installed segmenter's version recorded."""
        return replace(self, segmenter_version=segmenter_version(self.segmenter))

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / TEXT_SETTINGS_FILE
        path.write_text(json.dumps(self.for_saving().to_json(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> TextSettings:
        """The settings saved in a model folder; defaults for a folder without them (e.g. vinai/phobert-base)."""
        path = Path(folder) / TEXT_SETTINGS_FILE
        if not path.is_file():
            return cls()
        return cls.from_json(read_json(path, ConfigError, "text settings"), source=str(path))


@dataclass
class EncodedDocument:
    """A document prepared for the model, paragraph by paragraph.

    ``paragraphs[p]`` is the span of paragraph ``p``; ``words[p]`` its words;
    ``word_tags[p]`` their IOB2 tags (None when encoded without labels);
    ``windows`` the model inputs of all paragraphs, in order.
    """

    paragraphs: list[tuple[int, int]]
    words: list[list[Word]]
    windows: list[Window]
    word_tags: list[list[str]] | None
    split_words: int
    stats: dict[str, int] = field(default_factory=dict)

    def paragraph_windows(self, paragraph: int) -> list[Window]:
        return [w for w in self.windows if w.paragraph == paragraph]

    def token_labels(self, window: Window, tag_ids: dict[str, int]) -> list[int]:
        """Training labels of ``window``'s tokens (tag id at first sub-words, :data:`IGNORE_INDEX` elsewhere)."""
        if self.word_tags is None:
            raise ValueError("document was encoded without labels; use encode_document(doc, with_labels=True)")
        tags = self.word_tags[window.paragraph]
        try:
            ids = [tag_ids[tag] for tag in tags]
        except KeyError as err:
            raise ConfigError(f"tag {err.args[0]!r} is not in the label scheme {sorted(tag_ids)}") from None
        return token_labels(window, ids)


class TextPipeline:
    """Normalisation, segmentation, sub-word alignment and windows for one backbone.

    ``tokenizer`` is a ``PhobertTokenizer`` or any Hugging Face tokenizer; it
    may be None for word-level use (:meth:`words`, :meth:`labelled_words`).
    """

    def __init__(self, settings: TextSettings, tokenizer: Any = None) -> None:
        self.settings = settings
        self.tokenizer = tokenizer
        self._segment = get_segmenter(settings.segmenter)
        self._subword_cache: dict[str, tuple[int, ...]] = {}
        installed = segmenter_version(settings.segmenter)
        if settings.segmenter_version not in (None, installed):
            warnings.warn(
                f"the model was trained with {settings.segmenter_version} but {installed} is installed; "
                "segmentation may differ from training",
                stacklevel=2,
            )

    @classmethod
    def from_pretrained(cls, folder: str | Path, settings: TextSettings | None = None) -> TextPipeline:
        """The pipeline of a model folder: its saved settings (or ``settings``) and its tokenizer."""
        try:
            tokenizer = tokenizer_class(folder).from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as err:
            raise BackboneUnavailable(
                f"{folder}: cannot load a tokenizer ({err}); "
                "give a local model folder, e.g. one written by `xdd init-model`"
            ) from err
        return cls(settings or TextSettings.load(folder), tokenizer)

    def words(self, text: str, start: int = 0, end: int | None = None) -> list[Word]:
        """The words of ``text[start:end]``, with spans on ``text``."""
        end = len(text) if end is None else end
        return self._words(start, normalize(text[start:end], self.settings.tone))

    def labelled_words(
        self, text: str, start: int, end: int, entities: Sequence[Entity]
    ) -> tuple[list[Word], list[str], int]:
        """Words of ``text[start:end]`` split at ``entities``' boundaries, their IOB2 tags, and how many were split."""
        return self._labelled(text, self.words(text, start, end), entities)

    def encode_document(self, doc: Document, with_labels: bool = False) -> EncodedDocument:
        """Model inputs for every paragraph of ``doc`` (its gold paragraphs, else its non-empty lines)."""
        tokenizer = self._require_tokenizer()
        spans = [(p.start, p.end) for p in doc.paragraphs] or paragraph_spans(doc.text)
        encoded = EncodedDocument(spans, [], [], [] if with_labels else None, 0)
        placed = 0
        for index, (start, end) in enumerate(spans):
            norm = normalize(doc.text[start:end], self.settings.tone)
            words = self._words(start, norm)
            if encoded.word_tags is not None:
                inside = [e for e in doc.entities if start <= e.start and e.end <= end]
                placed += len(inside)
                words, tags, split = self._labelled(doc.text, words, inside)
                encoded.word_tags.append(tags)
                encoded.split_words += split
            encoded.words.append(words)
            sentences = [start + norm.starts[s] for s in sentence_starts(norm.text)]
            encoded.windows.extend(self._windows(index, words, sentences))
        encoded.stats = self._stats(encoded, tokenizer.unk_token_id)
        encoded.stats["entities_outside_paragraphs"] = len(doc.entities) - placed if with_labels else 0
        return encoded

    def subword_ids(self, form: str) -> tuple[int, ...]:
        """Sub-word ids of one word form (cached: the slow tokenizer runs once per distinct form)."""
        ids = self._subword_cache.get(form)
        if ids is None:
            tokenizer = self._require_tokenizer()
            ids = tuple(tokenizer.encode(form, add_special_tokens=False)) or (tokenizer.unk_token_id,)
            self._subword_cache[form] = ids
        return ids

    def _words(self, offset: int, norm: Normalized) -> list[Word]:
        return [_word(offset, norm, a, b) for a, b in self._segment(norm.text)]

    def _labelled(
        self, text: str, words: list[Word], entities: Sequence[Entity]
    ) -> tuple[list[Word], list[str], int]:
        words, split = split_at_entity_boundaries(words, entities, lambda a, b: self._trimmed_word(text, a, b))
        return words, spans_to_tags(words, entities), split

    def _trimmed_word(self, text: str, start: int, end: int) -> Word | None:
        """The word for a piece ``text[start:end]`` of a split word, trimmed of whitespace."""
        norm = normalize(text[start:end], self.settings.tone)
        stripped = norm.text.strip()
        if not stripped:
            return None
        lead = len(norm.text) - len(norm.text.lstrip())
        return _word(start, norm, lead, lead + len(stripped))

    def _windows(self, paragraph: int, words: list[Word], sentences_at: list[int]) -> list[Window]:
        """Windows of one paragraph's words; ``sentences_at``: sentence starts in the original text."""
        subwords = [self.subword_ids(w.form) for w in words]
        plans = plan_windows(
            [len(ids) for ids in subwords],
            _sentence_ranges(words, sentences_at),
            self.settings.max_tokens - 2,
            self.settings.overlap_words,
        )
        bos, eos = self._specials()
        return [build_window(paragraph, plan, subwords, bos, eos) for plan in plans]

    def _specials(self) -> tuple[int, int]:
        tokenizer = self._require_tokenizer()
        bos = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        eos = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        if bos is None or eos is None:
            raise ConfigError("the tokenizer has no <s>/</s> (cls/sep or bos/eos) tokens to frame windows with")
        return bos, eos

    def _require_tokenizer(self) -> Any:
        if self.tokenizer is None:
            raise ConfigError("this text pipeline has no tokenizer; build it with one to encode documents")
        return self.tokenizer

    def _stats(self, encoded: EncodedDocument, unk_id: int | None) -> dict[str, int]:
        counts = [len(self.subword_ids(w.form)) for words in encoded.words for w in words]
        return {
            "paragraphs": len(encoded.paragraphs),
            "words": len(counts),
            "subwords": sum(counts),
            "max_subwords_per_word": max(counts, default=0),
            "unk_subwords": sum(self.subword_ids(w.form).count(unk_id) for ws in encoded.words for w in ws),
            "windows": len(encoded.windows),
            "max_tokens": max((len(w.input_ids) for w in encoded.windows), default=0),
            "overlapping_windows": sum(w.owner_end - w.owner_start < w.word_end - w.word_start for w in encoded.windows
                                       if not w.cut),
            "cut_words": sum(1 for w in encoded.windows if w.cut and w.owner_end > w.owner_start),
            "split_words": encoded.split_words,
        }  # fmt: skip


def _word(offset: int, norm: Normalized, a: int, b: int) -> Word:
    """The word at normalised span ``[a, b)`` of a text that starts at ``offset`` in the original."""
    start, end = norm.to_original(a, b)
    return Word(offset + start, offset + end, _SPACES.sub("_", norm.text[a:b]))


def _sentence_ranges(words: Sequence[Word], starts: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive word ranges, a new one at the first word at or after each sentence start."""
    ranges: list[tuple[int, int]] = []
    pending = iter(sorted(starts))
    boundary = next(pending, None)
    for k, word in enumerate(words):
        if ranges and (boundary is None or word.start < boundary):
            ranges[-1] = (ranges[-1][0], k + 1)
        else:
            ranges.append((k, k + 1))
        while boundary is not None and word.start >= boundary:
            boundary = next(pending, None)
    return ranges


def tokenizer_class(folder: str | Path) -> Any:
    """The class ``AutoTokenizer`` would load ``folder`` with, imported without ``AutoTokenizer`` where possible.

    For PhoBERT's tokenizer (it has no fast version, so ``AutoTokenizer``
    picks ``PhobertTokenizer`` itself) the class is imported directly:
    importing ``AutoTokenizer`` pulls in the model-config machinery and with
    it PyTorch, 1.2 s more at the start of every predicting process (each
    worker, each Ray actor) where PyTorch is installed, even for an ONNX
    bundle.  Any other tokenizer, or an unreadable config, goes through
    ``AutoTokenizer``, which also gives the errors.
    """
    try:
        config = json.loads((Path(folder) / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    if isinstance(config, dict) and config.get("tokenizer_class") == "PhobertTokenizer":
        from transformers import PhobertTokenizer

        return PhobertTokenizer
    from transformers import AutoTokenizer

    return AutoTokenizer
