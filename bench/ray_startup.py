"""Ray's own fixed start-up, with nothing of xdd in it: what ``xdd predict --engine ray`` pays before its first batch.

Run as ``python -m xdd.bench.ray_startup [--workers N] [--rounds R]``.  Each
round, in a fresh interpreter, times the steps the Ray engine goes through
with a no-op callable class in place of the bundle predictor: importing
``ray.data``, ``ray.init`` of a local instance sized as ``xdd predict``
sizes it (``RayCluster.init_args``), the first row of a ``map_batches`` over
an actor pool of ``--workers`` actors (actor start-up and Ray Data's
planning), the remaining rows, and ``ray.shutdown``.  Prints a Markdown
table of each step's median and min-max over the rounds.  The difference
between this and the Ray engine's "first batch after" is xdd's own share
(imports and bundle load in each actor, the first batch's work).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

STEPS = ("import ray.data", "ray.init", "first row", "other rows", "ray.shutdown")

ROUND = """
import json, time
t = [time.perf_counter()]
from xdd.models.predict.ray_engine import RayCluster, import_ray
ray = import_ray(local=True)
t.append(time.perf_counter())
ray.init(**RayCluster(workers={workers}).init_args())
t.append(time.perf_counter())

class NoOp:
    def __call__(self, batch):
        return batch

dataset = ray.data.from_items([{{"index": n}} for n in range(64)]).map_batches(
    NoOp, compute=ray.data.ActorPoolStrategy(size={workers}), batch_size=8, num_cpus=1
)
rows = iter(dataset.iter_rows())
next(rows)
t.append(time.perf_counter())
for _ in rows:
    pass
t.append(time.perf_counter())
ray.shutdown()
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""


def one_round(workers: int, code: str = ROUND) -> list[float]:
    """Seconds per step (:data:`STEPS`) in a fresh interpreter; a failed round is one line naming its cause."""
    out = subprocess.run([sys.executable, "-c", code.format(workers=workers)], capture_output=True, text=True)
    if out.returncode != 0:
        cause = next((line for line in reversed(out.stderr.splitlines()) if line.strip()), f"exit {out.returncode}")
        raise SystemExit(f"ray_startup: a round failed: {cause.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rounds: list[list[float]]) -> str:
    """Markdown: each step's median [min-max] seconds, and the total."""
    lines = ["| step | seconds, median [min-max] |", "|---|---:|"]
    totals = [sum(r) for r in rounds]
    for name, values in [*zip(STEPS, zip(*rounds)), ("total", totals)]:
        lines.append(f"| {name} | {statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}] |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xdd.bench.ray_startup", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="actors in the pool (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh interpreters to time (default 3)")
    args = parser.parse_args(argv)
    for flag in ("workers", "rounds"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} {getattr(args, flag)}: expected an integer >= 1")
    print(table([one_round(args.workers) for _ in range(args.rounds)]))


if __name__ == "__main__":
    main()
