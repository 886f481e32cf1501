"""Text copied from web pages: invisible characters inside words, emoji next to them.

Zero-width spaces, soft hyphens and their kin inside a name must not cut it
(normalisation removes them), and emoji must never join a word or an entity
(normalisation reads them as spaces); every offset stays on the user's text.
Realistic text: the gold paragraphs that name people (data/annotations).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import cycle

import pytest
from support import REPO
from xdd.models.document import Document, Entity, Paragraph, paragraph_spans
from xdd.models.document.corpus import read_documents
from xdd.models.predict.predictor import Predictor
from xdd.models.text.align import Word
from xdd.models.text.pipeline import TextPipeline, TextSettings
from xdd.models.text.segment import SEGMENTERS

GOLD = REPO / "data" / "annotations"
INVISIBLE = ("\u200b", "\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff")
EMOJI = ("😀", "👍🏻", "❤\ufe0f", "🇻🇳", "★")
_SYLLABLE = re.compile(r"\w{2,}")


@dataclass(frozen=True)
class Variant:
    """``clean`` with characters inserted before the clean offsets ``at``; maps clean spans onto it."""

    clean: str
    text: str
    at: tuple[int, ...]

    def start(self, clean_start: int) -> int:
        """Where the character at ``clean_start`` went (insertions at that offset come before it)."""
        return clean_start + bisect_right(self.at, clean_start)

    def end(self, clean_end: int) -> int:
        """Where the span ending at ``clean_end`` ends now (insertions at that offset come after it)."""
        return clean_end + bisect_left(self.at, clean_end)


def insert(clean: str, at: list[int], chars: tuple[str, ...]) -> Variant:
    """``clean`` with ``chars`` (in turn, each repeated as needed) inserted before each offset of ``at``."""
    out, last, widths = [], 0, []
    for pos, char in zip(sorted(at), cycle(chars)):
        out += [clean[last:pos], char]
        widths += [pos] * len(char)  # a multi-character emoji shifts by its length
        last = pos
    return Variant(clean, "".join(out) + clean[last:], tuple(widths))


def name_paragraphs() -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Gold paragraphs naming a person, with their entities (offsets in the paragraph)."""
    if not any(GOLD.glob("*.jsonl")):
        pytest.skip("no gold corpus in data/annotations")
    found = []
    for doc in read_documents(GOLD):
        for a, b in [(p.start, p.end) for p in doc.paragraphs] or paragraph_spans(doc.text):
            inside = [(e.start - a, e.end - a, e.label) for e in doc.entities if a <= e.start and e.end <= b]
            if any(label == "PER" for _, _, label in inside) and b - a < 1200:
                found.append((doc.text[a:b], inside))
    return found[:6]


def inside_names(text: str, entities: list[tuple[int, int, str]]) -> list[int]:
    """An offset in the middle of every syllable of every PER, LOC and ORG entity."""
    return [m.start() + len(m.group()) // 2 for a, b, label in entities if label in ("PER", "LOC", "ORG")
            for m in _SYLLABLE.finditer(text, a, b)]  # fmt: skip


def after_names(text: str, entities: list[tuple[int, int, str]]) -> list[int]:
    """The end of every PER entity followed by a space: an emoji typed right after the name."""
    return [b for a, b, label in entities if label == "PER" and text[b : b + 1] == " "]


@pytest.fixture(scope="module")
def with_invisibles() -> list[Variant]:
    return [insert(text, inside_names(text, ents), INVISIBLE) for text, ents in name_paragraphs()]


@pytest.fixture(scope="module")
def with_emoji() -> list[Variant]:
    return [insert(text, after_names(text, ents), EMOJI) for text, ents in name_paragraphs()]


def moved(variant: Variant, words: list[Word]) -> list[Word]:
    """The clean text's words with their spans moved onto ``variant.text``."""
    return [Word(variant.start(w.start), variant.end(w.end), w.form) for w in words]


def test_the_samples_do_carry_the_characters(with_invisibles, with_emoji) -> None:
    assert len(with_invisibles) >= 3
    assert sum(v.text.count("\u200b") + v.text.count("\u00ad") for v in with_invisibles) >= 10
    assert sum(v.text.count("😀") for v in with_emoji) >= 1


@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_invisible_characters_inside_words_give_the_words_of_the_clean_text(segmenter, with_invisibles) -> None:
    pipeline = TextPipeline(TextSettings(segmenter=segmenter))
    for variant in with_invisibles:
        words = pipeline.words(variant.text)
        assert words == moved(variant, pipeline.words(variant.clean))
        inner = [k for k, c in enumerate(variant.text) if c in INVISIBLE]
        assert all(any(w.start < k < w.end for w in words) for k in inner)  # every one inside a word's span


@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_emoji_are_word_separators_never_part_of_a_word(segmenter, with_emoji) -> None:
    pipeline = TextPipeline(TextSettings(segmenter=segmenter))
    for variant in with_emoji:
        words = pipeline.words(variant.text)
        assert words == moved(variant, pipeline.words(variant.clean))
        assert not any(e in variant.text[w.start : w.end] for w in words for e in EMOJI)


def moved_document(doc: Document, variant: Variant) -> Document:
    """``doc`` on ``variant.text``: its gold entities and paragraphs moved with the text."""
    entities = [Entity(variant.start(e.start), variant.end(e.end), e.label) for e in doc.entities]
    paragraphs = [Paragraph(variant.start(p.start), variant.end(p.end), p.topics) for p in doc.paragraphs]
    return Document(doc.id, variant.text, entities, paragraphs)


def test_training_inputs_and_tags_are_those_of_the_clean_text(tiny_model_dir) -> None:
    """Windows, sub-words and IOB2 tags of a gold article do not change when its names carry invisibles."""
    name_paragraphs()  # skips without the gold corpus
    pipeline = TextPipeline.from_pretrained(tiny_model_dir)
    for doc in read_documents(GOLD)[:2]:
        variant = insert(doc.text, inside_names(doc.text, [(e.start, e.end, e.label) for e in doc.entities]), INVISIBLE)
        clean = pipeline.encode_document(doc, with_labels=True)
        dirty = pipeline.encode_document(moved_document(doc, variant), with_labels=True)
        assert dirty.word_tags == clean.word_tags
        assert dirty.words == [moved(variant, words) for words in clean.words]
        assert [w.input_ids for w in dirty.windows] == [w.input_ids for w in clean.windows]
        assert dirty.stats == clean.stats


def predicted(predictor: Predictor, variant: Variant) -> tuple[list[tuple], list[tuple]]:
    """(entities on the clean text moved onto the variant, entities on the variant) as (start, end, label, text)."""
    clean, dirty = predictor.predict([Document("clean", variant.clean), Document("dirty", variant.text)])
    expected = [(variant.start(e.start), variant.end(e.end), e.label, e.text) for e in clean.entities]
    return expected, [(e.start, e.end, e.label, e.text) for e in dirty.entities]


def visible(text: str) -> str:
    return "".join(c for c in text if c not in INVISIBLE)


def test_baselines_predict_the_same_entities_with_invisible_characters_inside_names(
    baseline_bundle_dir, with_invisibles
) -> None:
    predictor = Predictor.load(baseline_bundle_dir)
    people = 0
    for variant in with_invisibles:
        expected, got = predicted(predictor, variant)
        assert [(a, b, label) for a, b, label, _ in got] == [(a, b, label) for a, b, label, _ in expected]
        assert [visible(text) for *_, text in got] == [text for *_, text in expected]
        assert all(text == variant.text[a:b] for a, b, _, text in got)  # offsets on the user's text
        people += sum(label == "PER" and visible(text) != text for _, _, label, text in got)
    assert people >= 3  # names that carried invisible characters were found whole


def test_baselines_never_put_an_emoji_into_an_entity(baseline_bundle_dir, with_emoji) -> None:
    predictor = Predictor.load(baseline_bundle_dir)
    for variant in with_emoji:
        expected, got = predicted(predictor, variant)
        assert got == expected
        assert not any(e in text for *_, text in got for e in EMOJI)
