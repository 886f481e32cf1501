"""Writing a bundle folder atomically: a hidden staging folder, the manifest last, one rename.

A bundle is written into a hidden temporary folder beside its destination and
renamed into place only when complete, so an interrupted export never leaves a
folder that loads (:func:`xdd.models.document.bundle.verify_bundle` checks the
manifest written here).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xdd.models.document.bundle import BUNDLE_FILE, MANIFEST_FILE, bundle_files, sha256_file
from xdd.models.errors import BundleError


def write_manifest(folder: Path) -> Path:
    """Write ``SHA256SUMS`` (``sha256sum`` format) for every file of ``folder``; call it last."""
    lines = [f"{sha256_file(folder / name)}  {name}\n" for name in bundle_files(folder)]
    path = folder / MANIFEST_FILE
    path.write_text("".join(lines), encoding="utf-8")
    return path


@contextmanager
def staged_bundle(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """``with staged_bundle(out) as folder:`` fill ``folder``; on success it becomes ``out`` in one rename.

    ``folder`` is a hidden temporary folder beside ``out``; it is removed on
    failure.  An existing ``out`` is replaced only with ``overwrite`` and only
    when it is a bundle (or empty): never a folder of other files.
    """
    out = Path(out)
    if out.exists():
        _check_replaceable(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out)
        temp = Path(tempfile.mkdtemp(dir=out.parent, prefix=_prefix(out, "partial")))
    except OSError as err:
        raise BundleError(f"{out}: cannot create the bundle folder here: {err.strerror} ({err.filename})") from err
    try:
        yield temp
        os.chmod(temp, 0o777 & ~_umask())
        _publish(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _prefix(out: Path, kind: str) -> str:
    """Hidden staging folders beside ``out`` carry the exporting process's id, so leftovers can be told apart."""
    return f".{out.name}.{kind}-{os.getpid()}-"


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders of earlier exports to ``out`` whose process is gone (killed mid-export).

    Only folders named by :func:`_prefix` for this target are touched; one of a
    process still running (another export in progress) is left alone.
    """
    removed = []
    for kind in ("partial", "old"):
        for folder in out.parent.glob(f".{out.name}.{kind}-*"):
            pid = folder.name.removeprefix(f".{out.name}.{kind}-").split("-")[0]
            if folder.is_dir() and not folder.is_symlink() and not _alive(pid):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _alive(pid: str) -> bool:
    """Whether process ``pid`` runs here (a name without a pid, from an older xdd, counts as gone)."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _check_replaceable(out: Path, overwrite: bool) -> None:
    if not out.is_dir():
        raise BundleError(f"{out}: exists and is not a folder; choose another --out")
    if not overwrite:
        raise BundleError(f"{out}: already exists; choose another --out, or pass --force to replace that bundle")
    if any(out.iterdir()) and not (out / BUNDLE_FILE).is_file():
        raise BundleError(f"{out}: not empty and not a bundle (no {BUNDLE_FILE}); refusing to replace it")


def _publish(temp: Path, out: Path) -> None:
    """Rename ``temp`` to ``out``; an old ``out`` is moved aside first and deleted after."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=_prefix(out, "old")))
        os.replace(out, old / out.name)
    os.replace(temp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
