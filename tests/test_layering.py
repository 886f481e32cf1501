"""Layers: ``xdd.models`` (inference) never imports ``xdd.training``, ``xdd.eval`` or ``xdd.bench``;
``xdd.eval`` never imports ``xdd.training`` or ``xdd.bench``; nothing imports the folders by their bare names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("models", "training", "eval", "bench")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(("package", "forbidden"), [("models", {"training", "eval", "bench"}),
                                                    ("eval", {"training", "bench"})])  # fmt: skip
def test_lower_layers_do_not_import_higher_ones(package, forbidden):
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[:2][-1] in forbidden
                                            and m.startswith("xdd."))
        for path in sources(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("folder", [*FOLDERS, "tests"])
def test_code_imports_the_folders_only_under_the_xdd_namespace(folder):
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] in FOLDERS)
        for path in sources(folder)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_test_modules_have_unique_names_and_nothing_imports_a_conftest():
    """pytest imports test modules by basename (``tests/`` on the path, no packages): two ``test_report.py``
    in different folders cannot both be collected, and ``from conftest import`` gets whichever conftest came first."""
    from collections import Counter

    from support import REPO

    tests = sorted((REPO / "tests").rglob("test_*.py"))
    repeated = [name for name, n in Counter(p.name for p in tests).items() if n > 1]
    assert not repeated, f"test modules with the same name: {repeated}"
    sources = {p: p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("*.py") if p != Path(__file__)}
    importing = [p for p, text in sources.items() if "from conftest import" in text or "import conftest" in text]
    assert not importing, f"import from tests/support.py instead: {importing}"
