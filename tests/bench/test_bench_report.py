"""Targets: PASS / MISS on the median of the rounds, SKIPPED with the reason when a run could not measure them."""

from __future__ import annotations

from xdd.bench.figures import spread
from xdd.bench.report import render, show, targets
from xdd.bench.suite import PEERS


def exact(value: bool) -> dict:
    return {"exact": value, "entity_f1": 1.0 if value else 0.9, "topic_agreement": 1.0}


def our_row(seconds: float, vs_default: list[float], vs_best: list[float], share: list[float], agreement: dict):
    vs = {peer: {task: spread([1.0]) for task in ("both", "ner", "topics")} for peer in PEERS}
    vs["hf_pipeline"]["both"], vs["hf_pipeline_best"]["both"] = spread(vs_default), spread(vs_best)
    return {"seconds": seconds, "fraction_of_limit": spread(share), "vs": vs, "agreement_with_torch_fp32": agreement}


def fake_report(**sections) -> dict:
    """A full run's figures: onnx_fp32 is the fastest exact backend and meets every target."""
    report = {
        "inference": {
            "torch_fp32": our_row(11.0, [3.0], [1.8], [0.8], exact(True)),
            "onnx_fp32": our_row(10.0, [3.4, 3.6, 3.7], [2.1, 1.9, 2.2], [0.69, 0.72, 0.75], exact(True)),
            "onnx_int8": our_row(4.0, [8.5], [5.0], [2.0], exact(False)),
            "hf_pipeline_best": {"batch_size": {"ner": 8, "topics": 16}},
        },
        "trained_agreement": {"onnx_int8": {"entity_f1": 0.992}},
        "training": {"ours": {"steps": 6}, "fixed_padding": {"steps": 6}, "speedup": 3.0},
        "scaling": {"backend": "onnx_fp32", "documents": [10, 40], "time_ratio_4x": spread([3.9, 4.5, 4.0]),
                    "rss_ratio_4x": 0.98},
    }  # fmt: skip
    report.update(sections)
    return report


def by_start(checked: list[dict]) -> dict[str, dict]:
    return {t["target"].split(",")[0].split(" (")[0]: t for t in checked}


def test_a_full_run_judges_every_target_on_the_median_round():
    checked = targets(fake_report())
    assert [t["status"] for t in checked] == ["PASS"] * 8
    first = checked[0]
    assert "onnx_fp32" in first["target"] and first["measured"]["median"] == 3.6
    assert "NER 8, topics 16" in checked[1]["target"]
    assert by_start(checked)["time for 4N vs N documents"]["measured"]["median"] == 4.0  # 4.5 alone would miss


def test_a_median_under_the_target_is_a_miss_whatever_the_best_round():
    report = fake_report()
    report["inference"]["onnx_fp32"]["vs"]["hf_pipeline"]["both"] = spread([3.4, 3.9, 3.3])
    assert targets(report)[0]["status"] == "MISS"


def test_quick_marks_what_it_does_not_measure_skipped_with_the_reason():
    checked = targets(fake_report(training=None, scaling=None, trained_agreement=None))
    skipped = {t["target"]: t["reason"] for t in checked if t["status"] == "SKIPPED"}
    assert len(skipped) == 4
    assert all(t["measured"] is None for t in checked if t["status"] == "SKIPPED")
    reasons = " | ".join(skipped.values())
    assert ">= 4 steps per row (run --check)" in reasons and "needs N >= 10 documents (run --check)" in reasons
    assert "--quick trains no model" in reasons
    assert [t["status"] for t in checked[:3]] == ["PASS"] * 3  # inference is measured, one round or not


def test_too_few_scaling_documents_or_training_steps_measure_nothing():
    scaling = {**fake_report()["scaling"], "documents": [5, 20]}
    training = {"ours": {"steps": 1}, "fixed_padding": {"steps": 1}, "speedup": 1.01}
    checked = by_start(targets(fake_report(scaling=scaling, training=training)))
    assert checked["time for 4N vs N documents"]["reason"] == "N = 5 documents: needs >= 10 to measure anything"
    assert checked["training real tokens/s"]["reason"] == "1 training step(s) per row: needs >= 4 to measure anything"


def test_the_fastest_exact_backend_is_chosen_among_exact_ones_by_median_seconds():
    report = fake_report()
    report["inference"]["onnx_fp32"]["agreement_with_torch_fp32"] = exact(False)
    assert "(torch_fp32)" in targets(report)[0]["target"] and targets(report)[0]["status"] == "MISS"


def test_a_figure_shows_its_spread_only_when_there_were_several_rounds():
    assert show(spread([3.2, 3.1, 3.3]), ".2f", "x") == "3.20x [3.10–3.30]"
    assert show(spread([0.5]), ".0%") == "50%"
    assert show(0.978, ".3f") == "0.978"


def test_the_report_prints_every_peer_the_calibration_and_the_skipped_targets(small_report):
    printed = render(small_report)
    for peer in PEERS:
        assert peer in printed
    assert "seconds by batch size" in printed and "SKIPPED: N = 1 documents" in printed
    assert "cores busy during a timed pass" in printed
    assert "measured in every round (the faster of torch " in printed and ", onnxruntime " in printed
    assert "| ours | peer | both tasks |" in render(small_report, markdown=True)
