"""Normalisation with an offset map: models/normalize.py."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.normalize import normalize, strip_marks

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

VIETNAMESE_CHARS = st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĐOUY _-.,\u00a0\t\u200b") + [
    "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b", "ó", "ủ", "ỷ", "ễ", "ộ",
])  # fmt: skip


@pytest.mark.parametrize(
    ("written", "old", "new"),
    [
        ("hóa", "hoá", "hóa"),
        ("khỏe", "khoẻ", "khỏe"),
        ("Ủy ban", "Uỷ ban", "Ủy ban"),
        ("thủy", "thuỷ", "thủy"),
        ("HÓA", "HOÁ", "HÓA"),
        ("Hòa Thành", "Hoà Thành", "Hòa Thành"),
        ("tùy", "tuỳ", "tùy"),
        ("hoá", "hoá", "hóa"),
        ("Uỷ", "Uỷ", "Ủy"),
    ],
)
def test_tone_conventions_place_the_mark_of_open_oa_oe_uy_syllables(written: str, old: str, new: str) -> None:
    assert normalize(written, "old").text == old
    assert normalize(written, "new").text == new
    assert normalize(written, "none").text == written


@pytest.mark.parametrize("word", ["hoàn", "khuyến", "quý", "Quỳnh", "thuở", "của", "ngoài", "khuỷu", "hoặc", "Huyện"])
def test_syllables_written_alike_in_both_conventions_never_change(word: str) -> None:
    assert normalize(word, "old").text == word
    assert normalize(word, "new").text == word


def test_decomposed_and_composed_input_normalise_to_the_same_text() -> None:
    text = "Ban Thường vụ Huyện ủy hóa Ủy ban"
    assert normalize(NFD(text), "old").text == normalize(text, "old").text == "Ban Thường vụ Huyện uỷ hoá Uỷ ban"


def test_offsets_of_decomposed_input_cover_whole_clusters() -> None:
    original = NFD("Huyện ủy")
    norm = normalize(original, "old")
    assert norm.text == "Huyện uỷ"
    start, end = norm.to_original(6, 8)
    assert original[start:end] == NFD("ủy")
    assert norm.to_original(0, 5) == (0, len(NFD("Huyện")))


def test_whitespace_and_invisible_characters_become_one_space_each() -> None:
    norm = normalize("Cao\u00a0Lộc\tLạng\u200bSơn\ufeff", "none")
    assert norm.text == "Cao Lộc Lạng Sơn "
    assert list(norm.starts) == list(range(len(norm.text)))


def test_unknown_tone_convention_is_rejected_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown tone convention 'modern'; expected one of old, new, none"):
        normalize("hóa", "modern")


def test_strip_marks_compares_letters_without_diacritics_case_or_width() -> None:
    assert strip_marks("Ủ") == strip_marks("u") == "u"
    assert strip_marks("Đ") == "đ"
    assert strip_marks("２") == "2"


@given(st.text(VIETNAMESE_CHARS, max_size=60), st.sampled_from(["old", "new", "none"]))
def test_offset_map_is_monotone_and_decomposed_input_gives_the_same_text(text: str, tone: str) -> None:
    norm = normalize(text, tone)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    assert all(a < b for a, b in zip(norm.starts, norm.ends))
    assert list(norm.starts) == sorted(norm.starts)
    assert all(b <= len(text) for b in norm.ends)
    assert normalize(NFD(text), tone).text == normalize(unicodedata.normalize("NFC", text), tone).text
