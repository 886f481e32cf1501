"""The bench models of the tiny shape, built once for the bench tests, and a small run of the whole suite."""

from __future__ import annotations

import pytest
from support import FIXTURES_DIR

CORPUS = FIXTURES_DIR / "bench" / "articles.jsonl"


@pytest.fixture(scope="session")
def bench_corpus():
    """The two-article corpus the bench tests run on."""
    return CORPUS


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory):
    """``(work folder, BenchModels)`` of the tiny shape on the bench fixture corpus."""
    from xdd.bench.artifacts import prepare

    work = tmp_path_factory.mktemp("bench")
    return work, prepare(work, "tiny", CORPUS, say=lambda message: None)


@pytest.fixture(scope="session")
def small_report(tiny_bench):
    """The report of every section but the trained model, with the least work that runs each code path.

    Two rounds (so spreads have a min and a max), two candidate batch sizes,
    scaling on ONE document (its targets must then be SKIPPED), four training
    steps of two windows (its target must be judged).
    """
    from xdd.bench.report import targets
    from xdd.bench.suite import BenchSettings, run_suite

    work, _ = tiny_bench
    settings = BenchSettings(corpus=CORPUS, work=work, threads=1, shape="tiny", documents=2, rounds=2,
                             hf_batch_sizes=(1, 4), calibration_windows=8, matmul_size=256, scaling_documents=1,
                             scaling_rounds=2, train_windows=8, train_batch_size=2,
                             trained_agreement=False)  # fmt: skip
    report = run_suite(settings, say=lambda message: None)
    report["targets"] = targets(report)
    return report
