"""Spans ↔ words ↔ tags ↔ sub-words ↔ windows: models/text/align.py, through the pipeline (property tests)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from xdd.models.document import Document, Entity
from xdd.models.document.labels import PARTY_BUILDING
from xdd.models.text.align import (
    IGNORE_INDEX,
    Window,
    Word,
    merge_window_logits,
    plan_windows,
    spans_to_tags,
    split_at_entity_boundaries,
    tag_chunks,
)
from xdd.models.text.pipeline import TextPipeline, TextSettings
from xdd.training.text_cli import read_back_entities

TAG_IDS = {tag: k for k, tag in enumerate(PARTY_BUILDING.bio_tags())}

# --- Vietnamese-like text --------------------------------------------------------------------

ONSETS = ["", "b", "c", "ch", "đ", "g", "gi", "h", "kh", "l", "m", "n", "ng", "nh", "ph", "qu", "t", "th", "tr", "x"]
NUCLEI = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "oa", "oe", "uy", "ươ", "iê", "uô"]
CODAS = ["", "", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o", "u"]
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
SYMBOLS = ["10-CT/TW", "(LSO)", "LSO-Năm", "“Đảng”", "…", ",", ".", "2020 – 2025", "23/01/2021", "x_y", "!"]


@st.composite
def syllables(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(SYMBOLS))
    nucleus = draw(st.sampled_from(NUCLEI))
    tone_at = draw(st.integers(0, len(nucleus) - 1))
    nucleus = nucleus[: tone_at + 1] + draw(st.sampled_from(TONES)) + nucleus[tone_at + 1 :]
    syllable = unicodedata.normalize("NFC", draw(st.sampled_from(ONSETS)) + nucleus + draw(st.sampled_from(CODAS)))
    return syllable.capitalize() if draw(st.booleans()) else syllable


@st.composite
def paragraphs(draw, max_words: int = 40) -> str:
    words = draw(st.lists(syllables(), min_size=1, max_size=max_words))
    gap = st.sampled_from([" ", " ", " ", "  ", "\u00a0", " \t"])
    gaps = draw(st.lists(gap, min_size=len(words), max_size=len(words)))
    return "".join(w + g for w, g in zip(words, gaps)).strip()


def cut_points(text: str, start: int, end: int) -> list[int]:
    """Offsets in [start, end] between two clusters with a non-space character on at least one side."""
    return [
        p for p in range(start, end + 1)
        if (p == len(text) or not unicodedata.combining(text[p]))
        and ((p < end and not text[p].isspace()) or (p > start and not text[p - 1].isspace()))
    ]  # fmt: skip


@st.composite
def documents(draw, max_paragraphs: int = 3, max_words: int = 40) -> Document:
    """A document of random paragraphs (NFC or NFD) with random non-overlapping entities, edges anywhere."""
    texts = draw(st.lists(paragraphs(max_words), min_size=1, max_size=max_paragraphs))
    text = draw(st.sampled_from(["\n", "\n\n"])).join(texts)
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    entities, start = [], 0
    for paragraph in text.split("\n"):
        points = cut_points(text, start, start + len(paragraph))
        chosen = sorted(draw(st.sets(st.sampled_from(points), max_size=8))) if points else []
        begin = None
        for p in chosen:
            if begin is None and p < len(text) and not text[p].isspace() and text[p] != "\n":
                begin = p
            elif begin is not None and not text[p - 1].isspace():
                entities.append(Entity(begin, p, draw(st.sampled_from(["PER", "ORG", "LOC"])), text[begin:p]))
                begin = None
        start += len(paragraph) + 1
    return Document("random", text, entities)


def assert_windows_are_sound(pipeline: TextPipeline, encoded) -> None:
    for p, words in enumerate(encoded.words):
        windows = encoded.paragraph_windows(p)
        owned = sorted(w for window in windows for w in range(window.owner_start, window.owner_end))
        assert owned == list(range(len(words)))
        for window in windows:
            assert len(window.input_ids) <= pipeline.settings.max_tokens
            assert len(window.input_ids) == len(window.word_ids) == len(window.first_subword)
            assert window.word_ids[0] == window.word_ids[-1] == -1


def assert_round_trip_is_exact(pipeline: TextPipeline, doc: Document) -> None:
    encoded = pipeline.encode_document(doc, with_labels=True)
    assert_windows_are_sound(pipeline, encoded)
    found = list(read_back_entities(pipeline, doc, encoded, TAG_IDS))
    assert sorted((e.start, e.end, e.label, e.text) for e in found) == sorted(
        (e.start, e.end, e.label, e.text) for e in doc.entities
    )


# --- the whole chain, through the pipeline ---------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    doc=documents(),
    segmenter=st.sampled_from(["underthesea", "pyvi", "none", "presegmented"]),
    tone=st.sampled_from(["old", "new", "none"]),
    max_tokens=st.sampled_from([4, 9, 24, 256]),
    overlap=st.sampled_from([0, 2, 16]),
)
def test_spans_survive_words_tags_subwords_windows_and_back_exactly(
    tiny_tokenizer, doc, segmenter, tone, max_tokens, overlap
) -> None:
    settings_ = TextSettings(tone=tone, segmenter=segmenter, max_tokens=max_tokens, overlap_words=overlap)
    assert_round_trip_is_exact(TextPipeline(settings_, tiny_tokenizer), doc)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(vocabulary=st.lists(syllables(), min_size=20, max_size=60, unique=True), rnd=st.randoms(), nfd=st.booleans())
def test_a_3000_word_paragraph_round_trips_exactly_in_windows_under_the_limit(tiny_tokenizer, vocabulary, rnd, nfd):
    text = " ".join(rnd.choice(vocabulary) for _ in range(3000))
    text = unicodedata.normalize("NFD", text) if nfd else text
    starts = [p for p in cut_points(text, 0, len(text)) if p < len(text) and not text[p].isspace()]
    entities, position = [], 0
    for begin in sorted(rnd.sample(starts, 80)):
        ends = [p for p in cut_points(text, begin + 1, min(len(text), begin + 80)) if not text[p - 1].isspace()]
        if begin >= position and ends:
            position = rnd.choice(ends)
            entities.append(Entity(begin, position, rnd.choice(["PER", "ORG"]), text[begin:position]))
    pipeline = TextPipeline(TextSettings(), tiny_tokenizer)
    encoded = pipeline.encode_document(Document("long", text), with_labels=False)
    assert len(encoded.windows) > 1
    assert_round_trip_is_exact(pipeline, Document("long", text, entities))


def test_decomposed_and_composed_text_give_the_same_words_pointing_at_their_own_characters(tiny_tokenizer) -> None:
    composed = "Ban Thường vụ Huyện ủy Cao Lộc chăm lo sức khỏe, thủy lợi hóa.\nỦy ban MTTQ tỉnh."
    decomposed = unicodedata.normalize("NFD", composed)
    pipeline = TextPipeline(TextSettings(), tiny_tokenizer)
    nfc, nfd = pipeline.encode_document(Document("c", composed)), pipeline.encode_document(Document("d", decomposed))
    assert [[w.form for w in ws] for ws in nfc.words] == [[w.form for w in ws] for ws in nfd.words]
    assert [w.input_ids for w in nfc.windows] == [w.input_ids for w in nfd.windows]
    for words_c, words_d in zip(nfc.words, nfd.words):
        for wc, wd in zip(words_c, words_d):
            assert unicodedata.normalize("NFD", composed[wc.start : wc.end]) == decomposed[wd.start : wd.end]
    assert "Huyện_uỷ" in [w.form for w in nfd.words[0]]


# --- the pieces ---------------------------------------------------------------------------------

TAGS = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]), max_size=30)


@given(TAGS)
def test_tag_chunks_read_iob2_like_seqeval(tags: list[str]) -> None:
    assert sorted((label, a, b - 1) for a, b, label in tag_chunks(tags)) == sorted(get_entities(tags))


def test_an_inside_tag_without_a_beginning_starts_a_new_entity() -> None:
    assert tag_chunks(["I-PER", "I-PER", "O", "I-ORG", "B-ORG", "I-PER"]) == [
        (0, 2, "PER"), (3, 4, "ORG"), (4, 5, "ORG"), (5, 6, "PER"),
    ]  # fmt: skip


def test_tag_chunks_reject_a_tag_that_is_not_iob2() -> None:
    with pytest.raises(ValueError, match="tag 1 is 'PER', not an IOB2 tag"):
        tag_chunks(["O", "PER"])


def words_of(text: str) -> list[Word]:
    words, pos = [], 0
    for form in text.split():
        start = text.index(form, pos)
        words.append(Word(start, start + len(form), form))
        pos = start + len(form)
    return words


def test_a_word_crossing_an_entity_edge_is_split_there_and_counted() -> None:
    text = "LSO-Năm 2017 là"
    entities = [Entity(0, 3, "ORG"), Entity(4, 12, "DATE")]
    form_of = lambda a, b: Word(a, b, text[a:b].strip("-") or "-")  # noqa: E731
    words, split = split_at_entity_boundaries(words_of(text), entities, form_of)
    assert split == 1
    assert [(w.start, w.end) for w in words] == [(0, 3), (3, 4), (4, 7), (8, 12), (13, 15)]
    assert spans_to_tags(words, entities) == ["B-ORG", "O", "B-DATE", "I-DATE", "O"]


def test_unsplit_word_overlapping_two_entities_goes_to_the_first() -> None:
    text = "LSO-Năm 2017"
    assert spans_to_tags(words_of(text), [Entity(0, 3, "ORG"), Entity(4, 12, "DATE")]) == ["B-ORG", "B-DATE"]


@given(
    counts=st.lists(st.integers(1, 12), min_size=1, max_size=80),
    cuts=st.sets(st.integers(1, 79), max_size=10),
    budget=st.integers(1, 30),
    overlap=st.integers(0, 6),
)
def test_windows_respect_the_budget_and_every_word_has_exactly_one_owner(counts, cuts, budget, overlap) -> None:
    edges = [0, *sorted(c for c in cuts if c < len(counts)), len(counts)]
    plans = plan_windows(counts, list(zip(edges, edges[1:])), budget, overlap)
    owned = sorted(w for p in plans for w in range(p.owner_start, p.owner_end))
    assert owned == list(range(len(counts)))
    for plan in plans:
        size = plan.subwords[1] - plan.subwords[0] if plan.subwords else sum(counts[plan.word_start : plan.word_end])
        assert size <= budget
        assert plan.word_start <= plan.owner_start <= plan.owner_end <= plan.word_end
    for k in range(len(counts)):  # every sub-word of every word is in some window
        pieces = [p.subwords or (0, counts[k]) for p in plans if p.word_start <= k < p.word_end]
        assert {i for a, b in pieces for i in range(a, b)} == set(range(counts[k]))


def test_whole_sentences_are_packed_while_they_fit() -> None:
    plans = plan_windows([1] * 10, [(0, 3), (3, 6), (6, 10)], budget=6, overlap=2)
    assert [(p.word_start, p.word_end) for p in plans] == [(0, 6), (6, 10)]


def test_a_sentence_longer_than_a_window_gets_overlapping_windows_owned_by_the_middle() -> None:
    plans = plan_windows([1] * 10, [(0, 10)], budget=6, overlap=2)
    assert [(p.word_start, p.word_end, p.owner_start, p.owner_end) for p in plans] == [
        (0, 6, 0, 5), (4, 10, 5, 10),
    ]  # fmt: skip


def test_a_word_longer_than_a_window_is_cut_into_pieces_owned_by_the_first() -> None:
    plans = plan_windows([2, 7, 1], [(0, 3)], budget=3, overlap=1)
    cut = [p for p in plans if p.subwords is not None]
    assert [(p.subwords, p.owner_end - p.owner_start) for p in cut] == [((0, 3), 1), ((3, 6), 0), ((6, 7), 0)]


def window(word_ids: list[int], first: list[bool], owner: tuple[int, int]) -> Window:
    return Window(0, 0, 0, [0] * len(word_ids), word_ids, first, *owner)


def test_merged_logits_take_each_words_first_subword_from_its_owner() -> None:
    a = window([-1, 0, 0, 1, -1], [False, True, False, True, False], (0, 1))
    b = window([-1, 1, 2, -1], [False, True, True, False], (1, 3))
    logits_a = np.arange(10, dtype=float).reshape(5, 2)
    logits_b = 100 + np.arange(8, dtype=float).reshape(4, 2)
    merged = merge_window_logits([a, b], [logits_a, logits_b], 3)
    assert merged.tolist() == [[2, 3], [102, 103], [104, 105]]


def test_merging_reports_words_no_window_owns() -> None:
    a = window([-1, 0, 1, -1], [False, True, True, False], (0, 1))
    with pytest.raises(ValueError, match=r"no window owns word\(s\) \[1\] of 2"):
        merge_window_logits([a], [np.zeros((4, 3))], 2)


def test_merging_needs_one_logit_array_per_window() -> None:
    with pytest.raises(ValueError, match="2 windows but 1 logit arrays"):
        merge_window_logits([window([-1], [False], (0, 0))] * 2, [np.zeros((1, 3))], 0)


def test_training_labels_mark_first_subwords_and_ignore_the_rest(tiny_tokenizer) -> None:
    text = "Ban Thường vụ Huyện ủy Cao Lộc họp."
    doc = Document("d", text, [Entity(0, 30, "ORG", text[:30])])
    encoded = TextPipeline(TextSettings(), tiny_tokenizer).encode_document(doc, with_labels=True)
    (only,) = encoded.windows
    labels = encoded.token_labels(only, TAG_IDS)
    assert labels[0] == labels[-1] == IGNORE_INDEX
    firsts = [label for label, first in zip(labels, only.first_subword) if first]
    assert [PARTY_BUILDING.bio_tags()[k] for k in firsts] == encoded.word_tags[0]
    assert all(label == IGNORE_INDEX for label, first in zip(labels, only.first_subword) if not first)


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)
