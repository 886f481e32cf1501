"""``xdd validate``, ``xdd stats`` and ``xdd convert``: thin wrappers over the corpus tools.

``xdd.training.convert`` is imported inside its handler: its CoNLL reader pulls in
seqeval (and scikit-learn), a second of start-up the other commands need not pay.
"""

from __future__ import annotations

import argparse
import json
import sys

from xdd.models.document.corpus import Problem, read_documents
from xdd.models.document.labels import scheme_for
from xdd.models.errors import ConfigError
from xdd.training.convert_common import FORMATS
from xdd.training.stats import corpus_stats, format_stats
from xdd.training.validate import check_corpus


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check corpus files against the record format and the label scheme",
        description="Check JSONL corpus files (or directories of them). Prints every problem as "
        "PATH:LINE: id=ID: problem on stderr, warnings as PATH:LINE: id=ID: warning: problem; exit 0 when "
        "there is no error (warnings do not count), 1 with errors, 2 when a path is missing.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .jsonl file or a directory of them")
    parser.set_defaults(func=run_validate)

    parser = subparsers.add_parser(
        "stats",
        help="count documents, paragraphs, entities per label and paragraphs per topic",
        description="Corpus statistics; every label and topic of the corpus's scheme is listed, 0 when absent.",
    )
    parser.add_argument("path", metavar="PATH", help="a .jsonl file or a directory of them")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(func=run_stats)

    parser = subparsers.add_parser(
        "convert",
        help="convert between jsonl, conll, doccano and labelstudio",
        description="Convert a corpus between formats (docs/formats.md). What the target format cannot "
        "express is listed on stderr, never dropped silently. OUTPUT '-' writes to standard output.",
    )
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("output", metavar="OUTPUT")
    for flag, dest in (("--from", "from_format"), ("--to", "to_format")):
        parser.add_argument(flag, dest=dest, required=True, choices=FORMATS, metavar="FMT", help=", ".join(FORMATS))
    parser.add_argument(
        "--tag-column",
        type=int,
        default=None,
        metavar="N",
        help="conll input: 0-based column of the NER tag, negative from the end (default -1, the last; "
        "raw VLSP 2016 files: 3)",
    )
    parser.set_defaults(func=run_convert)


def run_validate(args: argparse.Namespace) -> int:
    """Print errors and warnings alike; only errors make the exit status 1, as only they stop `xdd train`."""
    problems = check_corpus(args.paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    errors = [p for p in problems if not p.is_warning]
    warned = f"; {len(problems) - len(errors)} warning(s) above, not blocking" if len(problems) > len(errors) else ""
    if errors:
        print(f"xdd validate: {len(errors)} problem(s) in {_places(errors)}{warned}", file=sys.stderr)
        return 1
    print(f"xdd validate: no problems in {', '.join(args.paths)}{warned}")
    return 0


def _places(problems: list[Problem]) -> str:
    """``2 record(s)``, ``1 file(s)`` or both: how many records and whole files the problems are about."""
    records = len({(p.path, p.line) for p in problems if p.line is not None})
    files = len({p.path for p in problems if p.line is None})
    counts = [f"{records} record(s)" if records else "", f"{files} file(s)" if files else ""]
    return " and ".join(count for count in counts if count)


def run_stats(args: argparse.Namespace) -> int:
    stats = corpus_stats(read_documents(args.path), scheme_for(args.path))
    print(json.dumps(stats, ensure_ascii=False) if args.json else format_stats(stats))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from xdd.training.convert import convert

    if args.tag_column is not None and args.from_format != "conll":
        raise ConfigError("--tag-column applies to --from conll only")
    report = convert(
        args.input, args.output, args.from_format, args.to_format,
        tag_column=-1 if args.tag_column is None else args.tag_column,
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    where = "standard output" if args.output == "-" else args.output
    summary = f"xdd convert: {report.documents} document(s) {args.from_format} -> {args.to_format}, written to {where}"
    if report.labels_file:
        summary += f"; labels declared in {report.labels_file}"
    if report.warnings:
        summary += f"; {len(report.warnings)} warning(s) above: what was not carried over"
    print(summary, file=sys.stderr)
    return 0
