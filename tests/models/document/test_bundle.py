"""The bundle format: manifest, verification, refusals, atomic writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from xdd.models.document.bundle import (
    BUNDLE_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    sha256_file,
    verify_bundle,
)
from xdd.models.errors import BundleError
from xdd.models.export.staging import staged_bundle, write_manifest


def fake_bundle(folder: Path, **info_overrides: object) -> Path:
    """A minimal bundle: bundle.json, a weights file and a config, with its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "baselines", "name": folder.name}
    (folder / BUNDLE_FILE).write_text(json.dumps({**info, **info_overrides}), encoding="utf-8")
    (folder / "topics.safetensors").write_bytes(b"\x01\x02weights")
    (folder / "training").mkdir(exist_ok=True)
    (folder / "training" / "config.yaml").write_text("name: fake\n", encoding="utf-8")
    write_manifest(folder)
    return folder


def test_manifest_lists_every_file_except_itself_with_its_sha256(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    lines = (folder / MANIFEST_FILE).read_text(encoding="utf-8").splitlines()
    entries = dict(reversed(line.split("  ", 1)) for line in lines)
    assert sorted(entries) == [BUNDLE_FILE, "topics.safetensors", "training/config.yaml"]
    assert entries["training/config.yaml"] == sha256_file(folder / "training" / "config.yaml")


def test_a_complete_bundle_verifies_and_returns_its_description(tmp_path):
    info = verify_bundle(fake_bundle(tmp_path / "b"))
    assert info["kind"] == "baselines" and info["format_version"] == FORMAT_VERSION


def test_a_folder_without_manifest_is_refused_as_incomplete(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(BundleError, match="no SHA256SUMS manifest.*xdd export"):
        verify_bundle(folder)


def test_a_changed_weight_file_is_refused_naming_the_file(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    (folder / "topics.safetensors").write_bytes(b"\x01\x02weightz")
    with pytest.raises(BundleError, match=r"topics\.safetensors: SHA-256 differs from SHA256SUMS"):
        verify_bundle(folder)


def test_an_edited_manifest_is_refused(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    manifest = folder / MANIFEST_FILE
    manifest.write_text(manifest.read_text().replace("training/config.yaml", "training/other.yaml"))
    with pytest.raises(BundleError) as caught:
        verify_bundle(folder)
    assert "training/other.yaml: listed in SHA256SUMS but missing" in str(caught.value)
    assert "training/config.yaml: not listed in SHA256SUMS" in str(caught.value)


def test_a_malformed_manifest_line_is_refused_with_its_line_number(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    (folder / MANIFEST_FILE).write_text("abc  bundle.json\n", encoding="utf-8")
    with pytest.raises(BundleError, match=r"SHA256SUMS:1: malformed manifest line"):
        verify_bundle(folder)


def test_pickle_weights_are_refused_even_when_listed_in_the_manifest(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    write_manifest(folder)
    with pytest.raises(BundleError, match=r"refusing pickle-format file\(s\) \['pytorch_model.bin'\]"):
        verify_bundle(folder)


@pytest.mark.parametrize("key", ["auto_map", "trust_remote_code"])
def test_a_config_asking_for_remote_code_is_refused(tmp_path, key):
    folder = fake_bundle(tmp_path / "b")
    (folder / "config.json").write_text(json.dumps({"model_type": "roberta", key: {"AutoModel": "x.Y"}}))
    write_manifest(folder)
    with pytest.raises(BundleError, match=rf"config.json: sets {key}.*never runs remote code"):
        verify_bundle(folder)


def test_a_symbolic_link_is_refused(tmp_path):
    folder = fake_bundle(tmp_path / "b")
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", folder / "vocab.txt")
    write_manifest(folder)
    with pytest.raises(BundleError, match=r"refusing symbolic link\(s\) \['vocab.txt'\]"):
        verify_bundle(folder)


def test_another_format_version_is_refused_with_the_remedy(tmp_path):
    folder = fake_bundle(tmp_path / "b", format_version=99)
    with pytest.raises(BundleError, match="format_version 99.*reads version 1.*re-export"):
        verify_bundle(folder)


def test_a_missing_bundle_folder_is_named(tmp_path):
    with pytest.raises(BundleError, match="no such bundle folder"):
        verify_bundle(tmp_path / "nothing")


def test_a_failed_export_leaves_neither_the_bundle_nor_its_temporary_folder(tmp_path):
    with pytest.raises(RuntimeError), staged_bundle(tmp_path / "b") as folder:
        (folder / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_half_written_bundle_does_not_load(tmp_path):
    with staged_bundle(tmp_path / "b") as folder:
        fake_bundle(folder)
        (folder / MANIFEST_FILE).unlink()  # an export stopped before its last step
        with pytest.raises(BundleError, match="not a complete bundle"):
            verify_bundle(folder)
        write_manifest(folder)
    assert verify_bundle(tmp_path / "b")["kind"] == "baselines"


def test_an_existing_bundle_is_replaced_only_with_overwrite(tmp_path):
    fake_bundle(tmp_path / "b")
    with pytest.raises(BundleError, match="already exists.*--force"), staged_bundle(tmp_path / "b"):
        pass
    with staged_bundle(tmp_path / "b", overwrite=True) as folder:
        fake_bundle(folder, name="new")
    assert verify_bundle(tmp_path / "b")["name"] == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_a_folder_that_is_not_a_bundle_is_never_replaced(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty and not a bundle"), staged_bundle(tmp_path / "b", overwrite=True):
        pass
    assert (tmp_path / "b" / "notes.txt").read_text() == "mine"


def test_a_bundle_folder_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(BundleError, match=r"models/b: cannot create the bundle folder here: File exists"):
        with staged_bundle(blocker / "b"):
            pass


def test_a_later_export_removes_the_staging_folders_killed_exports_left_but_not_live_ones(tmp_path):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = gone.stdout.strip()  # that process has exited
    killed = tmp_path / f".b.partial-{dead_pid}-x1y2"
    (killed / "model.safetensors").parent.mkdir()
    (killed / "model.safetensors").write_bytes(b"half")
    older = tmp_path / ".b.partial-abc123"  # named by an xdd that did not record the pid
    older.mkdir()
    live = tmp_path / f".b.partial-{os.getpid()}-inprogress"  # an export still running
    live.mkdir()
    other_target = tmp_path / f".c.partial-{dead_pid}-q"
    other_target.mkdir()
    with staged_bundle(tmp_path / "b") as folder:
        fake_bundle(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["b", live.name, other_target.name])
