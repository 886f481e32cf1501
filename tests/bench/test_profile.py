"""``xdd bench --profile``: exclusive stage times, the stage table naming real functions, a real run."""

from __future__ import annotations

import json
import sys
import types

import pytest
from xdd.bench.profile import STAGE_ORDER, STAGES, StageClock, install, resolve, stage_table
from xdd.models.errors import XddError
from xdd.training.cli import main


class FakeClock:
    """A clock that moves only when told: ``advance(seconds)``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_stage_does_not_count_the_time_of_the_stages_it_calls():
    fake = FakeClock()
    clock = StageClock(fake)
    inner = clock.timed("normalise", lambda: fake.advance(2.0))

    def outer_work():
        fake.advance(1.0)
        inner()
        fake.advance(0.5)

    clock.timed("window", outer_work)()
    assert clock.seconds == {"window": 1.5, "normalise": 2.0}
    assert clock.calls == {"window": 1, "normalise": 1}


def test_a_generator_counts_only_while_it_produces_its_items():
    fake = FakeClock()
    clock = StageClock(fake)

    def read():
        for item in ("a", "b"):
            fake.advance(1.0)
            yield item

    consumed = []
    for item in clock.timed("read", read)():
        fake.advance(10.0)  # the consumer's work is not reading
        consumed.append(item)
    assert consumed == ["a", "b"] and clock.seconds == {"read": 2.0} and clock.calls == {"read": 3}


def test_other_is_the_run_less_its_stages():
    clock = StageClock(FakeClock())
    clock.seconds, clock.calls = {"forward": 6.0, "read": 1.0}, {"forward": 2, "read": 1}
    table = stage_table(clock, total=10.0)
    assert list(table["stages"]) == [*STAGE_ORDER, "other"]
    assert table["stages"]["other"] == pytest.approx(3.0) and table["shares"]["forward"] == pytest.approx(0.6)
    assert table["probe_overhead_s"] > 0


def test_every_function_of_the_stage_table_exists():
    for stage, module, path in STAGES:
        assert stage in STAGE_ORDER
        assert callable(resolve(module, path)[2]) or isinstance(resolve(module, path)[2], classmethod)


def test_a_renamed_function_in_the_stage_table_is_named_in_the_error():
    with pytest.raises(XddError, match=r"names xdd.models.text.pipeline.TextPipeline._gone, which does not exist"):
        resolve("xdd.models.text.pipeline", "TextPipeline._gone")


def test_install_times_functions_and_class_methods_of_a_module(monkeypatch):
    module = types.ModuleType("fake_stages")

    class Loader:
        @classmethod
        def load(cls, name):
            return (cls.__name__, name)

    module.Loader, module.decode = Loader, lambda x: x + 1
    monkeypatch.setitem(sys.modules, "fake_stages", module)
    clock = StageClock()
    install(clock, (("load", "fake_stages", "Loader.load"), ("decode", "fake_stages", "decode")))
    assert module.Loader.load("bundle") == ("Loader", "bundle") and module.decode(1) == 2
    assert clock.calls == {"load": 1, "decode": 1}


def test_profile_of_a_tiny_predict_run_prints_every_stage(tiny_bench, bench_corpus, capsys):
    work, _ = tiny_bench
    out = work / "profile.json"
    code = main(["bench", "--profile", "--shape", "tiny", "--corpus", str(bench_corpus), "--work", str(work),
                 "--documents", "3", "--json", str(out)])  # fmt: skip
    assert code == 0
    profile = json.loads(out.read_text(encoding="utf-8"))["profile"]
    assert profile["documents"] == 3 and "--backend onnx" in profile["command"]
    for stage in ("load", "read", "normalise", "segment", "align", "window", "forward", "decode", "write"):
        assert profile["stages"][stage] > 0, stage
    assert sum(profile["shares"].values()) == pytest.approx(1.0)
    assert len((work / "profile" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    printed = capsys.readouterr().out
    assert "Where the time goes: xdd predict" in printed and "forward" in printed and "other" in printed


def test_profile_refuses_a_thread_count(tmp_path, bench_corpus, capsys):
    assert main(["bench", "--profile", "--threads", "1", "--corpus", str(bench_corpus), "--work", str(tmp_path)]) == 2
    assert "--threads does not apply to --profile" in capsys.readouterr().err
