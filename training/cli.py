"""The ``xdd`` console script: a thin dispatcher over the command modules.

Each module listed in ``COMMAND_MODULES`` defines ``add_commands(subparsers)``
which adds its sub-commands with ``set_defaults(func=handler)``; a handler
takes the parsed ``argparse.Namespace`` and returns the exit code.  Command
modules keep heavy imports (torch, transformers) inside their handlers so that
``xdd --help`` and the corpus tools start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from xdd.models.allocator import keep_freed_memory
from xdd.models.errors import XddError

COMMAND_MODULES = [
    "xdd.training.corpus_cli",
    "xdd.eval.cli",
    "xdd.training.text_cli",
    "xdd.training.train_cli",
    "xdd.training.predict_cli",
    "xdd.training.pipeline",
    "xdd.training.annotation_cli",
    "xdd.bench.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xdd",
        description="Vietnamese NER and topic models for party-building news.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


# Packages of the extras (pyproject.toml) that a command may need, by import name.
EXTRAS = {
    "torch": "train", "accelerate": "train", "datasets": "train", "tensorboard": "train",
    "sklearn_crfsuite": "train", "seqeval": "train", "onnx": "train", "matplotlib": "train",
    "tokenizers": "train", "psutil": "bench",
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # training steps and PyTorch forward passes reuse their memory (xdd.models.allocator)
    try:
        return int(args.func(args) or 0)
    except XddError as err:
        print(f"xdd: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        extra = EXTRAS.get((err.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"xdd: error: `xdd {args.command}` needs the package '{err.name}', which is not installed; "
              f"install the extra: pip install 'xdd[{extra}]' (torch first: pip install torch)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xdd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
