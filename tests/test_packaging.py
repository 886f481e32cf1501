"""Packaging: the wheel installs one top-level name, ``xdd``; its base install predicts without PyTorch.

Both tests build or install the package, which takes a minute or two, so they
carry the ``packaging`` marker; ``.ci/run`` runs them explicitly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from xdd.models import Predictor

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("models", "training", "eval", "bench")
TEXT = "Sáng 23/1, Ban Thường vụ Huyện uỷ Cao Lộc tổ chức hội nghị.\nĐồng chí Nguyễn Văn A, Bí thư Huyện uỷ, phát biểu."

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "xdd"  # a copy: the build writes build/ and *.egg-info into it
    ignored = shutil.ignore_patterns(".git", ".venv", "runs", "bundles", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=ignored)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], check=True)
    (found,) = out.glob("xdd-*.whl")
    return found


def test_the_wheel_has_exactly_one_top_level_name_and_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"xdd"}
    sources = {f"xdd/{p.relative_to(ROOT).as_posix()}" for f in FOLDERS for p in (ROOT / f).rglob("*.py")}
    assert sources - set(names) == set()
    assert any(n.startswith("xdd/training/configs/") and n.endswith(".yaml") for n in names)


def run_in(venv_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv_dir / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def base_venv(wheel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel's base install only: no extras, no torch."""
    folder = tmp_path_factory.mktemp("base-venv") / "venv"
    venv.create(folder, with_pip=True)
    done = run_in(folder, "python", "-m", "pip", "install", "-q", str(wheel), cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_the_base_install_has_no_torch_and_no_generic_top_level_packages(base_venv, tmp_path):
    for module in ("torch", *FOLDERS):
        done = run_in(base_venv, "python", "-c", f"import {module}", cwd=tmp_path)
        assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr, module


@pytest.mark.parametrize(("bundle", "backend"), [("baseline_bundle_dir", "torch"), ("tiny_bundle_dir", "onnx")])
def test_the_base_install_predicts_baseline_and_onnx_bundles_like_the_full_install(
    base_venv, tmp_path, request, bundle, backend
):
    folder = request.getfixturevalue(bundle)
    (tmp_path / "article.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = run_in(base_venv, "xdd", "predict", "--model", str(folder), "--backend", backend, "article.txt",
                  "--output", str(out), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    (expected,) = Predictor.load(folder, backend=backend).predict([TEXT])
    assert [(e["start"], e["end"], e["label"]) for e in record["entities"]] == [
        (e.start, e.end, e.label) for e in expected.entities
    ]
    assert [e["score"] for e in record["entities"]] == pytest.approx([e.score for e in expected.entities], abs=1e-6)
    assert [p["topics"] for p in record["paragraphs"]] == [p.topics for p in expected.paragraphs]


def test_a_torch_bundle_in_the_base_install_names_the_extra_to_install(base_venv, tiny_bundle_dir, tmp_path):
    script = f"from xdd.models import Predictor; Predictor.load({str(tiny_bundle_dir)!r}, backend='torch')"
    done = run_in(base_venv, "python", "-c", script, cwd=tmp_path)
    assert done.returncode == 1
    assert "needs PyTorch, which is not installed" in done.stderr and "xdd[train]" in done.stderr
