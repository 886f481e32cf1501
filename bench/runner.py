"""Rows as worker processes, measured in interleaved rounds.

Each row is a ``python -m xdd.bench.rows SPEC.json REPLY_FD`` process of its
own (no shared caches, allocator pools or peak memory between rows).  It loads
its model and makes one untimed warm-up call, says it is ready, then measures
once per ``run`` line it reads on stdin and replies with one JSON line on the
``REPLY_FD`` pipe.  Loading once and measuring in every round keeps the
loading (about 10 s per phobert-base row) out of every round but the first,
and workers start one after the other so that no row loads while another is
timed.  The rows of a round run back to back, the order rotated by one each
round, so a neighbour's job on a shared machine slows every row alike and no
row always follows the same one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from xdd.models.errors import XddError

ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL = 3000


def rotated(names: Sequence[str], k: int) -> list[str]:
    """``names`` rotated left by ``k``: round ``k`` starts with the ``k``-th row."""
    shift = k % len(names) if names else 0
    return [*names[shift:], *names[:shift]]


class RowRunner:
    """Starts row workers with the same threads and environment, and measures them in rounds."""

    def __init__(self, threads: int, logs: Path, say: Callable[[str], None]) -> None:
        self.threads = threads
        self.folder = logs
        self.say = say

    def run(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """One row, measured once."""
        return self.interleaved({name: spec}, 1)[name][0]

    def interleaved(self, specs: dict[str, dict[str, Any]], rounds: int) -> dict[str, list[dict[str, Any]]]:
        """Every row's result in each of ``rounds`` rounds (see the module docstring); ``position``: its place."""
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
        with ExitStack() as stack:
            workers = {name: stack.enter_context(self.start(name, spec)) for name, spec in specs.items()}
            for k in range(rounds):
                for position, name in enumerate(rotated(list(specs), k)):
                    label = f"{name}, round {k + 1}/{rounds}" if rounds > 1 else name
                    runs[name].append({**workers[name].measure(label), "position": position})
        return runs

    def start(self, name: str, spec: dict[str, Any]) -> RowWorker:
        self.folder.mkdir(parents=True, exist_ok=True)
        spec_path = self.folder / f"{name}.spec.json"
        spec_path.write_text(json.dumps({**spec, "threads": self.threads}, indent=2), encoding="utf-8")
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "TOKENIZERS_PARALLELISM": "false",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
        self.say(f"  {name}: loading ...")
        return RowWorker(name, spec_path, self.folder / f"{name}.log", env, self.say)


class RowWorker:
    """One row's process: started (and ready) on construction, measured by :meth:`measure`, ended on exit."""

    def __init__(self, name: str, spec: Path, log_path: Path, env: dict[str, str],
                 say: Callable[[str], None]) -> None:  # fmt: skip
        self.name, self.log_path, self.say = name, log_path, say
        read_end, write_end = os.pipe()
        with log_path.open("w", encoding="utf-8") as log:
            command = [sys.executable, "-m", "xdd.bench.rows", str(spec), str(write_end)]
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                            env=env, cwd=ROOT, pass_fds=(write_end,), text=True)  # fmt: skip
        os.close(write_end)
        self.replies: IO[str] = os.fdopen(read_end, encoding="utf-8")
        try:
            self._reply()  # {"ready": true} once loaded and warmed up
        except XddError:
            self.__exit__(None, None, None)
            raise

    def measure(self, label: str) -> dict[str, Any]:
        """One timed pass of the row; its figures with peak memory, threads and the other processes' load."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("run\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the worker died: _reply reports it with its log
        result = self._reply()
        self.say(f"  {label}: {result.get('seconds', 0):.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
                 f"other processes {result['other_load_cores']:.2f} cores")  # fmt: skip
        return result

    def _reply(self) -> dict[str, Any]:
        line = self.replies.readline()
        if not line:
            code = self.process.wait()
            tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]
            raise XddError(f"benchmark row '{self.name}' failed (exit {code}); its log is {self.log_path}:\n{tail}")
        return json.loads(line)

    def __enter__(self) -> RowWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()  # end of commands: the worker exits
            except BrokenPipeError:
                pass
        self.process.wait()
        self.replies.close()
