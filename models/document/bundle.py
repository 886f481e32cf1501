"""The model bundle: one folder with everything inference needs, verified before it is used.

Layout of a bundle folder (``bundles/<name>/``) (see docs/inference.md)::

    bundle.json        format and format version, kind, labels, thresholds, text settings, backbone
    SHA256SUMS         manifest: the SHA-256 of every other file (``sha256sum -c SHA256SUMS`` checks it)
    README.md          model card with Hugging Face metadata
    <model files>      transformer: config.json, heads.json, model.safetensors, tokenizer files,
                       text_settings.json, xdd_model.json; baselines: baseline.json, ner.crfsuite,
                       topics.json, topics.safetensors
    model.onnx         (optional) the transformer as ONNX; model.int8.onnx its int8 copy
    parity.json        (with ONNX) the export-time parity check against PyTorch
    training/          config.yaml, corpus.json, versions.json, git.json, metrics of the run

Bundles are written by :mod:`xdd.models.export` (atomically, manifest last);
this module reads them.  :func:`verify_bundle` refuses a bundle whose manifest
does not match its files, pickle-format weights, and configs that ask for
remote code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from xdd.models.checks import read_json
from xdd.models.errors import BundleError

FORMAT = "xdd-bundle"
FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.json"
MANIFEST_FILE = "SHA256SUMS"
KINDS = ("transformer", "baselines")
# Weights in these formats are (or may be) pickles, which run code when loaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
# Config keys that make transformers import code shipped with the model.
REMOTE_CODE_KEYS = ("auto_map", "trust_remote_code")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[str]:
    """Every file below ``folder`` except the manifest, as sorted POSIX relative paths."""
    files = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    return sorted(f for f in files if f != MANIFEST_FILE)


def read_manifest(folder: Path) -> dict[str, str]:
    """The manifest's ``{relative path: sha256}``; a missing or malformed manifest is a :class:`BundleError`."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise BundleError(
            f"{folder}: no {MANIFEST_FILE} manifest, so this is not a complete bundle (an export that was "
            "interrupted, or a training run's model folder); export one with `xdd export RUN --out FOLDER`"
        )
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or name.startswith("/") or ".." in name.split("/"):
            raise BundleError(f"{path}:{number}: malformed manifest line {line[:80]!r}; expected 'SHA256  PATH'")
        entries[name] = digest
    return entries


def verify_bundle(folder: str | Path) -> dict[str, Any]:
    """Check a bundle before anything in it is loaded; returns its ``bundle.json``.

    Checks, in order: the folder has no pickle-format files or links; every manifest
    entry exists with its checksum and no file is missing from the manifest;
    ``bundle.json`` has this format and version; no config asks for remote code.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such bundle folder")
    _refuse_unsafe_files(folder)
    manifest = read_manifest(folder)
    _check_checksums(folder, manifest)
    info = read_bundle_info(folder)
    _refuse_remote_code(folder)
    return info


def read_description(path: Path, fmt: str, version: int, what: str, remedy: str) -> dict[str, Any]:
    """A JSON description file (``bundle.json``, ``baseline.json``) checked for its format and version."""
    info = read_json(path, BundleError, f"{what} description")
    if not isinstance(info, dict) or info.get("format") != fmt:
        raise BundleError(f"{path}: not an {what} description (expected \"format\": \"{fmt}\")")
    if info.get("format_version") != version:
        raise BundleError(
            f"{path}: {what} format_version {info.get('format_version')!r}, but this xdd reads version "
            f"{version}; use the xdd version that wrote it, or {remedy}"
        )
    return info


def read_bundle_info(folder: Path) -> dict[str, Any]:
    """``bundle.json``, checked for format, version and kind."""
    path = folder / BUNDLE_FILE
    info = read_description(path, FORMAT, FORMAT_VERSION, "xdd bundle", "re-export the run")
    if info.get("kind") not in KINDS:
        raise BundleError(f"{path}: 'kind' is {info.get('kind')!r}; expected one of {', '.join(KINDS)}")
    return info


def _refuse_unsafe_files(folder: Path) -> None:
    links = [name for name in bundle_files(folder) if (folder / name).is_symlink()]
    if links:
        raise BundleError(f"{folder}: refusing symbolic link(s) {links}; a bundle holds its own files: re-export it")
    found = [name for name in bundle_files(folder) if name.lower().endswith(PICKLE_SUFFIXES)]
    if found:
        raise BundleError(
            f"{folder}: refusing pickle-format file(s) {found} (loading them could run arbitrary code); "
            "bundles hold weights as safetensors only: re-export the model"
        )


def _check_checksums(folder: Path, manifest: dict[str, str]) -> None:
    problems = []
    for name, expected in sorted(manifest.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST_FILE} but missing")
        elif sha256_file(path) != expected:
            problems.append(f"{name}: SHA-256 differs from {MANIFEST_FILE} (file changed or corrupted)")
    problems += [f"{name}: not listed in {MANIFEST_FILE}" for name in bundle_files(folder) if name not in manifest]
    if problems:
        raise BundleError(
            f"{folder}: bundle does not match its manifest:\n  " + "\n  ".join(problems)
            + "\nre-export it (or copy it again) rather than editing files in place"
        )


def _refuse_remote_code(folder: Path) -> None:
    for name in ("config.json", "tokenizer_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BundleError(f"{path}: not valid JSON: {err}") from err
        keys = [k for k in REMOTE_CODE_KEYS if isinstance(config, dict) and config.get(k)]
        if keys:
            raise BundleError(
                f"{path}: sets {', '.join(keys)}, which would load code shipped with the model; "
                "xdd never runs remote code: remove the key(s) and re-export"
            )
