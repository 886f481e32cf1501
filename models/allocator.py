"""Keep freed memory in the process instead of handing it back to the kernel after every tensor.

PyTorch on the CPU allocates tensors with ``malloc``.  glibc serves every
block above its *mmap threshold* (128 KB at start, at most 32 MB as it adapts)
with a fresh ``mmap`` and unmaps it on ``free``, and trims the heap top back
to the kernel as soon as it holds more than twice that.  A transformer's
activations and gradients are such blocks, freed and asked for again at
every forward pass and every training step, so each step page-faults
hundreds of megabytes back in, zero-filled by the kernel.  Raising both
thresholds keeps those blocks in the heap, where the next step reuses them:
on a 2-core VM with a phobert-base-sized model (docs/performance.md, "Freed
memory kept"), an epoch of the benchmark's training rows took a fifth to a
quarter less time and its PyTorch inference row ran 10 % faster, with
peak memory within 4 %.  This is what the jemalloc / tcmalloc ``LD_PRELOAD``
of PyTorch's CPU performance guides achieves, without a library to install.

ONNX Runtime has its own memory arena, so its backends gain little; they
are not harmed either.  Elsewhere than on glibc (macOS, Windows, musl) this
does nothing.  It changes the whole process, so xdd applies it only in
processes it owns (the ``xdd`` command, its predict workers and Ray actors,
the benchmark's workers); a program that embeds the Python API can call
:func:`keep_freed_memory` itself.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from the heap, and up to 1 GiB of free heap top is kept
OLD_GLIBC_MAX = 32 << 20  # glibc versions that cap the mmap threshold at 32 MiB on 64-bit refuse more


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when applied, False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    if not (mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) or mallopt(M_MMAP_THRESHOLD, OLD_GLIBC_MAX)):
        return False  # musl's mallopt accepts nothing
    return bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
