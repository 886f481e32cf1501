"""The benchmark machinery: FLOPs, agreement, batching, collators, the HF twins, calibration, a small run, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import FIXTURES_DIR
from xdd.bench.agreement import prediction_agreement
from xdd.bench.flops import EncoderShape, joint_flops, training_flops, two_pass_flops
from xdd.bench.suite import PEERS
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.errors import XddError
from xdd.models.predict.batching import length_batches
from xdd.training.cli import main

CORPUS = FIXTURES_DIR / "bench" / "articles.jsonl"
REQUIRED_KEYS = [
    *(f"inference.{row}.{key}" for row in ("torch_fp32", "onnx_fp32", "onnx_int8", *PEERS)
      for key in ("docs_per_s", "peak_rss_mb", "fraction_of_limit.median", "achieved_gflops.min")),
    *(f"inference.{row}.vs.{peer}.{task}.median" for row in ("onnx_fp32", "onnx_int8") for peer in PEERS
      for task in ("both", "ner", "topics")),
    "training.ours.tokens_per_s", "training.fixed_padding.tokens_per_s", "limit.matmul_gflops.median",
    "scaling.time_ratio_4x.median", "scaling.rss_ratio_4x", "preprocessing.chars_per_s",
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


def test_every_section_of_a_small_run_has_positive_figures(small_report):
    for key in REQUIRED_KEYS:
        assert lookup(small_report, key) > 0, key
    inference = small_report["inference"]
    assert inference["onnx_fp32"]["agreement_with_torch_fp32"]["exact"]
    assert {row: len(figures["rounds"]) for row, figures in inference.items()} == {row: 2 for row in inference}
    assert set(inference["onnx_fp32"]["vs"]) == set(PEERS)
    assert set(inference["tutorial_script"]["rounds"][0]["task_seconds"]) == {"ner", "topics"}


def test_each_round_runs_every_row_with_the_order_rotated(small_report):
    positions = {row: [r["position"] for r in figures["rounds"]] for row, figures in small_report["inference"].items()}
    positions["limit"] = [r["position"] for r in small_report["limit"]["rounds"]]
    assert positions["limit"] == [0, 6] and positions["torch_fp32"] == [1, 0]  # round 2 starts one row later
    assert sorted(p[1] for p in positions.values()) == list(range(7))


def test_the_share_of_the_limit_is_taken_against_the_same_rounds_limit(small_report):
    limits = small_report["limit"]["matmul_gflops"]["rounds"]
    row = small_report["inference"]["onnx_fp32"]
    expected = [achieved / limit for achieved, limit in zip(row["achieved_gflops"]["rounds"], limits)]
    assert row["fraction_of_limit"]["rounds"] == pytest.approx(expected)


def test_the_limit_is_the_faster_library_of_each_round(small_report):
    limit = small_report["limit"]
    assert set(limit["by_library"]) == {"torch", "onnxruntime"}
    for measured in limit["rounds"]:
        assert measured["gflops"] == max(measured["by_library"].values()) > 0
        assert measured["by_library"][measured["library"]] == measured["gflops"]
    assert limit["matmul_gflops"]["rounds"] == [r["gflops"] for r in limit["rounds"]]
    assert limit["by_library"]["onnxruntime"]["rounds"] == [r["by_library"]["onnxruntime"] for r in limit["rounds"]]


def test_the_machine_is_named_with_its_cpu_family_beside_the_model_name():
    from xdd.bench.suite import machine

    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    family = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("cpu family")), None)
    assert machine()["cpu_family"] == family and machine()["cores"] >= 1


def test_the_best_batch_size_row_uses_the_calibrated_sizes(small_report):
    best = small_report["inference"]["hf_pipeline_best"]
    windows = min(8, small_report["workload"]["windows"])  # calibration_windows = 8
    for task, calibration in best["calibration"].items():
        assert set(calibration["seconds"]) == {"1", "4"} and calibration["windows"] == windows
        assert best["batch_size"][task] == calibration["best"]
    assert small_report["inference"]["hf_pipeline"]["batch_size"] == {"ner": 1, "topics": 1}


def test_training_with_four_steps_is_judged_and_scaling_on_one_document_is_skipped(small_report):
    training = small_report["training"]
    assert training["ours"]["steps"] == training["fixed_padding"]["steps"] == 4  # of the timed epoch
    assert training["ours"]["epochs"] == training["fixed_padding"]["epochs"] == "the last of 2"
    assert training["ours"]["real_tokens"] == training["fixed_padding"]["real_tokens"]
    assert training["fixed_padding"]["computed_tokens"] == 256 * training["fixed_padding"]["windows"]
    status = {t["target"].split(" (")[0].split(",")[0]: t["status"] for t in small_report["targets"]}
    assert status["training real tokens/s"] in {"PASS", "MISS"}
    assert status["time for 4N vs N documents"] == status["peak memory for 4N vs N documents"] == "SKIPPED"
    assert len(small_report["scaling"]["time_ratio_4x"]["rounds"]) == 2


class FakePipe:
    """A pipeline whose cost depends on the batch size only, recording what it was given."""

    def __init__(self, seconds_by_size: dict[int, float]) -> None:
        self.seconds_by_size = seconds_by_size
        self.calls: list[tuple[list, int]] = []

    def __call__(self, texts: list, batch_size: int) -> list:
        self.calls.append((texts, batch_size))
        return texts


def test_calibration_times_again_on_the_way_down_only_the_sizes_near_the_fastest(monkeypatch):
    from xdd.bench import inference

    pipe = FakePipe({1: 3.0, 4: 2.0, 8: 1.5, 16: 1.5, 32: 1.9})
    first_time = {1: 9.0, 4: 2.2}  # the first sweep meets new shapes: slower

    def timed(work):
        work()
        size = pipe.calls[-1][1]
        return first_time.pop(size, pipe.seconds_by_size[size]), None

    monkeypatch.setattr(inference, "timed", timed)
    chosen = inference.calibrate(pipe, [f"w{k}" for k in range(10)], [1, 4, 8, 16, 32], windows=3)
    assert chosen["best"] == 8  # 8 and 16 tie: the smaller
    # 1 took 9.0 s on the way up, over 1.5 x the fastest (1.5 s): not timed again, its first time stands
    assert chosen["seconds"] == {"1": 9.0, "4": 2.0, "8": 1.5, "16": 1.5, "32": 1.9} and chosen["windows"] == 3
    assert chosen["timed_twice"] == [4, 8, 16, 32]
    assert [size for _, size in pipe.calls] == [1, 4, 8, 16, 32, 32, 16, 8, 4]
    assert pipe.calls[0][0] == ["w0", "w3", "w6"]


def test_a_changed_source_file_changes_the_code_hash(tmp_path, monkeypatch):
    from xdd.bench.artifacts import code_sha256

    package = tmp_path / "fake_export"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "onnx.py").write_text("GRAPH = 'plain'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_sha256(("fake_export",))
    assert code_sha256(("fake_export",)) == before
    (package / "onnx.py").write_text("GRAPH = 'fused'\n", encoding="utf-8")
    assert code_sha256(("fake_export",)) != before
    with pytest.raises(ValueError, match="cannot hash the source of no_such_module_here"):
        code_sha256(("no_such_module_here",))


def test_the_cli_runs_quick_settings_prints_the_tables_and_writes_the_report(small_report, tmp_path, monkeypatch,
                                                                            capsys):  # fmt: skip
    from xdd.bench import suite

    seen = []
    canned = {k: v for k, v in small_report.items() if k not in ("targets", "settings")}  # the CLI's settings stay
    monkeypatch.setattr(suite, "run_suite", lambda settings, say: seen.append(settings) or canned)
    out = tmp_path / "report.json"
    assert main(["bench", "--quick", "--corpus", str(CORPUS), "--work", str(tmp_path), "--json", str(out)]) == 0
    (settings,) = seen
    assert (settings.mode, settings.documents, settings.rounds) == ("quick", 2, 1)
    assert not (settings.scaling or settings.training or settings.trained_agreement)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["settings"]["mode"] == "quick" and len(report["targets"]) == 8
    assert "Targets" in capsys.readouterr().out


def test_check_mode_gives_every_target_its_least_stable_work():
    from xdd.bench.suite import MIN_SCALING_DOCUMENTS, MIN_TRAINING_STEPS, BenchSettings

    check = BenchSettings(corpus=CORPUS, work=CORPUS, threads=2, train_batch_size=8).check()
    assert check.scaling and check.training and check.trained_agreement and check.rounds == 3
    assert not check.tutorial_script  # no target needs it
    full = BenchSettings(corpus=CORPUS, work=CORPUS, threads=2, train_batch_size=8)
    assert check.scaling_documents == MIN_SCALING_DOCUMENTS and check.scaling_rounds == full.scaling_rounds == 3
    assert check.train_windows == full.train_windows >= MIN_TRAINING_STEPS * 8  # the full run's epoch


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


@pytest.mark.parametrize("modes", [["--quick", "--check"], ["--check", "--profile"], ["--quick", "--profile", "torch"]])
def test_bench_refuses_two_modes_at_once(modes, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["bench", *modes])
    assert stopped.value.code == 2
    assert f"argument {modes[1]}: not allowed with argument {modes[0]}" in capsys.readouterr().err


def test_a_failing_row_is_reported_with_its_log(tmp_path):
    from xdd.bench.runner import RowRunner

    runner = RowRunner(1, tmp_path / "logs", lambda m: None)
    with pytest.raises(XddError) as err:
        runner.run("broken", {"kind": "no-such-row"})
    message = str(err.value)
    assert "benchmark row 'broken' failed" in message and str(tmp_path / "logs" / "broken.log") in message
    assert "unknown benchmark row kind 'no-such-row'; expected one of ours, hf_pipeline" in message


def test_a_row_that_fails_while_measuring_is_reported_with_its_log(tmp_path):
    from xdd.bench.runner import RowRunner

    runner = RowRunner(1, tmp_path / "logs", lambda m: None)
    with pytest.raises(XddError, match=r"(?s)benchmark row 'no_spec' failed \(exit 1\).*KeyError: 'variant'"):
        runner.run("no_spec", {"kind": "train"})  # loads nothing ahead: it fails once asked to measure


def test_a_worker_refuses_an_unknown_command_after_answering_the_known_ones():
    import io

    import torch
    from xdd.bench.rows import serve

    replies = io.StringIO()
    with pytest.raises(ValueError, match="unknown worker command 'stop'; expected 'run'"):
        serve({"kind": "matmul", "size": 8, "threads": torch.get_num_threads()}, ["run\n", "stop\n"], replies)
    ready, measured = (json.loads(line) for line in replies.getvalue().splitlines())
    assert ready == {"ready": True} and measured["gflops"] > 0 and measured["peak_rss_mb"] > 0


def test_a_peer_that_sees_other_tokens_than_ours_is_refused():
    from xdd.bench.inference import same_tokens

    assert same_tokens({"tokens": 100}, 100) == 100
    with pytest.raises(ValueError, match="tokenised the window texts to 90 tokens where our windows hold 100"):
        same_tokens({"tokens": 100}, 90)
