"""Training the CRF + TF-IDF baselines, the model directory, and ``xdd train`` for baselines."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest
from support import FIXTURES_DIR, REPO
from xdd.eval.evaluate import evaluate
from xdd.models.document import Document, Entity, Paragraph, paragraph_spans
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import LabelScheme, scheme_for
from xdd.models.errors import BundleError, ConfigError, CorpusError
from xdd.models.predict.baseline import DESCRIPTION_FILE, BaselineModel
from xdd.models.predict.decode import DEFAULT_THRESHOLD
from xdd.training.baselines import train_baselines
from xdd.training.cli import main
from xdd.training.config import load_config

ROOT = REPO
FIXTURES = FIXTURES_DIR / "baselines"
JOINT, NER_ONLY = FIXTURES / "joint", FIXTURES / "ner_only"
CONFIG = ROOT / "training" / "configs" / "baselines.yaml"


def config_for(corpus: Path, *overrides: str):
    return load_config(CONFIG, [f"data.train={corpus}", *overrides])


@pytest.fixture(scope="module")
def joint_docs() -> list[Document]:
    return read_documents(JOINT)


@pytest.fixture(scope="module")
def joint_model(joint_docs) -> tuple[BaselineModel, float]:
    started = time.perf_counter()
    model = train_baselines(joint_docs, joint_docs[:1], config_for(JOINT), scheme_for(JOINT))
    return model, time.perf_counter() - started


def test_baselines_train_in_seconds_and_fit_their_training_corpus(joint_model, joint_docs):
    model, seconds = joint_model
    assert seconds < 60
    metrics = evaluate(joint_docs, model.predict_documents(joint_docs), scheme=scheme_for(JOINT), n_boot=10)
    assert metrics["ner"]["micro"]["f1"] >= 0.9
    assert metrics["topics"]["paragraph"]["micro"]["f1"] >= 0.8


def test_predictions_keep_the_text_and_score_every_paragraph_for_every_topic(joint_model, joint_docs):
    model, _ = joint_model
    doc = model.predict_documents(joint_docs[:1])[0]
    assert (doc.id, doc.text, doc.meta) == (joint_docs[0].id, joint_docs[0].text, joint_docs[0].meta)
    assert [(p.start, p.end) for p in doc.paragraphs] == paragraph_spans(doc.text)
    assert all(set(p.scores) == set(model.scheme.topics) for p in doc.paragraphs)
    assert all(e.text == doc.text[e.start : e.end] and 0 < e.score <= 1 for e in doc.entities)


def test_raw_texts_get_their_position_as_id(joint_model):
    model, _ = joint_model
    docs = model.predict_documents(["Đồng chí Nguyễn Văn An nói.", "Huyện ủy họp."])
    assert [d.id for d in docs] == ["0", "1"]


def test_topics_at_or_above_their_threshold_are_predicted(joint_model, joint_docs):
    model, _ = joint_model
    everything = BaselineModel(model.scheme, model.text, None, model.topics, {t: 0.0 for t in model.scheme.topics})
    doc = everything.predict_documents(joint_docs[:1])[0]
    assert all(p.topics == list(model.scheme.topics) for p in doc.paragraphs) and doc.entities == []


def test_the_paragraphs_a_caller_gives_are_the_ones_predicted(joint_model, joint_docs):
    model, _ = joint_model
    gold = joint_docs[0]
    first, second = gold.paragraphs[0], gold.paragraphs[1]
    given = Document(gold.id, gold.text, paragraphs=[Paragraph(first.start, second.end)])
    (doc,) = model.predict_documents([given])
    assert [(p.start, p.end) for p in doc.paragraphs] == [(first.start, second.end)]
    assert all(first.start <= e.start and e.end <= second.end for e in doc.entities)


def test_without_tuned_thresholds_the_one_default_threshold_decides(joint_model, joint_docs):
    model, _ = joint_model
    untuned = BaselineModel(model.scheme, model.text, None, model.topics, {})
    (doc,) = untuned.predict_documents(joint_docs[:1])
    for paragraph in doc.paragraphs:
        assert paragraph.topics == [t for t in model.scheme.topics if paragraph.scores[t] >= DEFAULT_THRESHOLD]


def test_save_then_load_gives_the_same_predictions_and_no_pickle(joint_model, joint_docs, tmp_path):
    model, _ = joint_model
    model.save(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [DESCRIPTION_FILE, "ner.crfsuite", "topics.json", "topics.safetensors"]
    assert not any(p.read_bytes().startswith(b"\x80") for p in tmp_path.iterdir())
    loaded = BaselineModel.load(tmp_path)
    before = [d.to_jsonl_line() for d in model.predict_documents(joint_docs)]
    assert [d.to_jsonl_line() for d in loaded.predict_documents(joint_docs)] == before
    assert loaded.thresholds == model.thresholds


def test_saving_twice_writes_identical_files(joint_model, tmp_path):
    model, _ = joint_model
    model.save(tmp_path / "a")
    model.save(tmp_path / "b")
    assert all((tmp_path / "a" / p.name).read_bytes() == p.read_bytes() for p in (tmp_path / "b").iterdir())


def test_a_ner_only_corpus_with_its_own_ten_labels_trains_the_crf_only():
    scheme = scheme_for(NER_ONLY)
    assert len(scheme.entities) == 10 and scheme.topics == ()
    docs = read_documents(NER_ONLY)
    model = train_baselines(docs[:3], docs[3:], config_for(NER_ONLY), scheme)
    assert model.topics is None and model.tagger is not None
    predicted = model.predict_documents(docs[3:])[0]
    assert {e.label for e in predicted.entities} <= set(scheme.entities) and predicted.entities
    assert all(p.topics == [] and p.scores is None for p in predicted.paragraphs)


def test_a_scheme_without_entity_labels_trains_the_topic_model_only(joint_docs):
    scheme = LabelScheme((), scheme_for(JOINT).topics)
    stripped = [Document(d.id, d.text, [], d.paragraphs, d.meta) for d in joint_docs]
    model = train_baselines(stripped, stripped[:1], config_for(JOINT), scheme)
    assert model.tagger is None and model.topics is not None
    assert model.predict_documents(stripped[:1])[0].entities == []


def test_task_ner_trains_no_topic_model_even_when_the_corpus_has_topics(joint_docs):
    model = train_baselines(joint_docs, joint_docs[:1], config_for(JOINT, "task=ner"), scheme_for(JOINT))
    assert model.topics is None and model.thresholds == {}


def test_a_topic_without_positive_training_paragraphs_is_never_predicted(joint_docs, caplog):
    scheme = scheme_for(JOINT)
    never = [
        replace(d, paragraphs=[replace(p, topics=[t for t in p.topics if t != "training"]) for p in d.paragraphs])
        for d in joint_docs
    ]
    with caplog.at_level(logging.WARNING):
        model = train_baselines(never, never[:1], config_for(JOINT, "task=topics"), scheme)
    assert "topic training: every training paragraph is negative" in caplog.text
    predicted = model.predict_documents(joint_docs)
    assert all(p.scores["training"] == 0.0 and "training" not in p.topics for d in predicted for p in d.paragraphs)


def test_an_entity_label_outside_the_scheme_names_the_document_and_span(joint_docs):
    bad = Document("bad", "Hà Nội", [Entity(0, 6, "CITY")], [Paragraph(0, 6)], {})
    with pytest.raises(CorpusError, match=r"document 'bad': entities\[0\] .*unknown label 'CITY'"):
        train_baselines([bad], [bad], config_for(JOINT), scheme_for(JOINT))


def test_nothing_to_train_is_a_config_error_naming_the_task(joint_docs):
    with pytest.raises(ConfigError, match="nothing to train: task 'topics'"):
        train_baselines(joint_docs, joint_docs, config_for(NER_ONLY, "task=topics"), scheme_for(NER_ONLY))


def test_loading_a_folder_without_baseline_json_names_the_file(tmp_path):
    with pytest.raises(BundleError, match=f"{tmp_path / DESCRIPTION_FILE}: cannot read the xdd baseline model description"):
        BaselineModel.load(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [({"format": "other"}, "not an xdd baseline model description"), ({"format_version": 99}, "format_version 99")],
)
def test_loading_a_foreign_or_newer_description_is_refused(joint_model, tmp_path, change, message):
    joint_model[0].save(tmp_path)
    description = json.loads((tmp_path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    (tmp_path / DESCRIPTION_FILE).write_text(json.dumps({**description, **change}), encoding="utf-8")
    with pytest.raises(BundleError, match=message):
        BaselineModel.load(tmp_path)


def test_xdd_train_writes_the_run_folder_and_says_where_results_are(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--config", str(CONFIG), "--set", f"data.train={JOINT}", "--out", str(out), "--resume"])
    captured = capsys.readouterr()
    assert code == 0
    assert "--resume has nothing to resume" in captured.err
    # 4 documents < data.oof_below: thresholds chosen out of fold, the model trained on all of them,
    # so the dev document's figures are training figures and are written as such
    assert f"train: {out / 'train'} (entity F1" in captured.out and "topic F1" in captured.out
    for name in ("config.yaml", "corpus.json", "versions.json", "git.json", "train.log", "model/baseline.json",
                 "train/metrics.json", "train/predictions.jsonl", "train/report.html"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "dev").exists()
    assert BaselineModel.load(out / "model").scheme == scheme_for(JOINT)


def test_xdd_train_evaluates_an_explicit_test_corpus(tmp_path, capsys):
    docs = read_documents(JOINT)
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train.write_text("".join(d.to_jsonl_line() + "\n" for d in docs[:3]), encoding="utf-8")
    test.write_text(docs[3].to_jsonl_line() + "\n", encoding="utf-8")
    args = ["train", "--config", str(CONFIG), "--out", str(tmp_path / "run"),
            "--set", f"data.train={train}", "--set", f"data.test={test}"]  # fmt: skip
    assert main(args) == 0
    assert "test: " in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "test" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_documents"] == 1


def test_documents_without_words_are_a_corpus_error():
    with pytest.raises(CorpusError, match=r"the 1 training document\(s\) contain no words"):
        train_baselines([Document("empty", "")], [], config_for(JOINT), scheme_for(JOINT))


def test_a_tfidf_min_df_above_the_paragraph_count_names_the_config_key(joint_docs):
    with pytest.raises(ConfigError, match="lower 'tfidf.min_df'"):
        train_baselines(joint_docs, joint_docs, config_for(JOINT, "task=topics", "tfidf.min_df=100"), scheme_for(JOINT))


def test_a_topic_model_for_other_topics_than_the_scheme_is_refused(joint_model):
    model, _ = joint_model
    with pytest.raises(BundleError, match="differ from the scheme's"):
        BaselineModel(LabelScheme(model.scheme.entities, ("other",)), model.text, None, model.topics)


def test_crf_tags_outside_the_scheme_are_refused_naming_them(joint_model):
    model, _ = joint_model
    with pytest.raises(BundleError, match=r"CRF tags \['B-DATE', .*\] are not IOB2 tags of the scheme \['PER'\]"):
        BaselineModel(LabelScheme(("PER",), ()), model.text, model.tagger, None)


def test_a_model_without_any_head_is_refused(joint_model):
    with pytest.raises(ValueError, match="needs a CRF tagger, a topic model or both"):
        BaselineModel(joint_model[0].scheme, joint_model[0].text, None, None)


def test_loading_a_description_with_bad_text_settings_names_the_file(joint_model, tmp_path):
    joint_model[0].save(tmp_path)
    description = json.loads((tmp_path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    description["text"]["segmenter"] = "magic"
    (tmp_path / DESCRIPTION_FILE).write_text(json.dumps(description), encoding="utf-8")
    with pytest.raises(BundleError, match=r"baseline\.json: incomplete baseline description .*segmenter"):
        BaselineModel.load(tmp_path)
