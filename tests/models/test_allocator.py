"""xdd's processes keep freed memory: a block freed and asked for again is not page-faulted back in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xdd.models import allocator
from xdd.models.errors import BundleError

# Allocate, touch and free 64 MB ten times (after one untimed round); print the page faults that cost.
CYCLES = """
import resource, sys
import numpy as np
from xdd.models.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def cycle():
    block = np.empty(64 << 20, dtype=np.uint8)
    block.fill(1)
    del block
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    cycle()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", CYCLES, mode], capture_output=True, text=True, check=True)
    return int(run.stdout)


@pytest.mark.skipif(not allocator.keep_freed_memory(), reason="glibc only")
def test_freed_blocks_are_reused_instead_of_faulted_back_in() -> None:
    default, kept = _faults("default"), _faults("keep")
    assert default >= 100  # glibc's default: every 64 MB block is a fresh mmap (huge pages: 32 faults each)
    assert kept * 10 < default


def test_where_there_is_no_glibc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False


class FakeLibc:
    """A C library whose ``mallopt`` accepts an mmap threshold up to ``cap`` (0: nothing, as musl)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.calls = cap, []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return int(parameter == allocator.M_TRIM_THRESHOLD or value <= self.cap)


@pytest.mark.parametrize("cap, applied", [(0, False), (allocator.OLD_GLIBC_MAX, True), (allocator.KEEP_BYTES, True)])
def test_a_c_library_that_refuses_the_threshold_is_left_as_it_was(monkeypatch, cap: int, applied: bool) -> None:
    libc = FakeLibc(cap)
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    assert allocator.keep_freed_memory() is applied
    trimmed = (allocator.M_TRIM_THRESHOLD, allocator.KEEP_BYTES) in libc.calls
    assert trimmed == applied  # no trim threshold is set where the mmap threshold was refused


def _record_calls(monkeypatch: pytest.MonkeyPatch, module: object) -> list[bool]:
    calls: list[bool] = []
    monkeypatch.setattr(module, "keep_freed_memory", lambda: calls.append(True) or True)
    return calls


def test_the_xdd_command_and_every_worker_keep_freed_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from xdd.models.predict import ray_engine
    from xdd.training import cli

    calls = _record_calls(monkeypatch, cli)
    argv = ["predict", "--model", str(tmp_path / "none"), str(tmp_path), "--output", str(tmp_path / "out.jsonl")]
    assert cli.main([*argv, "--quiet"]) == 2
    assert calls == [True]
    calls = _record_calls(monkeypatch, ray_engine)  # the local engine's workers and the Ray actors
    with pytest.raises(BundleError):
        ray_engine.load_predictor(tmp_path / "none", {"backend": "torch", "device": "cpu", "batch_size": 16}, 1)
    assert calls == [True]
