"""Lexicon files, syllable matching (both tone conventions, NFD) and the vietnam_provinces gazetteer."""

from __future__ import annotations

import unicodedata

import pytest
from xdd.models.nets import gazetteer as gazetteer_module
from xdd.models.nets.gazetteer import (
    division_names,
    gazetteer,
    place_name,
)
from xdd.models.nets.lexicons import (
    LEXICON_DIR,
    LEXICONS,
    PhraseMatcher,
    is_capitalised,
    lexicon_matcher,
    lexicons_digest,
    read_lexicon,
    split_syllables,
    syllable_key,
    syllable_tags,
    word_tags,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize("name", LEXICONS)
def test_every_lexicon_file_says_where_it_comes_from_and_has_entries(name):
    first = (LEXICON_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# written from ") and "not from the corpus" in first
    entries = read_lexicon(name)
    assert entries and all(e == e.strip() and not e.startswith("#") for e in entries)
    assert all(unicodedata.is_normalized("NFC", e) for e in entries)


def test_an_unknown_lexicon_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown lexicon 'topics'; expected one of positions"):
        read_lexicon("topics")


def test_the_scheme_lexicons_hold_what_the_scheme_names():
    assert {"Bí thư", "Phó Bí thư", "Chủ tịch", "Trưởng ban", "Ủy viên", "Giám đốc", "Chánh án"} <= set(
        read_lexicon("positions")
    )
    assert {"Ban", "Đảng bộ", "Huyện ủy", "Tỉnh ủy", "Ủy ban", "Sở", "Mặt trận", "Công an"} <= set(
        read_lexicon("organisations")
    )
    assert {"Nghị quyết", "Chỉ thị", "Quyết định", "Kết luận", "Hướng dẫn", "Luật"} <= set(read_lexicon("documents"))
    assert set(read_lexicon("date_heads")) == {"ngày", "tháng", "năm", "quý", "nhiệm kỳ", "giai đoạn"}
    assert {"sáng", "chiều", "tối", "trưa", "đêm"} <= set(read_lexicon("times_of_day"))
    assert {"thứ Hai", "thứ Bảy", "Chủ nhật"} <= set(read_lexicon("weekdays"))
    assert {"đồng chí", "ông", "bà", "Thượng tá", "Đại tá"} <= set(read_lexicon("person_cues"))
    assert {"tỉnh", "thành phố", "xã", "phường", "thị trấn", "thôn", "tổ dân phố", "khu phố"} <= set(
        read_lexicon("units")
    )
    assert "nước" not in read_lexicon("units")


@pytest.mark.parametrize(
    "a, b",
    [
        ("Hóa", "hoá"),  # tone mark on the first or second vowel of oa
        ("Ủy", "uỷ"),
        ("khỏe", "KHOẺ"),
        ("Thụy", nfd("thuỵ")),  # decomposed input
        ("Đảng", nfd("đảng")),
    ],
)
def test_syllable_keys_ignore_case_composition_and_tone_placement(a, b):
    assert syllable_key(a) == syllable_key(b)


def test_syllable_keys_keep_the_tones_themselves():
    assert syllable_key("bà") != syllable_key("ba") and syllable_key("hoà") != syllable_key("hoa")


def test_syllables_split_segmented_words_and_punctuation():
    assert split_syllables("Phó_Bí_thư") == ["Phó", "Bí", "thư"]
    assert split_syllables("10-CT/TW") == ["10", "-", "CT", "/", "TW"]
    assert split_syllables(nfd("Thuỵ")) == [nfd("Thuỵ")]


def test_the_matcher_finds_the_longest_phrase_whatever_the_segmentation():
    matcher = PhraseMatcher(["Bí thư", "Phó Bí thư", "Ủy viên", "Ủy viên Ban Thường vụ"])
    for forms in (["Phó", "Bí_thư", "Tỉnh_ủy"], ["Phó_Bí_thư", "Tỉnh_ủy"], ["Phó", "Bí", "thư", "Tỉnh", "ủy"]):
        syllables = [s for f in forms for s in split_syllables(f)]
        assert matcher.matches(syllables) == [(0, 3)]
    syllables = split_syllables("Uỷ viên Ban Thường vụ , Uỷ viên")
    assert matcher.matches(syllables) == [(0, 5), (6, 8)]
    assert len(matcher) == 4


def test_the_matcher_matches_both_tone_conventions_and_nfd_input():
    matcher = PhraseMatcher(["Ủy ban", "Khánh Hòa"])
    assert matcher.matches(["UỶ", "BAN"]) == [(0, 2)]
    assert matcher.matches([nfd("khánh"), nfd("hoà")]) == [(0, 2)]


def test_the_matcher_can_be_restricted_to_some_syllables():
    matcher = PhraseMatcher(["Hòa Bình"])
    assert matcher.matches(["hòa", "bình"]) == [(0, 2)]
    assert matcher.matches(["hòa", "bình"], allowed=lambda s: s[:1].isupper()) == []


def test_syllable_and_word_tags():
    tags = syllable_tags(6, [(0, 3), (4, 5)])
    assert tags == ["B", "I", "E", "O", "S", "O"]
    assert word_tags([(0, 1), (1, 3), (3, 4), (4, 6)], tags) == ["B", "IE", "", "SO"]


def test_lexicon_matchers_and_the_digest_are_built_once():
    assert lexicon_matcher("positions") is lexicon_matcher("positions")
    assert len(lexicons_digest()) == 64


@pytest.mark.parametrize(
    "division, name",
    [
        ("Phường Hoàn Kiếm", "Hoàn Kiếm"),
        ("Xã Tân Liên", "Tân Liên"),
        ("Tỉnh Lạng Sơn", "Lạng Sơn"),
        ("Thành phố Hà Nội", "Hà Nội"),
        ("Tp Hồ Chí Minh", "Hồ Chí Minh"),
        ("Đặc khu Phú Quốc", "Phú Quốc"),
        ("Phường Móng Cái 1", "Móng Cái"),
        ("Phường 1 Bảo Lộc", "Bảo Lộc"),
        ("Phường 1", ""),
    ],
)
def test_place_names_lose_their_unit_prefix_and_numbers(division, name):
    assert place_name(division) == name


def test_the_gazetteer_is_read_from_vietnam_provinces_at_run_time():
    names = division_names()
    assert {"Lạng Sơn", "Cao Bằng", "Hà Nội", "Huế", "Cao Lộc"} <= set(names)
    assert len(names) > 2000 and all(names) and len(set(names)) == len(names)
    assert not any(n.startswith(("Xã ", "Phường ", "Tỉnh ", "Thành phố ")) for n in names)
    assert gazetteer() is gazetteer()  # loaded once per process
    assert not list(LEXICON_DIR.glob("*.json"))  # nothing of its data is kept in the repository


def match_places(syllables: list[str]) -> list[tuple[int, int]]:
    """Gazetteer names over capitalised syllables, as the CRF's ``gaz`` features look them up."""
    return gazetteer().matches(syllables, allowed=is_capitalised)


def test_gazetteer_names_match_on_syllables_in_both_tone_conventions_and_nfd():
    for text in ("về xã Cao Lộc , tỉnh Lạng Sơn", nfd("về xã Cao Lộc , tỉnh Lạng Sơn")):
        syllables = split_syllables(text)
        assert match_places(syllables) == [(2, 4), (6, 8)]
    assert match_places(["Thái", "Thuỵ"]) == match_places(["Thái", "Thụy"]) == [(0, 2)]
    assert match_places(["KHÁNH", "HOÀ"]) == [(0, 2)]
    assert match_places([s for form in ("Cao_Lộc", "chú_trọng") for s in split_syllables(form)]) == [(0, 2)]


def test_gazetteer_names_match_capitalised_syllables_only():
    assert match_places(split_syllables("hòa bình và an toàn")) == []
    assert match_places(split_syllables("Hòa Bình")) == [(0, 2)]


def test_the_gazetteer_is_cached(monkeypatch):
    gazetteer()
    monkeypatch.setattr(gazetteer_module, "division_names", lambda: pytest.fail("read again"))
    assert len(gazetteer()) > 2000
