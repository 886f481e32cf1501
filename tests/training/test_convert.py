"""Format converters: training/convert*.py and ``xdd convert``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents, write_documents
from xdd.models.errors import CorpusError
from xdd.models.text.syllables import syllable_spans
from xdd.training.cli import main
from xdd.training.convert import convert
from xdd.training.convert_conll import dump_conll, read_conll
from xdd.training.convert_doccano import read_doccano
from xdd.training.convert_labelstudio import read_labelstudio
from xdd.training.validate import check_corpus, validate

FIXTURES = FIXTURES_DIR
CORPUS = FIXTURES / "corpus"
GOLD = REPO / "data" / "annotations"


def entity_tokens(doc: Document) -> list[tuple[str, list[str]]]:
    """Each entity as (label, its syllable tokens): equal when only the spacing differs."""
    return [(e.label, [doc.text[s:t] for s, t in syllable_spans(doc.text, e.start, e.end)]) for e in doc.entities]


def round_trip(source: Path, fmt: str, tmp_path: Path) -> tuple[list[Document], list[str]]:
    """Documents after ours -> fmt -> ours, and the warnings of both conversions."""
    there = convert(source, tmp_path / f"corpus.{fmt}", "jsonl", fmt)
    back = convert(tmp_path / f"corpus.{fmt}", tmp_path / "back" / "corpus.jsonl", fmt, "jsonl")
    return read_documents(tmp_path / "back"), there.warnings + back.warnings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- round trips ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["doccano", "labelstudio", "jsonl"])
def test_round_trip_through_the_format_is_exact(fmt, tmp_path):
    docs, warnings = round_trip(CORPUS, fmt, tmp_path)
    assert docs == read_documents(CORPUS)
    assert warnings == []


def test_round_trip_through_conll_keeps_every_entity_and_id_and_reports_topics_and_meta(tmp_path):
    original = read_documents(CORPUS)
    docs, warnings = round_trip(CORPUS, "conll", tmp_path)
    assert [d.id for d in docs] == [d.id for d in original]
    assert [entity_tokens(d) for d in docs] == [entity_tokens(d) for d in original]
    assert warnings[:2] == [
        "conll cannot express paragraph topics (paragraphs with topics): 9 left out",
        "conll cannot express document metadata (documents with 'meta'): 2 left out",
    ]
    assert warnings[2].startswith("3 conll document(s) carry no paragraph topics: their 10 paragraph(s) were given empty topic lists")
    assert validate(tmp_path / "back") == []


@pytest.mark.parametrize("fmt", ["conll", "doccano", "labelstudio"])
def test_the_gold_corpus_round_trips(fmt, tmp_path):
    if not list(GOLD.glob("*.jsonl")):
        pytest.skip("data/annotations/*.jsonl not written yet")
    gold = read_documents(GOLD)
    docs, _ = round_trip(GOLD, fmt, tmp_path)
    if fmt == "conll":
        assert [entity_tokens(d) for d in docs] == [entity_tokens(d) for d in gold]
    else:
        assert docs == gold


# --- CoNLL ---------------------------------------------------------------

WORDS = st.sampled_from(
    ["Huyện", "ủy", "Cao", "Lộc", "10-CT/TW", "(khóa", "XII)", "23/01/2021", "“cán", "bộ”", ",", "–", "2.241"]
)
GAPS = st.sampled_from([" ", "  ", "\u00a0", " \t "])


@st.composite
def documents_with_token_entities(draw) -> Document:
    """A random document whose entities start and end on syllable tokens."""
    lines = [draw(GAPS).join(draw(st.lists(WORDS, min_size=1, max_size=8))) for _ in range(draw(st.integers(1, 3)))]
    text = "\n".join(lines)
    tokens = syllable_spans(text)
    entities, position = [], 0
    while position < len(tokens) and draw(st.booleans()):
        first = draw(st.integers(position, len(tokens) - 1))
        last = draw(st.integers(first, min(first + 3, len(tokens) - 1)))
        start, end = tokens[first][0], tokens[last][1]
        if "\n" not in text[start:end]:
            entities.append(Entity(start, end, draw(st.sampled_from(["PER", "ORG"])), text[start:end]))
        position = last + 1
    return Document("d", text, entities, [])


@settings(max_examples=60, deadline=None)
@given(documents_with_token_entities())
def test_conll_round_trip_keeps_every_entity_on_token_boundaries(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("conll") / "d.conll"
    text, warnings = dump_conll([doc])
    path.write_text(text, encoding="utf-8")
    [back] = read_conll(path).documents
    assert warnings == [] and back.id == "d"
    assert entity_tokens(back) == entity_tokens(doc)



def test_conll_export_writes_docstart_then_one_token_per_line_and_a_blank_line_per_paragraph():
    doc = Document("d1", "Chỉ thị 10-CT/TW.\nHà Nội", [Entity(0, 16, "DOCUMENT"), Entity(18, 24, "LOC")], [])
    text, _ = dump_conll([doc])
    assert text == (
        "-DOCSTART-\td1\tO\n\n"
        "Chỉ\tB-DOCUMENT\nthị\tI-DOCUMENT\n10\tI-DOCUMENT\n-\tI-DOCUMENT\nCT\tI-DOCUMENT\n/\tI-DOCUMENT\nTW\tI-DOCUMENT\n.\tO\n\n"
        "Hà\tB-LOC\nNội\tI-LOC\n\n"
    )


def test_conll_export_reports_entities_it_cannot_express_instead_of_dropping_them():
    text = "Ông Nguyễn Văn A và Nguyễn Văn B"
    entities = [Entity(4, 14, "PER"), Entity(4, 16, "PER"), Entity(21, 32, "PER")]  # [21:32] starts inside "Nguyễn"
    out, warnings = dump_conll([Document("d1", text, entities, [Paragraph(0, len(text), [])])])
    assert warnings == [
        "id=d1: entity PER [4:14] 'Nguyễn Văn' not written: it overlaps another entity and BIO tags are flat",
        "id=d1: entity PER [21:32] 'guyễn Văn B' not written: its start or end falls inside a token or on whitespace "
        "(tokens are syllables and single punctuation marks)",
    ]
    assert out.count("B-PER") == 1


def test_conll_export_reports_scores_and_underscores_it_cannot_carry():
    doc = Document("d1", "Hà_Nội", [Entity(0, 6, "LOC", score=0.9)], [Paragraph(0, 6, [], {"training": 0.1})])
    _, warnings = dump_conll([doc])
    assert warnings == [
        "conll cannot express entity scores: 1 left out",
        "conll cannot express paragraph topic scores: 1 left out",
        "1 token(s) contain '_', which CoNLL readers (this one too) read back as a space",
    ]


def test_conll_import_of_a_phoner_style_file_matches_the_expected_corpus_and_declares_its_labels(tmp_path):
    report = convert(FIXTURES / "phoner" / "sample.conll", tmp_path / "sample.jsonl", "conll", "jsonl")
    expected = FIXTURES / "phoner" / "expected"
    assert (tmp_path / "sample.jsonl").read_bytes() == (expected / "sample.jsonl").read_bytes()
    assert report.labels_file == tmp_path / "labels.json"
    assert json.loads(report.labels_file.read_text()) == json.loads((expected / "labels.json").read_text())
    assert validate(tmp_path) == []


def test_conll_import_joins_underscored_syllables_with_spaces_and_sentences_with_newlines():
    imported = read_conll(FIXTURES / "phoner" / "sample.conll")
    first = imported.documents[0]
    assert first.text.startswith("Bệnh nhân 1815 là nữ , 40 tuổi")
    assert [(e.label, e.text) for e in first.entities][-2:] == [("LOCATION", "xã Hoà Hiệp"), ("LOCATION", "huyện Tây Hoà")]
    assert imported.places == [f"{FIXTURES / 'phoner' / 'sample.conll'}:1", f"{FIXTURES / 'phoner' / 'sample.conll'}:18"]


PHONER_ABBREV = FIXTURES / "phoner_abbrev" / "sample.conll"


def test_a_phoner_corpus_whose_names_end_in_abbreviations_converts_validates_and_trains(tmp_path, capsys, caplog):
    out_dir, run = tmp_path / "phoner", tmp_path / "run"
    assert main(["convert", str(PHONER_ABBREV), str(out_dir / "sample.jsonl"), "--from", "conll", "--to", "jsonl"]) == 0
    docs = read_documents(out_dir)
    tags = [line.split()[-1] for line in PHONER_ABBREV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sum(len(d.entities) for d in docs) == sum(tag.startswith("B-") for tag in tags) == 21  # nothing lost
    surfaces = {e.text for d in docs for e in d.entities}
    assert {"N.Q.T.", "TP.HCM.", "L.T.H.", "Khu vực I.", "Khu vực II.", "Bệnh viện Bệnh Nhiệt đới TP.HCM."} <= surfaces
    # Abbreviations keep their full stop in any scheme; "Q.6." (a digit) is the house style's
    # concern only, a warning in a corpus with its own labels.json.
    assert validate(out_dir) == []
    [warning] = check_corpus(out_dir)
    assert warning.is_warning and "'Q.6.': span ends with punctuation '.'" in warning.message
    capsys.readouterr()
    assert main(["validate", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == f"{warning}\n" and out.endswith("; 1 warning(s) above, not blocking\n")
    assert main(["train", "--config", "baselines", "--set", f"data.train={out_dir}", "--out", str(run)]) == 0
    # 6 documents (< data.oof_below): chosen out of fold, so no held-out dev, figures under train/
    assert (run / "model").is_dir() and (run / "train" / "metrics.json").is_file()
    assert str(warning) in caplog.text  # train proceeded and said what it accepted
    corpus = json.loads((run / "corpus.json").read_text(encoding="utf-8"))
    assert corpus["corpora"]["train"]["documents"] == len(docs) == 6


def test_conll_import_skips_a_utf8_bom_instead_of_putting_it_in_the_first_token(tmp_path):
    path = tmp_path / "a.conll"
    path.write_bytes(b"\xef\xbb\xbf" + "Hà_Nội B-LOC\n".encode())
    [doc] = read_conll(path).documents
    assert (doc.text, doc.entities) == ("Hà Nội", [Entity(0, 6, "LOC", "Hà Nội")])


def test_conll_import_reads_a_chosen_tag_column_of_a_vlsp_file(tmp_path):
    docs = read_conll(FIXTURES / "vlsp" / "sample.conll", tag_column=3).documents
    assert [(e.label, e.text) for e in docs[0].entities] == [("PER", "Nguyễn Văn A"), ("ORG", "UBND tỉnh Hà Giang")]
    nested = read_conll(FIXTURES / "vlsp" / "sample.conll").documents  # last column: the nested entity
    assert [(e.label, e.text) for e in nested[0].entities] == [("LOC", "tỉnh Hà Giang")]


def test_conll_import_turns_iob1_entity_starts_into_entities(tmp_path):
    path = write(tmp_path / "a.conll", "Ông O\nNguyễn I-PER\nA I-PER\nB B-PER\nở O\nHuế I-LOC\n")
    doc = read_conll(path).documents[0]
    assert [(e.label, e.text) for e in doc.entities] == [("PER", "Nguyễn A"), ("PER", "B"), ("LOC", "Huế")]


def test_conll_import_groups_sentences_by_docstart_and_names_conll2003_documents_by_position(tmp_path):
    path = write(tmp_path / "a.conll", "-DOCSTART- -X- -X- O\n\nA O\n\nB O\n\n-DOCSTART-\tmy-id\tO\n\nC O\n")
    docs = read_conll(path).documents
    assert [(d.id, d.text) for d in docs] == [("a-00001", "A\nB"), ("my-id", "C")]


def test_conll_import_normalises_tokens_to_nfc_and_says_so(tmp_path):
    path = write(tmp_path / "a.conll", "Hue\u0323\u0302 O\n")
    imported = read_conll(path)
    assert imported.documents[0].text == "Huệ"
    assert "1 token(s) were not Unicode NFC and were normalised" in imported.warnings


def test_conll_import_reports_every_bad_line_with_file_and_line(tmp_path):
    path = write(tmp_path / "a.conll", "A O\nB E-PER\nC\nD B-\n")
    with pytest.raises(CorpusError) as err:
        read_conll(path)
    assert str(err.value).splitlines() == [
        f"{path}:2: tag 'E-PER' is not BIO: expected O, B-LABEL or I-LABEL (BIOES files are not supported)",
        f"{path}:3: expected a token and a tag separated by a tab or spaces, got 'C'",
        f"{path}:4: tag 'B-' is not BIO: expected O, B-LABEL or I-LABEL (BIOES files are not supported)",
        f"3 problem(s) in {path}",
    ]


def test_conll_import_reports_a_missing_tag_column(tmp_path):
    path = write(tmp_path / "a.conll", "A O\n")
    with pytest.raises(CorpusError, match=r"a.conll:1: no column 4 in a line of 2 columns \(see --tag-column\)"):
        read_conll(path, tag_column=4)


# --- doccano -------------------------------------------------------------


def test_doccano_import_of_a_plain_export_gives_untopical_paragraphs_and_says_so(tmp_path):
    path = write(
        tmp_path / "a.jsonl",
        '{"id": 7, "text": "Hà Nội\\nHuế", "label": [[7, 10, "LOC"], [0, 6, "LOC"]], "Comments": []}\n'
        '{"text": "Bộ Nội vụ", "entities": [{"id": 1, "label": "ORG", "start_offset": 0, "end_offset": 9}]}\n',
    )
    imported = read_doccano(path)
    first, second = imported.documents
    assert (first.id, first.meta) == ("7", {"Comments": []})
    assert first.entities == [Entity(0, 6, "LOC", "Hà Nội"), Entity(7, 10, "LOC", "Huế")]
    assert first.paragraphs == [Paragraph(0, 6, []), Paragraph(7, 10, [])]
    assert (second.id, second.entities) == ("a-00002", [Entity(0, 9, "ORG", "Bộ Nội vụ")])
    assert imported.warnings == [
        "2 doccano document(s) carry no paragraph topics: their 3 paragraph(s) were given empty topic lists, "
        "which the corpus format reads as 'no topic'; annotate topics before training on them"
    ]


def test_doccano_and_labelstudio_imports_skip_a_utf8_bom(tmp_path):
    doccano, labelstudio = tmp_path / "a.jsonl", tmp_path / "t.json"
    doccano.write_bytes(b"\xef\xbb\xbf" + '{"text": "Hà Nội", "label": [[0, 6, "LOC"]]}\n'.encode())
    labelstudio.write_bytes(b"\xef\xbb\xbf" + labelstudio_task().encode())
    assert read_doccano(doccano).documents[0].entities == [Entity(0, 6, "LOC", "Hà Nội")]
    assert read_labelstudio(labelstudio).documents[0].text == "Hà Nội\nHuế"


def test_doccano_import_reports_bad_lines_with_file_and_line(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "x", "label": ["LOC"]}\n{"text": 1}\n{"text": \n')
    with pytest.raises(CorpusError) as err:
        read_doccano(path)
    assert str(err.value).splitlines()[:3] == [
        f'{path}:1: span 0 is "LOC"; expected [start, end, LABEL]',
        f"{path}:2: expected a JSON object with a string 'text'",
        f"{path}:3: invalid JSON: Expecting value at column 10",
    ]


def test_doccano_export_reports_scores_it_cannot_carry(tmp_path):
    write_documents(tmp_path / "p.jsonl", [Document("d", "Huế", [Entity(0, 3, "LOC", "Huế", 0.5)], [Paragraph(0, 3, [])])])
    report = convert(tmp_path / "p.jsonl", tmp_path / "p.doccano", "jsonl", "doccano")
    assert report.warnings == ["doccano cannot express entity scores: 1 left out"]


# --- Label Studio --------------------------------------------------------


def labelstudio_task(**task) -> str:
    return json.dumps([{"data": {"text": "Hà Nội\nHuế"}, **task}], ensure_ascii=False)


def region(rid, start, end, control="label", kind="labels", **value) -> dict:
    return {"id": rid, "type": kind, "from_name": control, "to_name": "text", "value": {"start": start, "end": end, **value}}


def test_labelstudio_round_trip_keeps_entity_scores(tmp_path):
    doc = Document("d", "Huế", [Entity(0, 3, "LOC", "Huế", 0.75)], [Paragraph(0, 3, ["training"])])
    write_documents(tmp_path / "p.jsonl", [doc])
    docs, warnings = round_trip(tmp_path / "p.jsonl", "labelstudio", tmp_path)
    assert docs == [doc] and warnings == []


def test_labelstudio_import_reads_predictions_when_there_is_no_annotation(tmp_path):
    result = [region("a", 0, 6, labels=["LOC"]), region("b", 7, 10, labels=["LOC"])]
    path = write(tmp_path / "t.json", labelstudio_task(predictions=[{"result": result, "score": 0.9}]))
    imported = read_labelstudio(path)
    assert [(e.label, e.text) for e in imported.documents[0].entities] == [("LOC", "Hà Nội"), ("LOC", "Huế")]
    assert imported.documents[0].id == "t-00001"


def test_labelstudio_import_reports_what_it_leaves_out(tmp_path):
    first = [
        region("a", 0, 6, labels=["LOC", "ORG"]),
        region("p", 7, 10, control="paragraph", labels=["paragraph"]),
        region("q", 0, 6, control="topics", kind="choices", choices=["training"]),
        {"id": "r", "type": "relation", "from_name": "rel"},
    ]
    annotations = [{"id": 1, "result": first}, {"id": 2, "result": []}, {"id": 3, "was_cancelled": True, "result": []}]
    path = write(tmp_path / "t.json", labelstudio_task(annotations=annotations))
    imported = read_labelstudio(path)
    place = f"{path}:task 1: id=t-00001"
    assert imported.warnings == [
        f"{place}: 2 annotations; imported the first (id 1), left out the others",
        f"{place}: result 0 [0:6] has labels ['LOC', 'ORG']; entities are flat: imported 'LOC' only",
        f"{place}: result 3: type 'relation' (from_name 'rel') is not imported",
        f"{place}: choices ['training'] are not attached to a paragraph region; not imported",
    ]
    assert imported.documents[0].paragraphs == [Paragraph(7, 10, [])]


def test_labelstudio_import_attaches_choices_to_a_paragraph_by_span_when_ids_differ(tmp_path):
    result = [
        region("p", 7, 10, control="paragraph", labels=["paragraph"]),
        region("other", 7, 10, control="topics", kind="choices", choices=["training", "training"]),
    ]
    path = write(tmp_path / "t.json", labelstudio_task(annotations=[{"result": result}]))
    assert read_labelstudio(path).documents[0].paragraphs == [Paragraph(7, 10, ["training"])]


def test_labelstudio_import_reports_a_file_that_is_not_a_task_array(tmp_path):
    with pytest.raises(CorpusError, match="t.json: expected a JSON array of tasks"):
        read_labelstudio(write(tmp_path / "t.json", '{"data": {}}'))


def test_labelstudio_import_reports_bad_tasks_by_number(tmp_path):
    tasks = [{"data": {"text": 1}}, {"data": {"text": "x"}, "annotations": [{"result": [region("a", "0", 1, labels=["X"])]}]}]
    with pytest.raises(CorpusError) as err:
        read_labelstudio(write(tmp_path / "t.json", json.dumps(tasks)))
    assert str(err.value).splitlines()[:2] == [
        f"{tmp_path / 't.json'}:task 1: 'data' has no string 'text'",
        f"{tmp_path / 't.json'}:task 2: result 0: 'value' needs integer 'start' and 'end'",
    ]


# --- dispatcher and CLI --------------------------------------------------


def test_convert_refuses_imported_documents_with_offsets_outside_the_text_and_writes_nothing(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "Huế", "label": [[0, 9, "LOC"]]}\n')
    with pytest.raises(CorpusError) as err:
        convert(path, tmp_path / "out" / "a.jsonl", "doccano", "jsonl")
    assert f"{path}:1: id=a-00001: entities[0]: end 9 is past the end of the text (3 characters)" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_convert_writes_no_labels_json_for_party_building_labels(tmp_path):
    report = convert(CORPUS, tmp_path / "c.doccano", "jsonl", "doccano")
    back = convert(tmp_path / "c.doccano", tmp_path / "c.jsonl", "doccano", "jsonl")
    assert report.labels_file is None and back.labels_file is None
    assert not (tmp_path / "labels.json").exists()


def test_convert_never_overwrites_a_labels_json_that_lacks_the_input_labels(tmp_path):
    (tmp_path / "labels.json").write_text('{"entities": ["PER"], "topics": []}')
    with pytest.raises(CorpusError, match="labels.json does not declare AGE, DATE, GENDER, LOCATION, ORGANIZATION, PATIENT_ID"):
        convert(FIXTURES / "phoner" / "sample.conll", tmp_path / "s.jsonl", "conll", "jsonl")
    assert not (tmp_path / "s.jsonl").exists()


def test_cli_convert_prints_warnings_and_a_summary_on_stderr(tmp_path, capsys):
    assert main(["convert", str(CORPUS), str(tmp_path / "c.conll"), "--from", "jsonl", "--to", "conll"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: conll cannot express paragraph topics (paragraphs with topics): 9 left out"
    assert err[-1] == (
        f"xdd convert: 3 document(s) jsonl -> conll, written to {tmp_path / 'c.conll'}; "
        "2 warning(s) above: what was not carried over"
    )


def test_cli_convert_writes_to_standard_output_with_a_dash(capsys):
    assert main(["convert", str(FIXTURES / "vlsp" / "sample.conll"), "-", "--from", "conll", "--to", "jsonl", "--tag-column", "3"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["text"] == "Ông Nguyễn Văn A làm việc tại UBND tỉnh Hà Giang ."


def test_cli_convert_rejects_a_tag_column_for_other_formats(tmp_path, capsys):
    assert main(["convert", str(CORPUS), str(tmp_path / "x"), "--from", "jsonl", "--to", "conll", "--tag-column", "3"]) == 2
    assert capsys.readouterr().err == "xdd: error: --tag-column applies to --from conll only\n"


def test_cli_convert_exits_2_naming_a_missing_input(tmp_path, capsys):
    assert main(["convert", "no/such.conll", str(tmp_path / "x"), "--from", "conll", "--to", "jsonl"]) == 2
    assert "no/such.conll: cannot read: No such file or directory" in capsys.readouterr().err
