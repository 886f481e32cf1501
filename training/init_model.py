"""Local PhoBERT-format models with RANDOM weights, for tests and benchmarks offline.

``xdd init-model OUTDIR --shape tiny --corpus PATH`` writes a folder that
loads exactly like ``vinai/phobert-base`` (``AutoTokenizer`` /
``AutoModel.from_pretrained(OUTDIR)``) but whose encoder is randomly
initialised: it is for exercising code paths, never a trained model.

The vocabulary is learned from the corpus text as the pipeline prepares it
(normalised, word-segmented forms such as ``Huyện_uỷ``) with the Hugging Face
``tokenizers`` BPE trainer, then converted to the two fastBPE files that
``PhobertTokenizer`` reads:

- ``bpe.codes``: one merge ``a b count`` per line, in rank order, with the
  word-final marker ``</w>`` on the last symbol of a word;
- ``vocab.txt``: one ``token count`` per line, where a sub-word that does
  not end its word carries ``@@`` (``Huyện_@@``) and a word-final one does
  not (``uỷ``).  It lists every symbol the merges can produce plus every
  corpus character in both positions, so a new word made of known
  characters never becomes ``<unk>``; counts are the corpus frequencies of
  the tokens, most frequent first.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from xdd.models.document import paragraph_spans
from xdd.models.errors import ConfigError
from xdd.models.text.pipeline import TextPipeline, TextSettings

SHAPES = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128},
    "phobert-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
PHOBERT_BASE_VOCAB_SIZE = 64001  # vinai/phobert-base: 4 specials + 63996 vocab.txt entries + <mask>
DEFAULT_VOCAB_SIZE = {"tiny": 8000, "phobert-base": PHOBERT_BASE_VOCAB_SIZE}
MAX_TOKENS = 256  # PhoBERT's longest input, <s> and </s> included
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_END = "</w>"


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_model` wrote: vocabulary size and how well it covers the corpus."""

    folder: Path
    shape: str
    vocab_size: int  # embedding rows of the encoder
    tokenizer_size: int  # tokens the tokenizer knows (specials and <mask> included)
    merges: int
    distinct_words: int
    round_trip_failures: list[str]


def encoder_config(shape: str, vocab_size: int):
    """The ``RobertaConfig`` of ``shape``; ``phobert-base`` is vinai/phobert-base's exactly."""
    from transformers import RobertaConfig

    _check_shape(shape)
    if shape == "phobert-base":
        vocab_size = PHOBERT_BASE_VOCAB_SIZE
    return RobertaConfig(
        vocab_size=vocab_size,
        max_position_embeddings=MAX_TOKENS + 2,  # RoBERTa positions start after the padding index (1)
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        layer_norm_eps=1e-05,
        hidden_act="gelu",
        tokenizer_class="PhobertTokenizer",
        xdd_random_init=True,  # carried into every model trained from it; the model card warns
        **SHAPES[shape],
    )


def init_model(
    folder: str | Path,
    shape: str,
    texts: Iterable[str],
    settings: TextSettings | None = None,
    vocab_size: int | None = None,
    seed: int = 0,
) -> InitReport:
    """Learn a PhoBERT-format vocabulary from ``texts`` and write a random encoder of ``shape`` to ``folder``."""
    import torch
    from transformers import RobertaModel

    _check_shape(shape)
    settings = settings or TextSettings()
    target = min(vocab_size or DEFAULT_VOCAB_SIZE[shape], PHOBERT_BASE_VOCAB_SIZE)
    counts = word_counts(texts, settings)
    if not counts:
        raise ConfigError("the corpus has no text to learn a vocabulary from; give --corpus with articles")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = write_phobert_files(folder, learn_merges(counts, target), counts, target)
    tokenizer.save_pretrained(str(folder))
    failures = round_trip_failures(tokenizer, counts)
    config = encoder_config(shape, len(tokenizer))
    torch.manual_seed(seed)
    RobertaModel(config).save_pretrained(str(folder))
    settings.save(folder)
    report = InitReport(
        folder, shape, config.vocab_size, len(tokenizer), len(tokenizer.bpe_ranks), len(counts), failures
    )
    (folder / "README.md").write_text(_readme(report, settings), encoding="utf-8")
    return report


def word_counts(texts: Iterable[str], settings: TextSettings) -> Counter[str]:
    """How often each word form occurs in ``texts``, prepared as the pipeline prepares model input."""
    pipeline = TextPipeline(settings)
    counts: Counter[str] = Counter()
    for text in texts:
        for start, end in paragraph_spans(text):
            counts.update(w.form for w in pipeline.words(text, start, end))
    return counts


def learn_merges(counts: Counter[str], vocab_size: int) -> list[tuple[str, str]]:
    """BPE merges learned from word counts by the ``tokenizers`` trainer (``</w>`` marks word ends)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE(end_of_word_suffix=_END))
    bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, end_of_word_suffix=_END, show_progress=False, special_tokens=[]
    )
    bpe.train_from_iterator((" ".join([form] * n) for form, n in counts.items()), trainer)
    merges = json.loads(bpe.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def write_phobert_files(folder: Path, merges: list[tuple[str, str]], counts: Counter[str], limit: int):
    """Write ``bpe.codes`` and ``vocab.txt`` (at most ``limit`` ids in all) and return the tokenizer reading them."""
    from transformers import PhobertTokenizer

    alphabet = sorted({c for form in counts for c in form})
    room = limit - len(_SPECIALS) - 2 * len(alphabet)
    if room < 0:
        raise ConfigError(
            f"a vocabulary of {limit} cannot hold the {len(_SPECIALS)} special tokens and the corpus's "
            f"{len(alphabet)} characters (each word-final and not); ask for at least {limit - room}"
        )
    merges = merges[:room]
    codes, vocab = folder / "bpe.codes", folder / "vocab.txt"
    # The count field is not used by PhobertTokenizer (nor fastBPE's applyBPE) and the
    # trainer does not expose pair frequencies: we write a count that falls with the rank.
    codes.write_text("".join(f"{a} {b} {len(merges) - r}\n" for r, (a, b) in enumerate(merges)), encoding="utf-8")
    symbols = [c + "@@" for c in alphabet] + alphabet + [_phobert_token(a + b) for a, b in merges]
    vocab.write_text("".join(f"{s} 0\n" for s in _unique(symbols)), encoding="utf-8")
    tokenizer = PhobertTokenizer(str(vocab), str(codes))
    frequency: Counter[str] = Counter()
    for form, n in counts.items():
        for token in tokenizer.tokenize(form):
            frequency[token] += n
    ranked = sorted(_unique(symbols), key=lambda s: -frequency[s])
    vocab.write_text("".join(f"{s} {frequency[s]}\n" for s in ranked), encoding="utf-8")
    return PhobertTokenizer(str(vocab), str(codes), model_max_length=MAX_TOKENS)


def round_trip_failures(tokenizer, counts: Counter[str]) -> list[str]:
    """Corpus words the tokenizer does not give back exactly, or maps partly to ``<unk>``."""
    failures = []
    for form in counts:
        tokens = tokenizer.tokenize(form)
        if tokenizer.convert_tokens_to_string(tokens) != form or tokenizer.unk_token_id in (
            tokenizer.convert_tokens_to_ids(tokens)
        ):
            failures.append(form)
    return failures


def _check_shape(shape: str) -> None:
    if shape not in SHAPES:
        raise ConfigError(f"unknown model shape {shape!r}; expected one of {', '.join(SHAPES)}")


def _phobert_token(symbol: str) -> str:
    """A BPE symbol in vocab.txt notation: word-final without ``</w>``, otherwise with ``@@``."""
    return symbol[: -len(_END)] if symbol.endswith(_END) else symbol + "@@"


def _unique(symbols: list[str]) -> list[str]:
    """Symbols in first-seen order, without duplicates or special tokens (PhobertTokenizer numbers lines)."""
    return [s for s in dict.fromkeys(symbols) if s not in _SPECIALS]


def _readme(report: InitReport, settings: TextSettings) -> str:
    failures = len(report.round_trip_failures)
    return f"""# Random PhoBERT-format encoder — for tests and benchmarks, NOT a trained model

Written by `xdd init-model --shape {report.shape}`.  The weights are **randomly
initialised**: this model has learned nothing and its predictions mean nothing.
It exists so that training, inference, export and benchmarks can run offline
with the same files and code paths as `vinai/phobert-base`.

- encoder: RoBERTa, shape `{report.shape}`, vocabulary size {report.vocab_size}
- tokenizer: `PhobertTokenizer` (`vocab.txt`, `bpe.codes`), {report.tokenizer_size} tokens,
  {report.merges} BPE merges learned from {report.distinct_words} distinct corpus words
  (`tokenizers` BPE trainer); {failures} corpus words do not round-trip exactly
- text settings (`text_settings.json`): tone `{settings.tone}`, segmenter `{settings.segmenter}`,
  max_tokens {settings.max_tokens}
"""
