"""Paths every test module needs, wherever it sits in the mirrored tree (``tests/`` is on ``pythonpath``)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO / "tests" / "fixtures"


def kill_once_written(process, out: Path, lines: int, kill, timeout: float = 120) -> None:
    """SIGKILL ``process`` (through ``kill``) once ``out`` holds ``lines`` lines; fail if it finished first.

    For the resume tests: a driver killed mid-run, as a crash or an operator would.
    """
    import signal
    import time

    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if out.is_file() and out.read_bytes().count(b"\n") >= lines:
            kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed; give it more documents"
