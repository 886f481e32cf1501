"""The benchmark machinery: FLOP formula, agreement, batching, collators, the HF twin models, a tiny smoke run."""

from __future__ import annotations

import json

import pytest
from support import FIXTURES_DIR
from xdd.bench.agreement import prediction_agreement
from xdd.bench.flops import EncoderShape, joint_flops, training_flops, two_pass_flops
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.errors import XddError
from xdd.models.predict.batching import length_batches
from xdd.training.cli import main

CORPUS = FIXTURES_DIR / "bench" / "articles.jsonl"
REQUIRED_KEYS = [
    *(f"inference.{row}.{key}" for row in ("torch_fp32", "onnx_fp32", "onnx_int8", "hf_pipeline")
      for key in ("docs_per_s", "peak_rss_mb", "fraction_of_limit")),
    "training.ours.tokens_per_s", "training.fixed_padding.tokens_per_s", "limit.matmul_gflops",
    "scaling.time_ratio_4x", "scaling.rss_ratio_4x",
]  # fmt: skip


def lookup(report: dict, dotted: str):
    value = report
    for part in dotted.split("."):
        value = value[part]
    return value


# --- FLOPs --------------------------------------------------------------------


def test_joint_flops_of_one_window_match_a_hand_computation():
    shape = EncoderShape(hidden=4, intermediate=8, layers=2)
    # per layer, 3 tokens: projections 2·3·4·4² = 384, feed-forward 2·3·2·4·8 = 384, attention 4·3²·4 = 144
    encoder = 2 * (384 + 384 + 144)
    token_head, topic_head = 2 * 3 * 4 * 5, 2 * 4 * 2  # 5 tags on every token, 2 topics on <s>
    assert joint_flops(shape, [3], tags=5, topics=2) == encoder + token_head + topic_head == 1960
    assert training_flops(shape, [3], tags=5, topics=2) == 3 * 1960


def test_the_hf_route_counts_two_encoder_passes_and_a_dense_classification_head():
    shape = EncoderShape(hidden=4, intermediate=8, layers=2)
    sequence_head = 2 * 4 * 4 + 2 * 4 * 2  # dense(h, h) + out_proj(h, 2) on <s>
    assert two_pass_flops(shape, [3], tags=5, topics=2) == 2 * 1824 + 2 * 3 * 4 * 5 + sequence_head


def test_phobert_base_costs_about_170_megaflops_per_token_before_attention():
    shape = EncoderShape(hidden=768, intermediate=3072, layers=12)
    assert shape.token_flops() == 2 * 12 * (4 * 768**2 + 2 * 768 * 3072) == 169_869_312


# --- agreement, batching, collators ---------------------------------------------


def doc(entities, topics):
    return Document("d", "Ban Tổ chức Huyện uỷ", entities=[Entity(*e) for e in entities],
                    paragraphs=[Paragraph(0, 20, topics, {"training": 0.5, "cadre_planning": 0.5})])  # fmt: skip


def test_agreement_is_exact_only_when_entities_and_topic_decisions_are_identical():
    same = prediction_agreement([doc([(0, 3, "ORG")], ["training"])], [doc([(0, 3, "ORG")], ["training"])])
    assert same["exact"] and same["entity_f1"] == 1.0 and same["topic_agreement"] == 1.0


def test_agreement_scores_a_moved_entity_and_a_flipped_topic():
    reference = [doc([(0, 3, "ORG"), (12, 20, "ORG")], ["training"])]
    other = [doc([(0, 3, "ORG"), (12, 19, "ORG")], [])]
    result = prediction_agreement(reference, other)
    assert result["entity_f1"] == pytest.approx(0.5)  # 1 of 2 on each side
    assert result["topic_agreement"] == pytest.approx(0.5)  # training flipped, cadre_planning kept
    assert not result["exact"]


def test_agreement_refuses_prediction_lists_of_different_lengths():
    with pytest.raises(ValueError, match="cannot compare 1 predicted documents with 0"):
        prediction_agreement([doc([], [])], [])


def test_length_batches_close_a_batch_before_padding_exceeds_ten_percent():
    lengths = [100, 240, 110, 3, 4, 230]
    batches = length_batches(lengths, batch_size=16)
    assert batches == [[3, 4], [0, 2], [5, 1]]  # tiny windows together; 100/110 and 230/240 apart
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))


def test_length_batches_never_exceed_the_batch_size():
    assert [len(b) for b in length_batches([5] * 10, batch_size=4)] == [4, 4, 2]


def test_fixed_padding_collator_pads_every_window_to_max_tokens_and_counts_real_tokens():
    from xdd.bench.training_rows import CountingCollator, FixedPaddingCollator

    collate = CountingCollator(FixedPaddingCollator(pad_id=1, length=8))
    features = [{"input_ids": [0, 5, 2], "labels": [-100, 3, -100]}, {"input_ids": [0, 2], "labels": [-100, -100]}]
    batch = collate(features)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, 8)
    assert batch["input_ids"][1].tolist() == [0, 2, 1, 1, 1, 1, 1, 1]
    assert batch["labels"][0, 3:].eq(-100).all()
    assert (collate.real, collate.computed) == (5, 16)


# --- with a tiny model ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory):
    from xdd.bench.artifacts import prepare

    work = tmp_path_factory.mktemp("bench")
    return work, prepare(work, "tiny", CORPUS, say=lambda message: None)


def test_hf_twin_models_give_the_joint_models_logits(tiny_bench):
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )
    from xdd.models.predict.torch_backend import TransformerPredictor

    _, models = tiny_bench
    ours = TransformerPredictor.load(models.bundle).model
    token = AutoModelForTokenClassification.from_pretrained(str(models.hf_token)).eval()
    sequence = AutoModelForSequenceClassification.from_pretrained(str(models.hf_sequence)).eval()
    ids = torch.tensor([[0, 8, 9, 10, 2]])
    with torch.inference_mode():
        expected = ours(input_ids=ids)
        assert torch.allclose(token(input_ids=ids).logits, expected["ner_logits"], atol=1e-5)
        hidden = sequence.roberta(input_ids=ids).last_hidden_state
    assert torch.allclose(hidden, ours.encoder(input_ids=ids).last_hidden_state, atol=1e-5)
    assert sequence.config.problem_type == "multi_label_classification"


def test_quick_bench_of_the_tiny_shape_writes_every_required_key_with_positive_figures(tiny_bench, capsys):
    work, _ = tiny_bench
    out = work / "results.json"
    code = main(["bench", "--quick", "--shape", "tiny", "--corpus", str(CORPUS), "--work", str(work),
                 "--threads", "1", "--json", str(out)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in REQUIRED_KEYS:
        assert lookup(report, key) > 0, key
    assert report["inference"]["onnx_fp32"]["agreement_with_torch_fp32"]["exact"]
    assert report["training"]["ours"]["real_tokens"] == report["training"]["fixed_padding"]["real_tokens"]
    fixed = report["training"]["fixed_padding"]
    assert fixed["computed_tokens"] == 256 * fixed["windows"]
    assert {t["target"].split(" ")[0] for t in report["targets"]} >= {"onnx_int8", "training"}
    printed = capsys.readouterr().out
    assert "hf_pipeline" in printed and "Targets" in printed


# --- errors ---------------------------------------------------------------------------


def test_bench_with_a_missing_corpus_stops_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-corpus"
    assert main(["bench", "--quick", "--corpus", str(missing), "--work", str(tmp_path)]) == 2
    assert f"{missing}: no such file or directory" in capsys.readouterr().err


def test_bench_refuses_zero_threads_and_zero_documents(tmp_path, capsys):
    assert main(["bench", "--threads", "0", "--corpus", str(CORPUS), "--work", str(tmp_path)]) == 2
    assert "--threads 0: expected an integer >= 1" in capsys.readouterr().err
    assert main(["bench", "--documents", "0", "--corpus", str(CORPUS), "--work", str(tmp_path)]) == 2
    assert "--documents 0: expected an integer >= 1" in capsys.readouterr().err


def test_a_failing_row_is_reported_with_its_log(tmp_path):
    from xdd.bench.suite import BenchSettings, RowRunner

    runner = RowRunner(BenchSettings(corpus=CORPUS, work=tmp_path, threads=1), tmp_path / "logs", lambda m: None)
    with pytest.raises(XddError) as err:
        runner.run("broken", {"kind": "no-such-row"})
    message = str(err.value)
    assert "benchmark row 'broken' failed" in message and str(tmp_path / "logs" / "broken.log") in message
    assert "unknown benchmark row kind 'no-such-row'; expected one of ours, hf_pipeline" in message
