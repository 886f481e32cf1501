"""The run folder: everything needed to say what a training or CV run did.

``xdd train`` and ``xdd cv`` (baselines and transformer alike) write the same
files, so any two runs can be compared by opening two folders::

    config.yaml        the resolved config (defaults filled in, overrides applied)
    corpus.json        corpus paths, sha256 of each file and of the whole corpus, document counts
    versions.json      python, platform and the versions of the packages that shape results
    git.json           commit and dirty flag of the code (null outside a git checkout)
    train.log          the log of the run
    metrics.json       evaluation figures (the evaluation harness's format)
    predictions.jsonl  predicted documents, one canonical JSONL line each

Nothing here knows which model was trained.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import platform
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from xdd.models.document import Document
from xdd.models.document.bundle import sha256_file
from xdd.models.document.corpus import jsonl_files, write_documents
from xdd.training.config import Config

log = logging.getLogger(__name__)

# Packages whose versions change results; recorded in versions.json.
RECORDED_PACKAGES = (
    "torch", "transformers", "tokenizers", "underthesea", "pyvi", "scikit-learn",
    "sklearn-crfsuite", "python-crfsuite", "seqeval", "numpy",
)
CODE_ROOT = Path(__file__).resolve().parent.parent


def default_out_dir(config: Config) -> Path:
    """``runs/<config.name>/``, relative to the working directory."""
    return Path("runs") / config.name


def describe_corpus(corpora: dict[str, str | Path | None]) -> dict[str, Any]:
    """corpus.json's content for named corpus paths (``{"train": "data/annotations", "test": None}``).

    The corpus hash covers every file's role, name (relative to its corpus
    path) and content, so renaming, moving or editing a file changes it;
    documents are counted as non-blank JSONL lines.
    """
    whole = hashlib.sha256()
    out: dict[str, Any] = {}
    for role, path in corpora.items():
        if path is None:
            continue
        base = Path(path) if Path(path).is_dir() else Path(path).parent
        files = []
        for file in jsonl_files(path):
            digest = sha256_file(file)
            whole.update(f"{role}\t{file.relative_to(base).as_posix()}\t{digest}\n".encode())
            with file.open(encoding="utf-8", errors="replace") as handle:
                count = sum(1 for line in handle if line.strip())
            files.append({"path": str(file), "sha256": digest, "documents": count})
        out[role] = {"path": str(path), "files": files, "documents": sum(f["documents"] for f in files)}
    return {"sha256": whole.hexdigest(), "corpora": out}


def package_versions() -> dict[str, Any]:
    """Python, platform and installed versions of :data:`RECORDED_PACKAGES` (null when absent)."""
    versions: dict[str, str | None] = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}


def git_state(root: Path = CODE_ROOT) -> dict[str, Any] | None:
    """Commit and dirty flag of the checkout holding the code, or None outside git (or without git)."""
    try:
        commit = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def kept_log_records() -> Iterator[list[logging.LogRecord]]:
    """The log records emitted inside (they still reach stderr), for the run's train.log once it exists.

    Reading the corpus comes before the run folder, so that a bad corpus stops
    the run without touching it; its warnings belong in the log all the same.
    """
    kept = _Kept()
    root = logging.getLogger()
    root.addHandler(kept)
    try:
        yield kept.records
    finally:
        root.removeHandler(kept)


class RunFolder:
    """Writes one run's files under ``out_dir``; a context manager that captures logging into train.log.

    ``with RunFolder(out) as run: run.record(config, {"train": path}); ...``
    """

    LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

    def __init__(self, out_dir: str | Path, early: Sequence[logging.LogRecord] = ()) -> None:
        self.path = Path(out_dir)
        self.early = list(early)  # logged before the folder existed (kept_log_records): written first
        self._handler: logging.Handler | None = None
        self._root_level = logging.NOTSET

    def __enter__(self) -> RunFolder:
        self.path.mkdir(parents=True, exist_ok=True)
        self._handler = logging.FileHandler(self.path / "train.log", encoding="utf-8")
        self._handler.setFormatter(logging.Formatter(self.LOG_FORMAT))
        for record in self.early:
            self._handler.handle(record)
        root = logging.getLogger()
        root.addHandler(self._handler)
        self._root_level = root.level
        root.setLevel(min(root.level, logging.INFO) or logging.INFO)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            log.error("run failed: %s: %s", kind.__name__ if kind else "error", error)
        if self._handler is not None:
            root = logging.getLogger()
            root.removeHandler(self._handler)
            root.setLevel(self._root_level)
            self._handler.close()
            self._handler = None

    def record(self, config: Config, corpora: dict[str, str | Path | None]) -> None:
        """Write config.yaml, corpus.json, versions.json and git.json."""
        self.path.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)
        (self.path / "config.yaml").write_text(text, encoding="utf-8")
        corpus = describe_corpus(corpora)
        self.write_json("corpus.json", corpus)
        self.write_json("versions.json", package_versions())
        self.write_json("git.json", git_state())
        log.info("run folder %s: corpus sha256 %s", self.path, corpus["sha256"])

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as indented UTF-8 JSON to ``name`` (relative to the run folder)."""
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path

    def write_metrics(self, metrics: dict[str, Any], subdir: str = "") -> Path:
        return self.write_json(str(Path(subdir) / "metrics.json"), metrics)

    def write_predictions(self, docs: list[Document], subdir: str = "") -> Path:
        """One canonical JSONL line per predicted document, in the given order."""
        path = self.path / subdir / "predictions.jsonl"
        write_documents(path, docs)
        return path
