"""Segmenters and their alignment back to the text: models/text/segment.py."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdd.models.text.segment import (
    align_pieces,
    get_segmenter,
    segmenter_version,
    sentence_starts,
)

SENTENCE = "Ban Thường vụ Huyện ủy Cao Lộc ban hành Chỉ thị 10-CT/TW về công tác hòa giải."


def covered(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Positions of the non-space characters inside the spans, in order (with repeats if spans overlap)."""
    return [k for a, b in spans for k in range(a, b) if not text[k].isspace()]


def non_space(text: str) -> list[int]:
    return [k for k, c in enumerate(text) if not c.isspace()]


@pytest.mark.parametrize("name", ["underthesea", "pyvi", "none", "presegmented"])
def test_every_segmenter_puts_each_non_space_character_in_exactly_one_word(name: str) -> None:
    spans = get_segmenter(name)(SENTENCE)
    assert covered(SENTENCE, spans) == non_space(SENTENCE)
    assert all(not SENTENCE[a].isspace() and not SENTENCE[b - 1].isspace() for a, b in spans)


def test_underthesea_keeps_multi_syllable_words_whole() -> None:
    words = [SENTENCE[a:b] for a, b in get_segmenter("underthesea")(SENTENCE)]
    assert "Thường vụ" in words and "Huyện ủy" in words and "Cao Lộc" in words


def test_pyvi_words_join_syllables_with_spaces_of_the_original() -> None:
    words = [SENTENCE[a:b] for a, b in get_segmenter("pyvi")(SENTENCE)]
    assert "Thường vụ" in words and "ban hành" in words


def test_none_segmenter_gives_syllables_and_single_punctuation() -> None:
    text = "Chỉ thị 10-CT/TW."
    words = [text[a:b] for a, b in get_segmenter("none")(text)]
    assert words == ["Chỉ", "thị", "10", "-", "CT", "/", "TW", "."]


def test_presegmented_input_is_taken_as_is() -> None:
    text = "Ban_Thường_vụ  Huyện_ủy Cao_Lộc ,"
    assert [text[a:b] for a, b in get_segmenter("presegmented")(text)] == ["Ban_Thường_vụ", "Huyện_ủy", "Cao_Lộc", ","]


def test_alignment_follows_a_segmenter_that_moves_tone_marks_and_changes_case() -> None:
    text = "hoà  bình Uỷ ban"
    assert align_pieces(text, ["hòa bình", "ỦY BAN"]) == [(0, 9), (10, 16)]


def test_characters_a_segmenter_rewrote_join_the_word_they_touch() -> None:
    text = "kết nạp… “Đảng” năm"
    spans = align_pieces(text, ["kết nạp", "...", '"', "Đảng", '"', "năm"])
    assert [text[a:b] for a, b in spans] == ["kết nạp…", "“Đảng”", "năm"]
    assert covered(text, spans) == non_space(text)


def test_a_dropped_character_standing_alone_becomes_a_word_of_its_own() -> None:
    text = "Cao ☃ Lộc"
    assert [text[a:b] for a, b in align_pieces(text, ["Cao", "Lộc"])] == ["Cao", "☃", "Lộc"]


def test_pieces_that_match_nothing_leave_whitespace_words() -> None:
    assert align_pieces("ab cd", ["xyz"]) == [(0, 2), (3, 5)]


def test_sentence_starts_are_offsets_of_the_text() -> None:
    text = "Tin ngày 1.2.2020 ... Và thế! Hết"
    assert sentence_starts(text) == [0, text.index("Và"), text.index("Hết")]


def test_unknown_segmenter_is_rejected_naming_the_choices() -> None:
    expected = "unknown segmenter 'jieba'; expected one of underthesea, pyvi, none, presegmented"
    with pytest.raises(ValueError, match=expected):
        get_segmenter("jieba")
    with pytest.raises(ValueError, match="unknown segmenter 'jieba'"):
        segmenter_version("jieba")


def test_segmenter_version_names_the_installed_package() -> None:
    assert re.fullmatch(r"underthesea \d+\.\d+.*", segmenter_version("underthesea"))
    assert segmenter_version("none") == "none"


WORDS = st.lists(
    st.sampled_from(["Huyện", "ủy", "hoà", "…", "10-CT/TW", "“Đảng”", "Cao", "x"]), min_size=1, max_size=30
)


@given(WORDS, st.lists(st.tuples(st.integers(0, 60), st.sampled_from(["", "Z", "...", "ò"])), max_size=4),
       st.data())  # fmt: skip
def test_any_segmenter_output_aligns_to_a_partition_of_the_text(words, edits, data) -> None:
    text = " ".join(words)
    joined = list(text)
    for position, replacement in edits:  # a segmenter that drops, inserts and rewrites characters
        joined[min(position, len(joined) - 1)] = replacement
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(joined) - 1)), max_size=10)))
    pieces = ["".join(joined[a:b]) for a, b in zip([0, *cuts], [*cuts, len(joined)])]
    spans = align_pieces(text, pieces)
    assert covered(text, spans) == non_space(text)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
