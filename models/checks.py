"""Small checks every reader and command line shares, written once.

- :func:`is_int`: JSON integers (``True`` is an ``int`` in Python, never one here);
- :func:`read_json`: a JSON file, or the caller's error type naming the file;
- :func:`positive_int`: an ``argparse`` type for counts (``--n-boot``, ``--workers``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from xdd.models.errors import XddError


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_json(path: str | Path, error: type[XddError], what: str = "JSON file") -> Any:
    """The parsed content of ``path``; unreadable or invalid JSON raises ``error`` naming the path and ``what``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{path}: cannot read the {what}: {err}") from err


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
