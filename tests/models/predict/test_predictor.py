"""``Predictor``: one loader for every bundle; same predictions after save/load, batching, and across backends."""

from __future__ import annotations

import shutil

import pytest
from xdd.models.document import Document
from xdd.models.document.corpus import read_documents
from xdd.models.errors import BundleError, ConfigError
from xdd.models.predict import predictor as predictor_module
from xdd.models.predict.predictor import Predictor, check_bundle
from xdd.models.predict.torch_backend import TransformerPredictor
from xdd.models.text.align import spans_to_tags
from xdd.models.text.pipeline import TextPipeline


@pytest.fixture(scope="module")
def texts(model_corpus_path) -> list[str]:
    return [doc.text for doc in read_documents(model_corpus_path)][:3]


LOADERS = [Predictor.load, check_bundle]  # check_bundle refuses what Predictor.load refuses before building


def labels(docs: list[Document]) -> list[tuple]:
    """What a user sees, without the scores: entity spans and labels, paragraph topics."""
    return [
        ([(e.start, e.end, e.label, e.text) for e in d.entities], [(p.start, p.end, p.topics) for p in d.paragraphs])
        for d in docs
    ]


def scores(docs: list[Document]) -> list[float]:
    entity_scores = [e.score for d in docs for e in d.entities]
    return entity_scores + [s for d in docs for p in d.paragraphs for s in p.scores.values()]


def test_transformer_and_baseline_bundles_load_through_the_same_predictor(tiny_bundle_dir, baseline_bundle_dir, texts):
    for bundle, kind in ((tiny_bundle_dir, "transformer"), (baseline_bundle_dir, "baselines")):
        predictor = Predictor.load(bundle)
        assert predictor.kind == kind and predictor.name == bundle.name
        docs = predictor.predict(texts)
        assert [d.id for d in docs] == ["0", "1", "2"]
        assert any(d.entities for d in docs) and all(d.paragraphs for d in docs)


def test_predictions_carry_entities_on_the_original_text_and_paragraph_and_document_topics(baseline_bundle_dir, texts):
    (doc,) = Predictor.load(baseline_bundle_dir).predict([texts[0]])
    assert doc.text == texts[0] and doc.entities
    for entity in doc.entities:
        assert entity.text == texts[0][entity.start:entity.end] and 0.0 <= entity.score <= 1.0
    paragraph = doc.paragraphs[0]
    assert set(paragraph.scores) == set(Predictor.load(baseline_bundle_dir).scheme.topics)
    assert set(doc.topics) == {t for p in doc.paragraphs for t in p.topics}


def test_a_bundle_predicts_what_the_trained_model_predicted(tiny_run_dir, tiny_bundle_dir, texts):
    trained = TransformerPredictor.load(tiny_run_dir / "model").predict_documents(texts)
    loaded = Predictor.load(tiny_bundle_dir).predict(texts)
    assert labels(loaded) == labels(trained)
    assert scores(loaded) == pytest.approx(scores(trained), abs=1e-6)


def test_batched_predictions_equal_one_by_one_predictions(tiny_bundle_dir, texts):
    predictor = Predictor.load(tiny_bundle_dir, batch_size=4)
    together = predictor.predict(texts)
    alone = [predictor.predict([text])[0] for text in texts]
    assert labels(together) == labels(alone)
    assert scores(together) == pytest.approx(scores(alone), abs=1e-5)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_backends_predict_the_same_labels_as_torch(tiny_bundle_dir, texts, backend):
    torch_docs = Predictor.load(tiny_bundle_dir, backend="torch").predict(texts)
    onnx_docs = Predictor.load(tiny_bundle_dir, backend=backend).predict(texts)
    if backend == "onnx":
        assert labels(onnx_docs) == labels(torch_docs)
        assert scores(onnx_docs) == pytest.approx(scores(torch_docs), abs=1e-4)
    else:  # int8 approximates fp32: at least 95 % of word tags agree, topic probabilities within 0.05
        assert word_tag_agreement(tiny_bundle_dir, torch_docs, onnx_docs) >= 0.95
        assert topic_scores(onnx_docs) == pytest.approx(topic_scores(torch_docs), abs=0.05)


def word_tag_agreement(bundle, expected: list[Document], got: list[Document]) -> float:
    """The fraction of the pipeline's words that get the same IOB2 tag in both predictions."""
    pipeline = TextPipeline.from_pretrained(bundle)
    same = total = 0
    for a, b in zip(expected, got, strict=True):
        words = pipeline.words(a.text)
        tags_a, tags_b = spans_to_tags(words, a.entities), spans_to_tags(words, b.entities)
        same += sum(x == y for x, y in zip(tags_a, tags_b))
        total += len(words)
    return same / total


def topic_scores(docs: list[Document]) -> list[float]:
    return [v for d in docs for p in d.paragraphs for v in (p.scores or {}).values()]


def test_documents_keep_their_ids_and_meta(baseline_bundle_dir, texts):
    (doc,) = Predictor.load(baseline_bundle_dir).predict([Document("my-id", texts[1], meta={"source": "x"})])
    assert doc.id == "my-id" and doc.meta == {"source": "x"}


@pytest.mark.parametrize("load", LOADERS)
def test_a_corrupted_weight_file_is_refused_with_the_file_named(tiny_bundle_dir, tmp_path, load):
    bundle = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, bundle)
    weights = bundle / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model.safetensors: SHA-256 differs from SHA256SUMS"):
        load(bundle)


def test_an_edited_manifest_is_refused(baseline_bundle_dir, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(baseline_bundle_dir, bundle)
    manifest = bundle / "SHA256SUMS"
    first, rest = manifest.read_text().split("\n", 1)
    manifest.write_text(("0" * 64) + first[64:] + "\n" + rest)
    with pytest.raises(BundleError, match=r"(?s)SHA-256 differs from SHA256SUMS.*re-export it"):
        Predictor.load(bundle)


def test_a_training_run_model_folder_is_not_a_bundle(tiny_run_dir):
    with pytest.raises(BundleError, match="no SHA256SUMS manifest.*`xdd export RUN --out FOLDER`"):
        Predictor.load(tiny_run_dir / "model")


@pytest.mark.parametrize("load", LOADERS)
def test_the_onnx_backend_of_a_baseline_bundle_is_refused(baseline_bundle_dir, load):
    with pytest.raises(ConfigError, match="baselines bundle .* has no ONNX model; use backend 'torch'"):
        load(baseline_bundle_dir, backend="onnx")


@pytest.mark.parametrize("load", LOADERS)
def test_the_onnx_backend_of_a_bundle_exported_without_onnx_says_how_to_add_it(tiny_run_dir, tmp_path, load):
    from xdd.models.export.bundle import export_run

    export_run(tiny_run_dir, tmp_path / "plain")
    with pytest.raises(BundleError, match=r"has no model.onnx; export it with `xdd export RUN .* --onnx"):
        load(tmp_path / "plain", backend="onnx")


def test_checking_a_bundle_builds_no_model(tiny_bundle_dir, baseline_bundle_dir, monkeypatch):
    """What Ray's driver calls: the manifest and options, and the bundle's description back."""

    def builds(*args, **kwargs):
        raise AssertionError("check_bundle built a model")

    for name in ("_baselines", "_torch", "_onnx"):
        monkeypatch.setattr(predictor_module, name, builds)
    assert check_bundle(tiny_bundle_dir, backend="onnx-int8", device="cuda")["kind"] == "transformer"
    assert check_bundle(baseline_bundle_dir)["kind"] == "baselines"
    with pytest.raises(AssertionError, match="built a model"):
        Predictor.load(baseline_bundle_dir)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "tensorrt"}, "backend 'tensorrt': expected one of torch, onnx, onnx-int8"),
        ({"batch_size": 0}, "batch_size 0: expected an integer >= 1"),
        ({"device": "cuda"}, "baselines run on the CPU only"),
    ],
)
@pytest.mark.parametrize("load", LOADERS)
def test_bad_load_options_are_refused_with_the_option_named(baseline_bundle_dir, options, message, load):
    with pytest.raises(ConfigError, match=message):
        load(baseline_bundle_dir, **options)


def test_a_bad_torch_device_is_refused(tiny_bundle_dir):
    with pytest.raises(ConfigError, match="device 'gpu0'"):
        Predictor.load(tiny_bundle_dir, device="gpu0")


def test_transformers_run_the_same_conventions_step_as_the_baselines_saved_in_the_bundle(tiny_bundle_dir, texts):
    from xdd.models.predict.conventions import apply_conventions

    predictor = TransformerPredictor.load(tiny_bundle_dir)
    assert predictor.conventions is True  # a party-building model
    predictor.conventions = False
    raw = predictor.predict_documents(texts)
    predictor.conventions = True
    assert [d.entities for d in predictor.predict_documents(texts)] == [apply_conventions(d).entities for d in raw]
    onnx = Predictor.load(tiny_bundle_dir, backend="onnx").predict(texts)
    assert labels(onnx) == labels(predictor.predict_documents(texts))


def test_a_missing_or_incomplete_transformer_description_is_named(tmp_path):
    from xdd.models.predict.batching import MODEL_INFO_FILE, read_model_info

    with pytest.raises(BundleError, match=rf"{MODEL_INFO_FILE}: cannot read the transformer model description"):
        read_model_info(tmp_path)
    (tmp_path / MODEL_INFO_FILE).write_text('{"thresholds": {}}', encoding="utf-8")
    with pytest.raises(BundleError, match=r"incomplete transformer model description \('labels'\); re-export"):
        read_model_info(tmp_path)
