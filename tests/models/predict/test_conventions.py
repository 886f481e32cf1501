"""The scheme's boundary conventions applied after decoding (xdd.models.predict.conventions)."""

from __future__ import annotations

import random
import unicodedata

import pytest
from support import REPO
from xdd.models.document import Document, Entity, Paragraph, paragraph_spans
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING, LabelScheme
from xdd.models.predict.conventions import apply_conventions, conventions_apply_to

ROOT = REPO
GOLD = ROOT / "data" / "annotations"


def predicted(text: str, *spans: tuple[str, str]) -> Document:
    """A prediction over ``text``: entity ``(surface, label)`` pairs, each found after the one before."""
    entities, at = [], 0
    for surface, label in spans:
        start = text.index(surface, at)
        entities.append(Entity(start, start + len(surface), label, surface, 0.9))
        at = start + len(surface)
    return Document("d", text, entities, [Paragraph(s, e) for s, e in paragraph_spans(text)])


def spans(doc: Document) -> list[tuple[str, str]]:
    return [(doc.text[e.start : e.end], e.label) for e in doc.entities]


def check(doc: Document) -> Document:
    """Apply the conventions and check what must always hold: offsets, text, no overlaps, idempotence."""
    out = apply_conventions(doc)
    assert out.text == doc.text and out.id == doc.id and out.paragraphs == doc.paragraphs
    for entity in out.entities:
        assert 0 <= entity.start < entity.end <= len(out.text)
        assert entity.text == out.text[entity.start : entity.end]
        assert entity.text == entity.text.strip() and "\n" not in entity.text
    assert all(a.end <= b.start for a, b in zip(out.entities, out.entities[1:]))
    again = apply_conventions(out)
    assert [e.to_json() for e in again.entities] == [e.to_json() for e in out.entities]
    return out


# --- span edges --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("(LSO) – Thực hiện", ("(LSO)", "ORG"), ("LSO", "ORG")),
        ("theo Nghị quyết số 67, ngày", ("Nghị quyết số 67,", "DOCUMENT"), ("Nghị quyết số 67", "DOCUMENT")),
        ("Nghị quyết Trung ương 4 (khóa XII) về", ("Nghị quyết Trung ương 4 (khóa XII)", "DOCUMENT"),
         ("Nghị quyết Trung ương 4 (khóa XII)", "DOCUMENT")),
        ("về “Chỉ thị 05” của", ("“Chỉ thị 05”", "DOCUMENT"), ("Chỉ thị 05", "DOCUMENT")),
        ("Huyện ủy  họp", ("Huyện ủy  ", "ORG"), ("Huyện ủy", "ORG")),
    ],
)  # fmt: skip
def test_span_edges_lose_whitespace_and_punctuation_but_keep_a_balanced_bracket(text, given, expected):
    assert spans(check(predicted(text, given))) == [expected]


def test_a_span_of_punctuation_only_is_dropped():
    assert spans(check(predicted("a , b", (",", "ORG")))) == []


# --- DATE --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("Chiều 8/1, tại", "Chiều 8/1", ["8/1"]),
        ("(QBĐT) - Chiều nay, 12-1, Ban", "Chiều nay, 12-1", ["12-1"]),
        ("Sáng 23/1/2021 đồng chí", "Sáng 23/1/2021", ["23/1/2021"]),
        ("Ngày: 23/01/2021", "Ngày: 23/01/2021", ["23/01/2021"]),
        ("lớp khóa 2016-2018, với", "khóa 2016-2018", ["2016-2018"]),
        ("giữa nhiệm kỳ đại hội 2015-2020", "nhiệm kỳ đại hội 2015-2020", ["2015-2020"]),
        ("từ năm 2013 đến nay, thành phố", "từ năm 2013 đến nay", ["năm 2013"]),
        ("từ 1/6/2012 đến 31/3/2018, thành phố", "từ 1/6/2012 đến 31/3/2018", ["1/6/2012", "31/3/2018"]),
        ("giai đoạn 2011-2015 và giai đoạn 2015-2020.", "giai đoạn 2011-2015 và giai đoạn 2015-2020",
         ["giai đoạn 2011-2015", "giai đoạn 2015-2020"]),
        ("20:56, Thứ Ba, 12/01/2021 (GMT+7)", "20:56, Thứ Ba, 12/01/2021 (GMT+7)", ["20:56, Thứ Ba, 12/01/2021"]),
        ("nhiệm kỳ 2015-2020 (2016-2021) và", "nhiệm kỳ 2015-2020 (2016-2021)", ["nhiệm kỳ 2015-2020", "2016-2021"]),
        ("trong những năm qua", "những năm qua", []),
    ],
)  # fmt: skip
def test_dates_lose_the_words_before_their_number_and_split_at_brackets_and_joining_words(text, given, expected):
    assert spans(check(predicted(text, (given, "DATE")))) == [(e, "DATE") for e in expected]


@pytest.mark.parametrize(
    "text",
    ["nhiệm kỳ 2020 – 2025", "Năm 2015-2017, mở", "quý IV năm 2018", "6 tháng đầu năm 2017",
     "Thứ bảy,\u00a0 23/01/2021", "ngày 11/9/2013", "tháng 12-2008"],
)  # fmt: skip
def test_head_words_weekdays_and_numbered_periods_stay_in_the_date(text):
    surface = text.removesuffix(", mở")
    assert spans(check(predicted(text, (surface, "DATE")))) == [(surface, "DATE")]


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("20:56, Thứ Ba, 12/01/2021 (GMT+7)", "12/01/2021", "20:56, Thứ Ba, 12/01/2021"),
        ("Thứ bảy,\u00a0 23/01/2021", "23/01/2021", "Thứ bảy,\u00a0 23/01/2021"),
        ("cập nhật 11/02/2020 18:26 bởi", "11/02/2020", "11/02/2020 18:26"),
        ("Tính đến quý IV năm 2018, trong", "năm 2018", "quý IV năm 2018"),
        ("sơ kết 6 tháng đầu năm 2017 của", "năm 2017", "6 tháng đầu năm 2017"),
    ],
)
def test_weekdays_clock_times_and_date_parts_next_to_a_date_join_it(text, given, expected):
    assert spans(check(predicted(text, (given, "DATE")))) == [(expected, "DATE")]


def test_a_weekday_tagged_as_a_place_is_dropped_and_joins_the_date():
    doc = predicted("20:56, Thứ Ba, 12/01/2021 (GMT+7)", ("Thứ Ba", "LOC"), ("12/01/2021", "DATE"))
    assert spans(check(doc)) == [("20:56, Thứ Ba, 12/01/2021", "DATE")]


def test_a_date_extension_stops_at_another_entity():
    doc = predicted("QBĐT 20:56, 12/01/2021", ("QBĐT 20:56", "ORG"), ("12/01/2021", "DATE"))
    assert spans(check(doc))[-1] == ("12/01/2021", "DATE")


# --- LOC ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("tại xã Tân Liên, huyện Vĩnh Bảo", [("Tân Liên", "LOC"), ("Vĩnh Bảo", "LOC")],
         [("xã Tân Liên", "LOC"), ("huyện Vĩnh Bảo", "LOC")]),
        ("Thành phố Lạng Sơn: Chú trọng", [("Lạng Sơn", "LOC")], [("Thành phố Lạng Sơn", "LOC")]),
        ("về thị trấn Cao Lộc", [("Cao Lộc", "LOC")], [("thị trấn Cao Lộc", "LOC")]),
        ("tại 3 xã Mai Pha, Hoàng Đồng và Quảng Lạc.", [("xã Mai Pha", "LOC"), ("Hoàng Đồng", "LOC"),
         ("Quảng Lạc", "LOC")], [("Mai Pha", "LOC"), ("Hoàng Đồng", "LOC"), ("Quảng Lạc", "LOC")]),
        ("hai xã Xuân Vân và Trung Sơn", [("Xuân Vân", "LOC"), ("Trung Sơn", "LOC")],
         [("Xuân Vân", "LOC"), ("Trung Sơn", "LOC")]),
        ("xã Xuân Vân và Trung Sơn", [("Xuân Vân", "LOC"), ("Trung Sơn", "LOC")],
         [("Xuân Vân", "LOC"), ("Trung Sơn", "LOC")]),
        ("xã A và xã B", [("A", "LOC"), ("B", "LOC")], [("xã A", "LOC"), ("xã B", "LOC")]),
        ("với nước CHDCND Lào", [("nước CHDCND Lào", "LOC")], [("CHDCND Lào", "LOC")]),
        ("người Trung Quốc", [("Trung Quốc", "LOC")], [("Trung Quốc", "LOC")]),
        ("của thành phố đã", [("thành phố", "LOC")], []),
        ("Hội nghị Tỉnh Cao Bằng", [("Cao Bằng", "LOC")], [("Cao Bằng", "LOC")]),
    ],
)  # fmt: skip
def test_the_unit_word_before_a_single_name_belongs_to_the_place_and_not_before_coordinated_names(
    text, given, expected
):
    assert spans(check(predicted(text, *given))) == expected


# --- POSITION, ORG, PER ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("Đồng chí Bí thư Tỉnh ủy đã nhấn mạnh", [("Tỉnh ủy", "ORG")], [("Bí thư Tỉnh ủy", "POSITION")]),
        ("Đồng chí Bí thư Tỉnh ủy đã", [("Bí thư", "POSITION"), ("Tỉnh ủy", "ORG")], [("Bí thư Tỉnh ủy", "POSITION")]),
        ("Đồng chí Bí thư Tỉnh ủy đã", [("Bí thư Tỉnh ủy", "ORG")], [("Bí thư Tỉnh ủy", "POSITION")]),
        ("Đồng chí Bí Thư Tỉnh ủy Vũ Đại Thắng phát biểu", [("Bí Thư", "LOC"), ("Tỉnh ủy Vũ Đại Thắng", "ORG")],
         [("Bí Thư Tỉnh ủy", "POSITION"), ("Vũ Đại Thắng", "PER")]),
        ("Trần Vũ Khiêm, Ủy viên Ban Thường vụ, Trưởng ban Tổ chức Tỉnh ủy chủ trì",
         [("Trần Vũ Khiêm", "PER"), ("Ban Thường vụ", "ORG"), ("Trưởng ban Tổ chức Tỉnh ủy", "ORG")],
         [("Trần Vũ Khiêm", "PER"), ("Ủy viên Ban Thường vụ", "POSITION"), ("Trưởng ban Tổ chức Tỉnh ủy", "POSITION")]),
        ("Lương Mạnh Tiến, Bí thư Đảng ủy thị trấn Cao Lộc cho biết",
         [("Lương Mạnh Tiến", "PER"), ("Bí thư Đảng ủy thị trấn", "POSITION"), ("Cao Lộc", "LOC")],
         [("Lương Mạnh Tiến", "PER"), ("Bí thư Đảng ủy thị trấn Cao Lộc", "POSITION")]),
        ("Đồng chí Nguyễn Văn An nói", [("Đồng chí Nguyễn Văn An", "PER")], [("Nguyễn Văn An", "PER")]),
        ("Tác giả: Lê Lan", [("Tác giả: Lê Lan", "PER")], [("Lê Lan", "PER")]),
        ("Vũ Đại Thắng phát biểu", [("Vũ Đại Thắng phát", "PER")], [("Vũ Đại Thắng", "PER")]),
        ("Lãnh đạo Thành ủy tặng giấy khen", [("Lãnh đạo Thành ủy", "ORG")], [("Thành ủy", "ORG")]),
        ("trong toàn Đảng bộ được", [("toàn Đảng bộ", "ORG")], [("Đảng bộ", "ORG")]),
        ("là 14 người, Ban Thường vụ là 4 người", [("Ban Thường vụ là 4", "ORG")], [("Ban Thường vụ", "ORG")]),
        ("khen, Ban Tổ chức Tỉnh ủy tặng", [("Ban Tổ chức Tỉnh", "ORG")], [("Ban Tổ chức Tỉnh ủy", "ORG")]),
        ("đại diện Đảng đoàn HĐND tỉnh, Ban", [("Đảng đoàn HĐND", "ORG")], [("Đảng đoàn HĐND tỉnh", "ORG")]),
        ("Ban Thường vụ huyện nhà có", [("Ban Thường vụ huyện", "ORG")], [("Ban Thường vụ huyện nhà", "ORG")]),
        ("Ban Thường vụ Huyện ủy Cao Lộc quan tâm", [("Ban Thường vụ Huyện ủy", "ORG"), ("Cao Lộc", "LOC")],
         [("Ban Thường vụ Huyện ủy", "ORG"), ("Cao Lộc", "LOC")]),  # an ORG + LOC pair is left as tagged
        ("của BTV Tỉnh ủy Cao Bằng về", [("BTV Tỉnh ủy Cao Bằng", "ORG")], [("BTV Tỉnh ủy Cao Bằng", "ORG")]),
        ("của Đảng và Nhà nước", [("Đảng", "ORG"), ("Nhà nước", "ORG")], [("Đảng", "ORG"), ("Nhà nước", "ORG")]),
    ],
)  # fmt: skip
def test_titles_bodies_and_names_follow_the_scheme(text, given, expected):
    assert spans(check(predicted(text, *given))) == expected


# --- DOCUMENT ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, given, expected",
    [
        ("thực hiện Chỉ thị 10-CT/TW ngày", ("Chỉ thị 10", "DOCUMENT"), ("Chỉ thị 10-CT/TW", "DOCUMENT")),
        ("theo Đề án 03–ĐA/TU của", ("Đề án 03–ĐA", "DATE"), ("Đề án 03–ĐA/TU", "DOCUMENT")),
        ("Hướng dẫn số 09-HD/BTCTW ngày", ("Hướng dẫn số 09", "ORG"), ("Hướng dẫn số 09-HD/BTCTW", "DOCUMENT")),
        ("Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XVII, các", ("Nghị quyết Đại hội Đảng bộ tỉnh", "DOCUMENT"),
         ("Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XVII", "DOCUMENT")),
        ("Nghị quyết Trung ương 4 (khóa XII) về", ("Nghị quyết Trung ương 4", "DOCUMENT"),
         ("Nghị quyết Trung ương 4 (khóa XII)", "DOCUMENT")),
    ],
)  # fmt: skip
def test_documents_keep_their_whole_code_and_number(text, given, expected):
    assert spans(check(predicted(text, given))) == [expected]


# --- the whole step ----------------------------------------------------------------------------------------------


def test_offsets_stay_on_the_original_text_with_decomposed_characters_and_no_break_spaces():
    def nfd(s: str) -> str:
        return unicodedata.normalize("NFD", s)

    text = nfd("Chiều 8/1, đồng chí Bí thư Tỉnh ủy về xã Tân Liên.")
    doc = predicted(text, (nfd("Chiều 8/1"), "DATE"), (nfd("Tỉnh ủy"), "ORG"), (nfd("Tân Liên"), "LOC"))
    out = check(doc)
    nfc = [(unicodedata.normalize("NFC", s), label) for s, label in spans(out)]
    assert nfc == [("8/1", "DATE"), ("Bí thư Tỉnh ủy", "POSITION"), ("xã Tân Liên", "LOC")]


def test_scores_are_kept_and_the_input_is_not_changed():
    doc = predicted("Đồng chí Bí thư Tỉnh ủy đã", ("Bí thư", "POSITION"), ("Tỉnh ủy", "ORG"))
    doc.entities[1].score = 0.5
    before = [e.to_json() for e in doc.entities]
    out = check(doc)
    assert out.entities[0].score == pytest.approx(0.7)
    assert [e.to_json() for e in doc.entities] == before


def test_overlapping_input_spans_come_out_without_overlaps():
    text = "Ban Thường vụ Huyện ủy Cao Lộc"
    doc = Document("d", text, [Entity(0, 22, "ORG"), Entity(14, 30, "ORG"), Entity(23, 30, "LOC")])
    out = check(doc)
    assert all(a.end <= b.start for a, b in zip(out.entities, out.entities[1:]))


def test_the_gold_corpus_already_follows_the_conventions():
    for doc in read_documents(GOLD):
        out = check(doc)
        assert [(e.start, e.end, e.label) for e in out.entities] == [(e.start, e.end, e.label) for e in doc.entities]


def test_random_predictions_keep_every_invariant():
    """Gold spans moved, cut, joined and relabelled at random, as a poor tagger would: the invariants hold."""
    rng = random.Random(7)
    labels = list(PARTY_BUILDING.entities)
    for doc in read_documents(GOLD):
        for _ in range(10):
            entities, last = [], 0
            for e in doc.entities:
                start = max(last, e.start + rng.choice([-9, -3, -1, 0, 0, 0, 1, 3]))
                end = min(len(doc.text), e.end + rng.choice([-4, -1, 0, 0, 0, 1, 4, 9]))
                if start < end:
                    entities.append(Entity(start, end, rng.choice(labels + [e.label] * 3), None, rng.random()))
                    last = end
            check(Document(doc.id, doc.text, entities, doc.paragraphs, doc.meta))


def test_the_conventions_are_on_by_default_for_the_party_building_labels_only():
    assert conventions_apply_to(PARTY_BUILDING)
    assert not conventions_apply_to(LabelScheme(("PER", "ORG", "LOC", "MISC"), ()))
    assert not conventions_apply_to(LabelScheme(("PER", "ORG", "LOC", "POSITION", "DOCUMENT"), ()))


def test_invisible_characters_inside_a_name_do_not_cut_it():
    text = "Đồng chí Nguyễn Thị Mai Oa\u00adnh, Bí\u200b thư Tỉnh ủy"
    doc = predicted(text, ("Nguyễn Thị Mai Oa\u00adnh", "PER"), ("Bí\u200b thư", "POSITION"), ("Tỉnh ủy", "ORG"))
    assert spans(check(doc)) == [("Nguyễn Thị Mai Oa\u00adnh", "PER"), ("Bí\u200b thư Tỉnh ủy", "POSITION")]
