"""``python -m xdd.bench.ray_startup``: Ray's own start-up, timed step by step."""

from __future__ import annotations

import pytest
from xdd.bench.ray_startup import STEPS, main, one_round, table


def test_the_table_gives_each_steps_median_and_range_and_the_total():
    rounds = [[1.0, 2.0, 3.0, 4.0, 5.0], [3.0, 2.0, 1.0, 4.0, 5.0], [2.0, 2.0, 2.0, 4.0, 6.0]]
    text = table(rounds)
    assert "| import ray.data | 2.0 [1.0-3.0] |" in text
    assert "| ray.shutdown | 5.0 [5.0-6.0] |" in text
    assert "| total | 15.0 [15.0-16.0] |" in text
    assert text.count("\n| ") == len(STEPS) + 1  # a row per step and the total (after the header)


def test_a_count_below_one_is_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--workers", "0"])
    assert stop.value.code == 2 and "--workers 0: expected an integer >= 1" in capsys.readouterr().err


def test_a_failed_round_is_one_line_naming_its_cause():
    expected = r"^ray_startup: a round failed: ModuleNotFoundError: No module named 'no_such_ray'$"
    with pytest.raises(SystemExit, match=expected):
        one_round(workers=1, code="import no_such_ray")


@pytest.mark.ray
def test_a_round_starts_and_stops_a_local_ray_and_times_every_step():
    seconds = one_round(workers=1)
    assert len(seconds) == len(STEPS) and all(s >= 0 for s in seconds)
    assert seconds[1] > 0.1  # ray.init starts processes: never instantaneous
