"""``xdd init-model`` and ``xdd check-alignment``: local test models and text-pipeline diagnostics.

``init-model`` writes a PhoBERT-format folder with RANDOM weights (see
:mod:`xdd.training.init_model`).  ``check-alignment`` runs a gold corpus through
the text pipeline of a model folder and back — spans → words (split at entity
boundaries) → IOB2 tags → sub-word labels → windows → word tags read through
the window merge → spans — and reports how many gold entities come back
exactly, with the pipeline's throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Sequence

from xdd.models.document import Document, Entity
from xdd.models.errors import CorpusError
from xdd.models.text.normalize import TONE_CONVENTIONS
from xdd.models.text.segment import SEGMENTERS
from xdd.training.init_model import SHAPES

SUMMARY_KEYS = ("entities", "recovered", "split_words", "windows", "max_tokens")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser(
        "init-model",
        help="write a PhoBERT-format model with RANDOM weights (for tests and benchmarks)",
        description="Learn a PhoBERT-format BPE vocabulary (vocab.txt, bpe.codes) from a corpus and write a "
        "randomly initialised RoBERTa encoder. For tests and benchmarks only: it is not a trained model.",
    )
    init.add_argument("outdir", type=Path, help="folder to write (created if missing)")
    init.add_argument("--shape", choices=tuple(SHAPES), default="tiny",
                      help="tiny: 64 hidden, 2 layers (fast on CPU); phobert-base: vinai/phobert-base's config")
    init.add_argument("--corpus", type=Path, required=True,
                      help="a .jsonl corpus file, a .txt article, or a folder of them")
    init.add_argument("--vocab-size", type=int, default=None,
                      help="most vocabulary entries to learn (default 8000 for tiny, 64001 for phobert-base)")
    init.add_argument("--tone", choices=TONE_CONVENTIONS, default="old",
                      help="tone-mark convention of the vocabulary (old: hoá, Uỷ as in PhoBERT; new: hóa, Ủy)")
    init.add_argument("--segmenter", choices=SEGMENTERS, default="underthesea", help="word segmenter")
    init.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    init.set_defaults(func=run_init_model)

    check = subparsers.add_parser(
        "check-alignment",
        help="check that gold entities survive the text pipeline exactly; measure its throughput",
        description="Run a gold corpus through a model's text pipeline and back (spans -> words -> IOB2 tags -> "
        "sub-word labels -> windows -> tags -> spans) and report the entities recovered exactly, words split at "
        "entity edges, windows, the longest window, sub-words per word and the throughput. Exit status 0 when "
        "every entity is recovered and every window fits max_tokens, 1 otherwise.",
    )
    check.add_argument("path", type=Path, help="a .jsonl corpus file or a folder of them")
    check.add_argument("--model", type=Path, required=True, help="model folder (tokenizer + text_settings.json)")
    check.add_argument("--segmenter", choices=SEGMENTERS, default=None,
                       help="override the model's segmenter")
    check.add_argument("--repeat", type=int, default=1,
                       help="time this many passes (fresh sub-word cache each) and report the median")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=run_check_alignment)  # fmt: skip


def run_init_model(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging
    from xdd.models.text.pipeline import TextSettings
    from xdd.training.init_model import init_model

    hf_logging.disable_progress_bar()
    settings = TextSettings(tone=args.tone, segmenter=args.segmenter)
    report = init_model(args.outdir, args.shape, corpus_texts(args.corpus), settings, args.vocab_size, args.seed)
    print(f"wrote {report.folder}: RANDOM {report.shape} encoder (not a trained model), "
          f"vocabulary {report.vocab_size}, {report.merges} merges from {report.distinct_words} distinct words")  # fmt: skip
    if report.round_trip_failures:
        print(f"warning: {len(report.round_trip_failures)} corpus words do not round-trip through the tokenizer, "
              f"e.g. {report.round_trip_failures[:5]}")  # fmt: skip
    return 0


def run_check_alignment(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from xdd.models.document.corpus import read_documents
    from xdd.models.document.labels import scheme_for
    from xdd.models.text.pipeline import TextPipeline, TextSettings

    docs = read_documents(args.path)
    settings = TextSettings.load(args.model)
    if args.segmenter:
        settings = replace(settings, segmenter=args.segmenter, segmenter_version=None)
    tag_ids = {tag: k for k, tag in enumerate(scheme_for(args.path).bio_tags())}
    report = check_alignment(lambda: TextPipeline.from_pretrained(args.model, settings), docs, tag_ids, args.repeat)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report, args.path))
    ok = report["recovered"] == report["entities"] and report["max_tokens"] <= settings.max_tokens
    return 0 if ok else 1


def check_alignment(new_pipeline, docs: Sequence[Document], tag_ids: dict[str, int], repeat: int = 1) -> dict:
    """The round-trip report of ``docs`` (keys :data:`SUMMARY_KEYS` and more).

    ``new_pipeline()`` builds a fresh pipeline for each of the ``repeat``
    timed passes, so that every pass starts with an empty sub-word cache.
    """
    for doc in docs:
        _check_labels(doc, tag_ids)
    pipeline, encoded, seconds = _timed_encoding(new_pipeline, docs, repeat)
    report: dict[str, Any] = {"documents": len(docs), "entities": 0, "recovered": 0, "missed": []}
    totals: Counter[str] = Counter()
    per_word: Counter[int] = Counter()
    for doc, enc in zip(docs, encoded):
        found = {(e.start, e.end, e.label) for e in read_back_entities(pipeline, doc, enc, tag_ids)}
        missed = [e for e in doc.entities if (e.start, e.end, e.label) not in found]
        report["entities"] += len(doc.entities)
        report["recovered"] += len(doc.entities) - len(missed)
        report["missed"] += [{"id": doc.id, **e.to_json()} for e in missed]
        totals.update(enc.stats)
        per_word.update(len(pipeline.subword_ids(w.form)) for words in enc.words for w in words)
    report.update(
        split_words=totals["split_words"],
        windows=totals["windows"],
        max_tokens=max((len(w.input_ids) for enc in encoded for w in enc.windows), default=0),
        words=totals["words"],
        tokens_per_word=_tokens_per_word(per_word),
        **{key: totals[key] for key in ("unk_subwords", "overlapping_windows", "cut_words")},
        entities_outside_paragraphs=totals["entities_outside_paragraphs"],
        segmenter=pipeline.settings.segmenter,
        tone=pipeline.settings.tone,
        chars=sum(len(d.text) for d in docs),
        seconds=round(seconds, 4),
    )
    report["chars_per_s"] = round(report["chars"] / seconds) if seconds else None
    report["words_per_s"] = round(report["words"] / seconds) if seconds else None
    return report


def _timed_encoding(new_pipeline, docs: Sequence[Document], repeat: int):
    """(last pipeline, its encoded documents, median seconds of ``repeat`` passes from an empty cache)."""
    new_pipeline().words("Khởi động.")  # load the segmenter's own model outside the timing
    seconds = []
    for _ in range(max(1, repeat)):
        pipeline = new_pipeline()
        began = time.perf_counter()
        encoded = [pipeline.encode_document(doc, with_labels=True) for doc in docs]
        seconds.append(time.perf_counter() - began)
    return pipeline, encoded, statistics.median(seconds)


def read_back_entities(pipeline, doc: Document, enc, tag_ids: dict[str, int]) -> Iterator[Entity]:
    """Entities read back from the gold labels of ``enc`` as if they were a model's one-hot logits."""
    import numpy as np
    from xdd.models.predict.decode import entities_from_tags
    from xdd.models.text.align import merge_window_logits

    tags = sorted(tag_ids, key=tag_ids.__getitem__)
    for p, words in enumerate(enc.words):
        windows = enc.paragraph_windows(p)
        logits = []
        for window in windows:
            labels = np.array(enc.token_labels(window, tag_ids))
            one_hot = np.zeros((len(labels), len(tags)), dtype=np.float32)
            one_hot[np.flatnonzero(labels >= 0), labels[labels >= 0]] = 1.0
            logits.append(one_hot)
        predicted = merge_window_logits(windows, logits, len(words)).argmax(axis=-1)
        yield from entities_from_tags(doc.text, words, [tags[k] for k in predicted])


def _check_labels(doc: Document, tag_ids: dict[str, int]) -> None:
    unknown = sorted({e.label for e in doc.entities if f"B-{e.label}" not in tag_ids})
    if unknown:
        raise CorpusError(
            f"id={doc.id}: entity label(s) {unknown} are not in the corpus's label scheme; "
            "declare them in labels.json beside the corpus"
        )


def _tokens_per_word(per_word: Counter[int]) -> dict[str, Any]:
    words = sum(per_word.values())
    return {
        "mean": round(sum(k * n for k, n in per_word.items()) / words, 3) if words else 0.0,
        "max": max(per_word, default=0),
        "histogram": {"1": per_word[1], "2": per_word[2], "3": per_word[3],
                      "4+": sum(n for k, n in per_word.items() if k >= 4)},
    }  # fmt: skip


def format_report(report: dict, path: Path) -> str:
    share = report["recovered"] / report["entities"] if report["entities"] else 1.0
    tpw = report["tokens_per_word"]
    rows = [
        ("documents", f"{report['documents']}"),
        ("entities", f"{report['entities']}"),
        ("recovered exactly", f"{report['recovered']} ({share:.1%})"),
        ("words split at entity edges", f"{report['split_words']}"),
        ("entities outside paragraphs", f"{report['entities_outside_paragraphs']}"),
        ("words", f"{report['words']}"),
        ("windows", f"{report['windows']} ({report['overlapping_windows']} overlapping, "
                    f"{report['cut_words']} overlong words cut)"),
        ("longest window (tokens)", f"{report['max_tokens']}"),
        ("sub-words per word", f"mean {tpw['mean']}, max {tpw['max']}, histogram {tpw['histogram']}"),
        ("unknown sub-words", f"{report['unk_subwords']}"),
        ("segmenter / tone", f"{report['segmenter']} / {report['tone']}"),
        ("throughput", f"{report['chars_per_s']} chars/s, {report['words_per_s']} words/s "
                       f"({report['chars']} chars in {report['seconds']} s)"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    lines = [f"check-alignment {path}"] + [f"  {name:<{width}}  {value}" for name, value in rows]
    for miss in report["missed"][:20]:
        lines.append(f"  missed: id={miss['id']} [{miss['start']}, {miss['end']}) {miss['label']} {miss.get('text')!r}")
    return "\n".join(lines)


def corpus_texts(path: Path) -> list[str]:
    """Article texts of a ``.jsonl`` corpus, a ``.txt`` article, or a folder of them."""
    from xdd.models.document.corpus import read_documents

    if not path.exists():
        raise CorpusError(f"{path}: no such file or directory; give a .jsonl corpus, a .txt article or a folder")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".txt")) if path.is_dir() else [path]
    if not files:
        raise CorpusError(f"{path}: no .jsonl or .txt files in this folder")
    texts: list[str] = []
    for file in files:
        if file.suffix == ".jsonl":
            texts.extend(doc.text for doc in read_documents(file))
        else:
            try:
                texts.append(file.read_text(encoding="utf-8"))
            except UnicodeDecodeError as err:
                raise CorpusError(f"{file}: not valid UTF-8 ({err.reason} at byte {err.start}); re-save it as UTF-8")
    return texts
