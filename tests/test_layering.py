"""Inference code (``models/``) never imports ``training/`` or ``eval/``; ``eval/`` never imports ``training/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("package", "forbidden"), [("models", {"training", "eval", "bench"}),
                                                    ("eval", {"training", "bench"})])  # fmt: skip
def test_lower_layers_do_not_import_higher_ones(package, forbidden):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden)
        for path in sorted((ROOT / package).glob("*.py"))
        if imported_packages(path) & forbidden
    }
    assert offenders == {}
