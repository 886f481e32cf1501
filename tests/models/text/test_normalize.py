"""Normalisation with an offset map: models/text/normalize.py."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdd.models.text.normalize import drop_invisible, normalize, strip_marks

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


def test_whitespace_becomes_one_space_each_keeping_the_map_one_for_one() -> None:
    norm = normalize("Cao\u00a0Lộc\tLạng\u2003Sơn\n", "none")
    assert norm.text == "Cao Lộc Lạng Sơn "
    assert list(norm.starts) == list(range(len(norm.text)))


# --- invisible characters and symbols ----------------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u200e", "\ufe0f"]


def _visible(text: str) -> str:
    """``text`` as the reader sees it: without the invisible characters."""
    return "".join(c for c in text if c not in INVISIBLE)


@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_inside_a_word_is_removed_not_made_a_space(char: str) -> None:
    original = f"Ngu{char}yễn Thị"
    norm = normalize(original, "none")
    assert norm.text == "Nguyễn Thị"
    assert norm.to_original(0, 6) == (0, 7)  # the word covers the invisible character
    assert original[slice(*norm.to_original(0, 3))] == "Ngu"
    assert original[slice(*norm.to_original(3, 6))] == "yễn"  # starts after it
    assert norm.to_original(7, 10) == (8, 11)


def test_invisible_characters_between_syllables_or_at_the_edges_belong_to_no_span() -> None:
    original = "\ufeffNguyễn\u200bThị \u200bMai\u00ad"
    norm = normalize(original, "none")
    assert norm.text == "NguyễnThị Mai"
    assert norm.to_original(0, 9) == (1, 11)  # interior zero-width space included, BOM not
    assert original[slice(*norm.to_original(0, 6))] == "Nguyễn"
    assert original[slice(*norm.to_original(6, 9))] == "Thị"
    assert original[slice(*norm.to_original(10, 13))] == "Mai"  # neither the leading ZWSP nor the soft hyphen
    assert original[slice(*norm.to_original(0, 13))] == "Nguyễn\u200bThị \u200bMai"


def test_a_mark_cut_from_its_letter_by_an_invisible_character_still_composes() -> None:
    original = "Huye\u0302\u00ad\u0323n u\u200b\u0309y"
    norm = normalize(original, "old")
    assert norm.text == "Huyện uỷ"
    assert norm.to_original(0, 5) == (0, 8)
    assert norm.to_original(6, 8) == (9, 13)


def test_drop_invisible_keeps_the_original_offset_of_every_character_left() -> None:
    assert drop_invisible("Cao Lộc") == ("Cao Lộc", None)
    assert drop_invisible("\u200bCa\u00ado\ufeff") == ("Cao", [1, 2, 4])


def test_text_of_invisible_characters_only_normalises_to_nothing() -> None:
    norm = normalize("\u200b\ufeff\u00ad", "old")
    assert (norm.text, list(norm.starts), list(norm.ends)) == ("", [], [])


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Oanh😀 phát biểu", "Oanh  phát biểu"),
        ("Lạng Sơn🇻🇳.", "Lạng Sơn  ."),
        ("chị 👍🏻Hoa", "chị   Hoa"),
        ("gia đình👨\u200d👩\u200d👧 anh Nam", "gia đình    anh Nam"),
        ("❤\ufe0f Cao Lộc ★ © 2021, 25°C ☃", "  Cao Lộc     2021, 25 C  "),
        ("x^2 `a` +1 | 100$", "x^2 `a` +1 | 100$"),
    ],
)
def test_symbols_and_emoji_become_spaces_and_ascii_symbols_stay(original: str, expected: str) -> None:
    norm = normalize(original, "none")
    assert norm.text == expected
    assert [original[a:b] for a, b in zip(norm.starts, norm.ends)] == list(_visible(original))  # one for one


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


WEB_CHARS = st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĐOUY _-.,\u00a0\t😀★") + INVISIBLE + [
    "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "ó", "ủ", "ỷ", "ễ", "🏻",
])  # fmt: skip


@given(st.text(WEB_CHARS, max_size=60), st.sampled_from(["old", "new", "none"]))
def test_invisible_characters_change_nothing_but_the_offsets(text: str, tone: str) -> None:
    norm = normalize(text, tone)
    assert norm.text == normalize(_visible(text), tone).text
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    assert list(norm.starts) == sorted(norm.starts) and list(norm.ends) == sorted(norm.ends)
    spans = list(zip(norm.starts, norm.ends))
    assert all(b <= c or (a, b) == (c, d) for (a, b), (c, d) in zip(spans, spans[1:]))  # disjoint or one cluster
    assert all(text[a] not in INVISIBLE and text[b - 1] not in INVISIBLE for a, b in zip(norm.starts, norm.ends))
