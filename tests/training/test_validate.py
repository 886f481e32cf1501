"""Corpus validation: training/validate.py and ``xdd validate``."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document.labels import LabelScheme
from xdd.models.errors import CorpusError
from xdd.training.cli import main
from xdd.training.validate import check_corpus, edge_problem, validate

FIXTURES = FIXTURES_DIR
GOLD = REPO / "data" / "annotations"

TEXT = "Huyện ủy Cao Lộc họp ngày 23/01/2021.\nNghị quyết Trung ương 4 (khóa XII) được quán triệt."


def entity(phrase: str, label: str, text: str = TEXT) -> dict:
    start = text.index(phrase)
    return {"start": start, "end": start + len(phrase), "label": label, "text": phrase}


def good_record(doc_id: str = "doc-1") -> dict:
    return {
        "id": doc_id,
        "meta": {},
        "text": TEXT,
        "entities": [
            entity("Huyện ủy Cao Lộc", "ORG"),
            entity("ngày 23/01/2021", "DATE"),
            entity("Nghị quyết Trung ương 4 (khóa XII)", "DOCUMENT"),
        ],
        "paragraphs": [{"start": 0, "end": 37, "topics": []}, {"start": 38, "end": 89, "topics": ["training"]}],
    }


def problems_of(tmp_path: Path, *records: object, name: str = "c.jsonl") -> list[str]:
    """Validate a file holding ``records`` (dicts dumped as JSON, strings as they are); problems as text."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return [str(p) for p in validate([path])]


def test_the_good_record_and_the_fixture_corpus_have_no_problems(tmp_path):
    assert problems_of(tmp_path, good_record()) == []
    assert validate(FIXTURES / "corpus") == []


def test_validate_reports_invalid_json_with_file_line_and_the_id_it_can_see(tmp_path):
    problems = problems_of(tmp_path, good_record("a"), '{"id": "b", "text": "x",}')
    assert problems == [f"{tmp_path / 'c.jsonl'}:2: id=b: invalid JSON: Expecting property name enclosed in double quotes at column 25"]


def test_validate_reports_missing_and_mistyped_fields(tmp_path):
    record = good_record()
    del record["paragraphs"]
    record["entities"][0]["end"] = "16"
    problems = problems_of(tmp_path, record)
    assert problems == [
        f"{tmp_path / 'c.jsonl'}:1: id=doc-1: record: missing key 'paragraphs'",
        f"{tmp_path / 'c.jsonl'}:1: id=doc-1: entities[0]: 'end' must be an integer, got string \"16\"",
    ]


def test_validate_reports_duplicate_ids_across_files_naming_the_first_use(tmp_path):
    first = tmp_path / "a.jsonl"
    first.write_text(json.dumps(good_record("same")) + "\n", encoding="utf-8")
    assert problems_of(tmp_path, good_record("other"), good_record("same"), name="b.jsonl") == []
    problems = [str(p) for p in validate([first, tmp_path / "b.jsonl"])]
    assert problems == [f"{tmp_path / 'b.jsonl'}:2: id=same: duplicate id (first used at {first}:1); ids must be unique"]
    assert [str(p) for p in validate(tmp_path)] == problems


def test_validate_reads_a_file_given_twice_once(tmp_path):
    problems_of(tmp_path, good_record())
    assert validate([tmp_path, tmp_path / "c.jsonl"]) == []


def test_validate_reports_offsets_out_of_range_and_reversed(tmp_path):
    record = good_record()
    record["entities"][0].update(start=16, end=0)
    record["paragraphs"][1]["end"] = 500
    problems = problems_of(tmp_path, record)
    assert problems == [
        f"{tmp_path / 'c.jsonl'}:1: id=doc-1: entities[0]: start 16 > end 0 (reversed offsets)",
        f"{tmp_path / 'c.jsonl'}:1: id=doc-1: paragraphs[1]: end 500 is past the end of the text (89 characters)",
    ]


def test_validate_reports_entity_text_that_does_not_match_the_offsets(tmp_path):
    record = good_record()
    record["entities"][0]["text"] = "Huyện ủy Cao Lộ"
    [problem] = problems_of(tmp_path, record)
    assert problem == (
        f"{tmp_path / 'c.jsonl'}:1: id=doc-1: entities[0] ORG [0:16] 'Huyện ủy Cao Lộc': "
        "'text' is 'Huyện ủy Cao Lộ' but text[start:end] is 'Huyện ủy Cao Lộc'; offsets shifted?"
    )


def test_validate_reports_overlapping_entities_naming_both(tmp_path):
    record = good_record()
    record["entities"].insert(1, entity("Cao Lộc", "LOC"))
    [problem] = problems_of(tmp_path, record)
    assert problem.endswith(
        "entities[1] LOC [9:16] 'Cao Lộc' overlaps entities[0] ORG [0:16] 'Huyện ủy Cao Lộc'; "
        "entities are flat: keep the outermost"
    )


def test_validate_reports_entities_out_of_order(tmp_path):
    record = good_record()
    record["entities"].reverse()
    problems = problems_of(tmp_path, record)
    assert len(problems) == 2
    assert "entities[1] DATE [21:36] 'ngày 23/01/2021' comes before entities[0] DOCUMENT" in problems[0]
    assert problems[0].endswith("sort entities by (start, end)")


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("Cao Lộc ", "span ends with whitespace; trim it"),
        (" Cao Lộc", "span starts with whitespace; trim it"),
        ("23/01/2021.", "span ends with punctuation '.'; move the end before it"),
        ("(khóa XII", "span starts with punctuation '('; move the start past it"),
        ("Trung ương 4 (", "span ends with punctuation '('"),
        ("XII)", "span ends with punctuation ')'"),  # closing bracket without its opener
        ("họp ngày 23/01/2021.\nNghị", "span crosses a line break"),
    ],
)
def test_validate_reports_whitespace_or_punctuation_at_span_edges(tmp_path, phrase, message):
    record = good_record()
    record["entities"] = [entity(phrase, "DATE")]
    [problem] = problems_of(tmp_path, record)
    assert f"id=doc-1: entities[0] DATE [{TEXT.index(phrase)}:" in problem
    assert message in problem


@pytest.mark.parametrize(
    "span", ["Nghị quyết Trung ương 4 (khóa XII)", "Chỉ thị 10-CT/TW", "Đề án 03–ĐA/TU", "TP. Hồ Chí Minh", 'Công ty "Sao Mai"']
)
def test_edge_rule_accepts_punctuation_that_belongs_to_the_name(span):
    assert edge_problem(span) is None


@pytest.mark.parametrize(
    "span", ["N.Q.T.", "TP.HCM.", "Bệnh viện Nhiệt đới TP.HCM.", "Khu vực I.", "quý IV.", "khóa XII.", "Nguyễn Văn A.", "Đ.T."]
)
def test_edge_rule_accepts_a_final_full_stop_that_ends_an_abbreviation(span):
    assert edge_problem(span) is None


@pytest.mark.parametrize("span", ["Hà Nội.", "ngày 23/01/2021.", "Q.6.", "I.", "N..Q.", "Khu vực IIII.", "Cao Lộc.."])
def test_edge_rule_rejects_a_final_full_stop_that_is_the_sentences(span):
    assert edge_problem(span) == "span ends with punctuation '.'; move the end before it"


def declared_corpus(tmp_path: Path, *records: dict) -> Path:
    """A corpus folder with a labels.json declaring the party-building labels plus MISC (so: its own labels)."""
    (tmp_path / "labels.json").write_text('{"entities": ["ORG", "DATE", "DOCUMENT", "MISC"], "topics": ["training"]}')
    problems_of(tmp_path, *records)
    return tmp_path


def test_house_style_edges_are_warnings_in_a_corpus_that_declares_its_own_labels(tmp_path):
    record = good_record()
    record["entities"][1] = entity("ngày 23/01/2021.", "DATE")  # the sentence's full stop
    corpus = declared_corpus(tmp_path, record)
    assert validate(corpus) == []
    [warning] = check_corpus(corpus)
    assert warning.is_warning and (warning.line, warning.doc_id) == (1, "doc-1")
    assert str(warning) == (
        f"{corpus / 'c.jsonl'}:1: id=doc-1: warning: entities[1] DATE [21:37] 'ngày 23/01/2021.': span ends with "
        "punctuation '.'; move the end before it (party-building house style: a warning, not an error, "
        "in a corpus with its own labels)"
    )


def test_the_same_edges_are_errors_in_the_party_building_scheme(tmp_path):
    record = good_record()
    record["entities"][1] = entity("ngày 23/01/2021.", "DATE")
    [problem] = problems_of(tmp_path, record)
    assert problem.endswith("'ngày 23/01/2021.': span ends with punctuation '.'; move the end before it")


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("Cao Lộc ", "span ends with whitespace; trim it"), ("họp ngày 23/01/2021.\nNghị", "span crosses a line break")],
)
def test_whitespace_and_line_breaks_at_edges_stay_errors_in_a_corpus_with_its_own_labels(tmp_path, phrase, message):
    record = good_record()
    record["entities"] = [entity(phrase, "MISC")]
    [problem] = validate(declared_corpus(tmp_path, record))
    assert not problem.is_warning and message in problem.message


def test_cli_validate_prints_warnings_and_exits_0_when_nothing_else_is_wrong(tmp_path, capsys):
    record = good_record()
    record["entities"][2] = entity("(khóa XII", "MISC")
    corpus = declared_corpus(tmp_path, record)
    assert main(["validate", str(corpus)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{corpus / 'c.jsonl'}:1: id=doc-1: warning: entities[2] MISC [62:71] '(khóa XII': span starts with "
        "punctuation '('; move the start past it (party-building house style: a warning, not an error, "
        "in a corpus with its own labels)"
    ]
    assert out == f"xdd validate: no problems in {corpus}; 1 warning(s) above, not blocking\n"


def test_cli_validate_of_an_empty_file_names_it_and_exits_1(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert main(["validate", str(empty)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{empty}: no documents (the file is empty)",
        "xdd validate: 1 problem(s) in 1 file(s)",
    ]


def test_validate_of_a_file_of_blank_lines_says_so(tmp_path):
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n  \n", encoding="utf-8")
    assert [str(p) for p in validate(blank)] == [f"{blank}: no documents (only blank lines)"]


def test_an_empty_file_beside_files_with_documents_is_only_a_warning(tmp_path):
    problems_of(tmp_path, good_record())
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert validate(tmp_path) == []
    assert [str(p) for p in check_corpus(tmp_path)] == [f"{tmp_path / 'empty.jsonl'}: warning: no documents (the file is empty)"]


def test_a_corpus_file_starting_with_a_utf8_bom_validates(tmp_path, capsys):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(good_record(), ensure_ascii=False) + "\n").encode())
    assert check_corpus(path) == []
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().err == ""


def test_validate_reports_unknown_labels_and_topics_and_says_where_to_declare_them(tmp_path):
    record = good_record()
    record["entities"][0]["label"] = "ORGANIZATION"
    record["paragraphs"][0]["topics"] = ["economy", "economy"]
    problems = problems_of(tmp_path, record)
    assert "entities[0] ORGANIZATION [0:16] 'Huyện ủy Cao Lộc': unknown label 'ORGANIZATION'; known: PER, ORG" in problems[0]
    assert "declares them in labels.json beside its files" in problems[0]
    assert "paragraphs[0] [0:37] 'Huyện ủy Cao Lộc họp ngày 23/01/2021.': unknown topic 'economy'; known: cadre_planning" in problems[1]
    assert problems[3].endswith("a topic is listed twice")


def test_a_labels_json_beside_the_files_declares_other_labels(tmp_path):
    record = good_record()
    record["entities"] = [entity("Huyện ủy Cao Lộc", "ORGANIZATION")]
    record["paragraphs"][1]["topics"] = []
    (tmp_path / "sub").mkdir()
    (tmp_path / "labels.json").write_text('{"entities": ["ORGANIZATION"], "topics": []}')
    problems_of(tmp_path, record, name="sub/c.jsonl")
    assert validate(tmp_path) == []  # found under tmp_path: its labels.json applies to sub/
    assert validate(tmp_path / "sub") != []  # given sub/ alone, the party-building scheme applies
    assert validate(tmp_path / "sub", scheme=LabelScheme(("ORGANIZATION",), ())) == []


def test_validate_reports_a_labels_json_it_cannot_read(tmp_path):
    problems_of(tmp_path, good_record())
    (tmp_path / "labels.json").write_text('{"entities": "PER"}')
    with pytest.raises(CorpusError, match=r"labels.json: 'entities' must be a list of non-empty strings; fix it, or remove it"):
        validate(tmp_path)


def test_validate_reports_paragraphs_that_do_not_match_the_non_empty_lines(tmp_path):
    record = good_record()
    record["paragraphs"] = [{"start": 0, "end": 36, "topics": []}]
    problems = problems_of(tmp_path, record)
    assert problems[0].endswith(
        "paragraphs[0] [0:36] 'Huyện ủy Cao Lộc họp ngày 23/01/2021' is not a non-empty line of the text "
        "(a paragraph is a whole line, trimmed)"
    )
    assert problems[1].endswith("has no paragraph; add {\"start\": 0, \"end\": 37, \"topics\": []}")
    assert "line 'Nghị quyết Trung ương 4 (khóa XII) được…' [38:89] has no paragraph" in problems[2]


def test_validate_reports_paragraphs_repeated_or_out_of_order(tmp_path):
    record = good_record()
    record["paragraphs"].reverse()
    assert problems_of(tmp_path, record)[0].endswith("paragraphs are not in text order; sort them by start")
    record["paragraphs"].append(dict(record["paragraphs"][0]))
    assert problems_of(tmp_path, record)[0].endswith("paragraphs[2] [38:89] 'Nghị quyết Trung ương 4 (khóa XII) được…' is listed twice")


def test_validate_reports_text_that_is_not_nfc_with_its_offset(tmp_path):
    record = good_record()
    record["text"] = unicodedata.normalize("NFD", TEXT[:10]) + TEXT[10:]
    problems = problems_of(tmp_path, record)
    assert problems[0].endswith(
        "id=doc-1: text is not Unicode NFC: at offset 3, 'ệ' is written as U+0065 U+0323 U+0302; "
        "normalise the raw text with unicodedata.normalize('NFC', ...) and annotate that"
    )


def test_cli_validate_exits_0_on_a_clean_corpus(capsys):
    assert main(["validate", str(FIXTURES / "corpus")]) == 0
    assert "no problems" in capsys.readouterr().out


def test_cli_validate_prints_every_problem_and_a_count_on_stderr_and_exits_1(tmp_path, capsys):
    bad = good_record()
    bad["entities"][0]["label"] = "X"
    problems_of(tmp_path, bad, "not json")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{tmp_path / 'c.jsonl'}:1: id=doc-1: entities[0] X [0:16]")
    assert err[1].startswith(f"{tmp_path / 'c.jsonl'}:2: id=?: invalid JSON")
    assert err[2] == "xdd validate: 2 problem(s) in 2 record(s)"


def test_cli_validate_exits_2_naming_a_missing_path(capsys):
    assert main(["validate", "no/such/corpus"]) == 2
    assert capsys.readouterr().err == "xdd: error: no/such/corpus: no such file or directory\n"


def test_the_gold_corpus_validates():
    if not list(GOLD.glob("*.jsonl")):
        pytest.skip("data/annotations/*.jsonl not written yet")
    assert [str(p) for p in validate(GOLD)] == []
