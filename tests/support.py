"""Paths every test module needs, wherever it sits in the mirrored tree (``tests/`` is on ``pythonpath``)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO / "tests" / "fixtures"
