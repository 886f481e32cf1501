"""``python -m xdd.bench.baselines_speed`` on a small corpus: what it times, and its table."""

from __future__ import annotations

import re

import pytest
from support import FIXTURES_DIR
from xdd.bench.baselines_speed import MODELS, main, measure, render
from xdd.models.document.corpus import read_documents

CORPUS = FIXTURES_DIR / "baselines" / "joint"


def test_both_models_are_trained_and_timed_in_every_round_and_the_table_gives_the_ratio():
    report = measure(CORPUS, trainings=1, repeat=2, rounds=2)
    assert set(report["models"]) == set(MODELS)
    assert all(len(m["training_s"]) == 1 and len(m["wall_s"]) == len(m["cpu_s"]) == 2 for m in report["models"].values())
    docs = read_documents(CORPUS)
    assert report["documents"] == 2 * len(docs) and report["characters"] == 2 * sum(len(d.text) for d in docs)
    table = render(report)
    assert table.count("\n| ") == 1 + len(MODELS)  # the header and one row per model
    assert re.search(r"shipped / original settings: wall \d+\.\d\dx, CPU \d+\.\d\dx \(limit 1\.5x\)", table)


def test_render_takes_medians_and_the_ratio_of_shipped_to_original():
    names = list(MODELS)
    report = {"documents": 4, "characters": 1000, "models": {
        names[0]: {"training_s": [1.0], "wall_s": [1.0, 3.0, 2.0], "cpu_s": [1.0, 1.0, 1.0]},
        names[1]: {"training_s": [2.0], "wall_s": [3.0, 3.0, 9.0], "cpu_s": [1.2, 1.2, 5.0]},
    }}  # fmt: skip
    table = render(report)
    assert f"| {names[1]} | 2.0 s | 3.000 s | 1.200 s | 833 |" in table
    assert "wall 1.50x, CPU 1.20x" in table


def test_a_count_below_one_is_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--rounds", "0"])
    assert stop.value.code == 2 and "--rounds 0: expected an integer >= 1" in capsys.readouterr().err
