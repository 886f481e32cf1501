"""Helpers test modules share, wherever they sit in the mirrored tree (``tests/`` is on ``pythonpath``)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO / "tests" / "fixtures"
GOLD_CORPUS = REPO / "data" / "annotations"


def model_corpus() -> Path:
    """The corpus the tiny model learns its vocabulary from: the gold corpus when it exists."""
    return GOLD_CORPUS if any(GOLD_CORPUS.glob("*.jsonl")) else FIXTURES_DIR / "text_pipeline"


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


# --- rendering in a real headless browser (report tests, pipeline test) ---------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CHROMIUM_PATH = Path("/usr/bin/chromium")


def chromium() -> str:
    """The Chromium binary; skip without one, unless XDD_REQUIRE_BROWSER=1 makes that a failure."""
    found = shutil.which("chromium") or (str(CHROMIUM_PATH) if CHROMIUM_PATH.exists() else None)
    if found:
        return found
    if os.environ.get("XDD_REQUIRE_BROWSER") == "1":
        pytest.fail("XDD_REQUIRE_BROWSER=1 but chromium is not installed: apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install -y chromium); XDD_REQUIRE_BROWSER=1 makes this fail")


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )
