"""The text pipeline facade and ``xdd check-alignment``: models/text/pipeline.py, training/text_cli.py."""

from __future__ import annotations

import argparse
import json
import shutil
import unicodedata

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING
from xdd.models.errors import BackboneUnavailable, ConfigError
from xdd.models.predict.decode import entities_from_tags
from xdd.models.text.pipeline import TEXT_SETTINGS_FILE, TextPipeline, TextSettings
from xdd.training import text_cli

FIXTURES = FIXTURES_DIR / "text_pipeline"
GOLD = REPO / "data" / "annotations"


@pytest.fixture(scope="module")
def pipeline(tiny_model_dir) -> TextPipeline:
    return TextPipeline.from_pretrained(tiny_model_dir)


def run_cli(*argv: str) -> int:
    """Run one of this module's commands the way ``xdd`` does (XddError → message, exit 2)."""
    from xdd.training.cli import main

    return main([str(a) for a in argv])


# --- settings --------------------------------------------------------------------------------


def test_settings_round_trip_through_json_and_a_model_folder(tmp_path) -> None:
    settings = TextSettings(tone="new", segmenter="pyvi", max_tokens=128, overlap_words=4)
    assert TextSettings.from_json(settings.to_json()) == settings
    settings.save(tmp_path)
    loaded = TextSettings.load(tmp_path)
    assert loaded.segmenter_version.startswith("pyvi ")
    assert (loaded.tone, loaded.segmenter, loaded.max_tokens, loaded.overlap_words) == ("new", "pyvi", 128, 4)


def test_a_folder_without_settings_gets_the_defaults(tmp_path) -> None:
    assert TextSettings.load(tmp_path) == TextSettings()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tone": "modern"}, r"cfg.json: 'tone' is 'modern'; expected one of old, new, none"),
        ({"segmenter": "vncorenlp"}, r"cfg.json: 'segmenter' is 'vncorenlp'; expected one of underthesea, pyvi"),
        ({"max_tokens": 2}, r"cfg.json: 'max_tokens' is 2; expected an integer >= 3"),
        ({"max_tokens": "256"}, r"cfg.json: 'max_tokens' is '256'; expected an integer >= 3"),
        ({"overlap_words": -1}, r"cfg.json: 'overlap_words' is -1; expected an integer >= 0"),
        ({"overlap": 3}, r"cfg.json: unknown key\(s\) \['overlap'\]; allowed: max_tokens, overlap_words"),
        (["old"], r"cfg.json: expected a JSON object, got list"),
    ],
)
def test_bad_settings_are_rejected_naming_the_key(data, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TextSettings.from_json(data, source="cfg.json")


def test_unreadable_settings_file_is_reported_with_its_path(tmp_path) -> None:
    (tmp_path / TEXT_SETTINGS_FILE).write_text("{tone: old", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{TEXT_SETTINGS_FILE}: cannot read the text settings"):
        TextSettings.load(tmp_path)


def test_a_model_from_another_segmenter_version_warns() -> None:
    with pytest.warns(UserWarning, match="trained with underthesea 0.0.1 but underthesea .* is installed"):
        TextPipeline(TextSettings(segmenter_version="underthesea 0.0.1"))


# --- words -----------------------------------------------------------------------------------


def test_words_carry_original_spans_and_normalised_segmented_forms() -> None:
    text = "Xem: Ban Thường vụ Huyện ủy Cao Lộc hóa"
    words = TextPipeline(TextSettings()).words(text, start=5)
    assert [w.form for w in words] == ["Ban", "Thường_vụ", "Huyện_uỷ", "Cao_Lộc", "hoá"]
    assert [text[w.start : w.end] for w in words] == ["Ban", "Thường vụ", "Huyện ủy", "Cao Lộc", "hóa"]


def test_presegmented_words_keep_their_underscores_in_the_original() -> None:
    text = "Ban_Thường_vụ Huyện_ủy ."
    words = TextPipeline(TextSettings(segmenter="presegmented")).words(text)
    assert [(text[w.start : w.end], w.form) for w in words] == [
        ("Ban_Thường_vụ", "Ban_Thường_vụ"), ("Huyện_ủy", "Huyện_uỷ"), (".", "."),
    ]  # fmt: skip


def test_words_never_straddle_punctuation_so_entity_edges_there_need_no_split() -> None:
    text = "LSO-Năm 2017 là năm thứ hai"
    entities = [Entity(0, 3, "ORG"), Entity(4, 12, "DATE")]
    words, tags, split = TextPipeline(TextSettings()).labelled_words(text, 0, len(text), entities)
    assert split == 0
    assert [text[w.start : w.end] for w in words][:4] == ["LSO", "-", "Năm", "2017"]
    assert tags[:4] == ["B-ORG", "O", "B-DATE", "I-DATE"]


def test_labelled_words_split_at_entity_edges_inside_a_word_and_count_them() -> None:
    text = "Ban Thường vụ Huyện ủy"
    words, tags, split = TextPipeline(TextSettings()).labelled_words(text, 0, len(text), [Entity(0, 10, "ORG")])
    assert split == 1
    assert [text[w.start : w.end] for w in words][:3] == ["Ban", "Thường", "vụ"]
    assert tags[:3] == ["B-ORG", "I-ORG", "O"]


def test_numbers_keep_their_inner_punctuation_in_one_word() -> None:
    text = "có 1.324 đảng viên ngày 23/01/2021, giai đoạn 2017-2022"
    forms = [text[w.start : w.end] for w in TextPipeline(TextSettings()).words(text)]
    assert {"1.324", "23/01/2021"} <= set(forms) and "," in forms


def test_word_level_use_needs_no_tokenizer_but_encoding_does() -> None:
    bare = TextPipeline(TextSettings())
    assert bare.words("Huyện ủy")
    with pytest.raises(ConfigError, match="no tokenizer; build it with one to encode documents"):
        bare.encode_document(Document("d", "Huyện ủy"))


# --- documents -------------------------------------------------------------------------------


def test_a_document_without_paragraphs_is_encoded_line_by_line(pipeline) -> None:
    encoded = pipeline.encode_document(Document("d", "  Dòng một.\n\nDòng hai.  \n"))
    assert encoded.paragraphs == [(2, 11), (13, 22)]
    assert encoded.word_tags is None
    assert [w.paragraph for w in encoded.windows] == [0, 1]


def test_gold_paragraphs_are_used_when_present(pipeline) -> None:
    doc = Document("d", "Một. Hai.\nBa.", paragraphs=[Paragraph(0, 4), Paragraph(5, 9), Paragraph(10, 13)])
    assert len(pipeline.encode_document(doc).words) == 3


def test_long_sentences_and_overlong_words_are_counted_not_dropped(tiny_model_dir) -> None:
    tight = TextPipeline.from_pretrained(tiny_model_dir, TextSettings(max_tokens=6, overlap_words=1))
    text = "Ban Thường vụ Huyện ủy Cao Lộc đã quan tâm lãnh đạo chỉ đạo tổ chức thực hiện Xyzzyqwvkjxz"
    encoded = tight.encode_document(Document("d", text))
    assert encoded.stats["overlapping_windows"] > 0
    assert encoded.stats["cut_words"] == 1
    assert encoded.stats["max_tokens"] <= 6
    covered = {i for w in encoded.windows for i in w.input_ids[1:-1]}
    assert set(tight.subword_ids("Xyzzyqwvkjxz")) <= covered


def test_unknown_characters_become_unk_subwords_and_are_counted(pipeline) -> None:
    """An unknown *letter* (symbols such as ☃ separate words and never reach the tokenizer)."""
    encoded = pipeline.encode_document(Document("d", "Huyện ủy ꙮ"))
    assert encoded.stats["unk_subwords"] >= 1
    assert pipeline.tokenizer.unk_token_id in encoded.windows[0].input_ids


def test_token_labels_need_labels_and_known_tags(pipeline) -> None:
    unlabelled = pipeline.encode_document(Document("d", "Huyện ủy"))
    with pytest.raises(ValueError, match=r"encoded without labels; use encode_document\(doc, with_labels=True\)"):
        unlabelled.token_labels(unlabelled.windows[0], {"O": 0})
    labelled = pipeline.encode_document(Document("d", "Huyện ủy", [Entity(0, 8, "ORG")]), with_labels=True)
    with pytest.raises(ConfigError, match=r"tag 'B-ORG' is not in the label scheme \['O'\]"):
        labelled.token_labels(labelled.windows[0], {"O": 0})


def test_decoding_gives_entities_on_the_original_text_with_mean_scores() -> None:
    text = unicodedata.normalize("NFD", "Bí thư Huyện ủy Vũ Đại Thắng")
    pipeline = TextPipeline(TextSettings(segmenter="none"))
    words = pipeline.words(text)
    tags = ["B-POSITION"] + ["I-POSITION"] * 3 + ["I-PER"] * 3  # I-PER after I-POSITION starts a new entity
    entities = entities_from_tags(text, words, tags, [0.5, 1.0, 1.0, 0.5, 0.2, 0.2, 0.2])
    person = text.index(" V") + 1
    assert [(e.start, e.end, e.label, e.text) for e in entities] == [
        (0, person - 1, "POSITION", text[: person - 1]),
        (person, len(text), "PER", text[person:]),
    ]
    assert entities[0].score == pytest.approx(0.75)


def test_decoding_rejects_tags_that_do_not_match_the_words() -> None:
    pipeline = TextPipeline(TextSettings())
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        entities_from_tags("Cao Lộc họp", pipeline.words("Cao Lộc họp"), ["O"])


def test_a_folder_without_a_tokenizer_is_reported_as_unavailable(tmp_path) -> None:
    with pytest.raises(BackboneUnavailable, match=f"{tmp_path}: cannot load a tokenizer"):
        TextPipeline.from_pretrained(tmp_path)


def test_fixture_corpus_entities_all_come_back_exactly(pipeline) -> None:
    docs = read_documents(FIXTURES)
    tag_ids = {tag: k for k, tag in enumerate(PARTY_BUILDING.bio_tags())}
    report = text_cli.check_alignment(lambda: pipeline, docs, tag_ids)
    assert report["entities"] == report["recovered"] == 16
    assert report["split_words"] == 0  # "LSO-Năm" is three words: split at punctuation already


@pytest.mark.skipif(not any(GOLD.glob("*.jsonl")), reason="the gold corpus is not written yet")
def test_gold_corpus_entities_all_come_back_exactly_within_256_tokens(tiny_model_dir, capsys) -> None:
    assert run_cli("check-alignment", GOLD, "--model", tiny_model_dir, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recovered"] == report["entities"] > 0
    assert report["max_tokens"] <= 256


# --- xdd check-alignment ---------------------------------------------------------------------


def test_check_alignment_prints_a_table_and_json_with_the_summary_keys(tiny_model_dir, capsys) -> None:
    assert run_cli("check-alignment", FIXTURES, "--model", tiny_model_dir) == 0
    table = capsys.readouterr().out
    assert "recovered exactly            16 (100.0%)" in table and "chars/s" in table
    assert run_cli("check-alignment", FIXTURES, "--model", tiny_model_dir, "--json", "--segmenter", "pyvi") == 0
    report = json.loads(capsys.readouterr().out)
    assert set(text_cli.SUMMARY_KEYS) <= set(report)
    assert report["segmenter"] == "pyvi" and report["chars_per_s"] > 0


def test_check_alignment_rejects_labels_outside_the_scheme(tiny_model_dir, tmp_path, capsys) -> None:
    shutil.copy(FIXTURES / "tricky.jsonl", tmp_path / "c.jsonl")
    (tmp_path / "labels.json").write_text(json.dumps({"entities": ["PER"], "topics": []}), encoding="utf-8")
    assert run_cli("check-alignment", tmp_path, "--model", tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert "id=tricky: entity label(s) ['DATE', 'DOCUMENT', 'LOC', 'ORG', 'POSITION'] are not in" in err


def test_check_alignment_reports_a_bad_labels_json_by_path_without_a_traceback(tiny_model_dir, tmp_path, capsys):
    shutil.copy(FIXTURES / "tricky.jsonl", tmp_path / "c.jsonl")
    (tmp_path / "labels.json").write_text(json.dumps({"entities": "PER"}), encoding="utf-8")
    assert run_cli("check-alignment", tmp_path, "--model", tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert f"xdd: error: {tmp_path / 'labels.json'}: 'entities' must be a list of non-empty strings" in err
    assert "Traceback" not in err


def test_check_alignment_exits_1_when_an_entity_is_lost(tiny_model_dir, tmp_path, capsys) -> None:
    text = "Huyện ủy Cao Lộc"
    doc = Document("d", text, [Entity(0, 8, "ORG", text[:8]), Entity(0, 16, "ORG", text)])  # overlapping: one is lost
    (tmp_path / "c.jsonl").write_text(doc.to_jsonl_line() + "\n", encoding="utf-8")
    assert run_cli("check-alignment", tmp_path, "--model", tiny_model_dir) == 1
    assert "missed: id=d [0, 16) ORG 'Huyện ủy Cao Lộc'" in capsys.readouterr().out


def test_check_alignment_reports_a_missing_corpus(tiny_model_dir, tmp_path, capsys) -> None:
    assert run_cli("check-alignment", tmp_path / "nope", "--model", tiny_model_dir) == 2
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_commands_are_registered_with_the_xdd_dispatcher() -> None:
    parser = argparse.ArgumentParser()
    text_cli.add_commands(parser.add_subparsers())
    args = parser.parse_args(["check-alignment", "c.jsonl", "--model", "m", "--json"])
    assert args.func is text_cli.run_check_alignment and args.json


def test_a_phobert_folder_gets_autotokenizer_s_tokenizer_without_autotokenizer(tiny_model_dir, tmp_path) -> None:
    from transformers import AutoTokenizer, PhobertTokenizer
    from xdd.models.text.pipeline import tokenizer_class

    assert tokenizer_class(tiny_model_dir) is PhobertTokenizer
    direct = TextPipeline.from_pretrained(tiny_model_dir).tokenizer
    auto = AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)
    assert type(direct) is type(auto)
    paragraphs = [p for doc in read_documents(REPO / "data" / "annotations") for p in doc.text.split("\n")][:40]
    assert direct(paragraphs)["input_ids"] == auto(paragraphs)["input_ids"]
    assert (direct.model_max_length, direct.all_special_ids) == (auto.model_max_length, auto.all_special_ids)
    other = tmp_path / "other"
    other.mkdir()
    assert tokenizer_class(other) is AutoTokenizer  # no config: AutoTokenizer decides (and reports)
    (other / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer"}', encoding="utf-8")
    assert tokenizer_class(other) is AutoTokenizer  # it would pick the fast class: not ours to guess
    (other / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    assert tokenizer_class(other) is AutoTokenizer


def test_loading_an_onnx_bundle_does_not_import_torch(tiny_bundle_dir) -> None:
    """Where PyTorch is installed, an ONNX bundle's predicting process still starts without it (1.2 s)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom xdd.models.predict.predictor import Predictor\n"
        f"Predictor.load({str(tiny_bundle_dir)!r}, backend='onnx').predict(['Bí thư Tỉnh ủy Cao Bằng dự hội nghị.'])\n"
        "print(sorted(m for m in ('torch', 'transformers.configuration_utils') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"
