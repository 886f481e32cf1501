"""Local PhoBERT-format models with random weights: training/init_model.py and ``xdd init-model``."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from support import model_corpus
from xdd.models.errors import ConfigError, CorpusError
from xdd.models.text.pipeline import TextSettings
from xdd.training.init_model import (
    encoder_config,
    init_model,
    round_trip_failures,
    word_counts,
)
from xdd.training.text_cli import corpus_texts


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return corpus_texts(model_corpus())


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)


def test_the_folder_loads_like_phobert_base(tiny_model_dir, tokenizer) -> None:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(tiny_model_dir), local_files_only=True)
    assert type(tokenizer).__name__ == "PhobertTokenizer"
    assert model.config.vocab_size == len(tokenizer)
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers, config.max_position_embeddings) == (64, 2, 258)
    specials = (tokenizer.cls_token_id, tokenizer.pad_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id)
    assert specials == (0, 1, 2, 3)
    assert (tiny_model_dir / "model.safetensors").is_file()
    assert TextSettings.load(tiny_model_dir).segmenter_version.startswith("underthesea ")


def test_the_readme_says_plainly_the_weights_are_random(tiny_model_dir) -> None:
    readme = (tiny_model_dir / "README.md").read_text(encoding="utf-8")
    assert "NOT a trained model" in readme and "randomly" in readme


def test_a_window_of_256_tokens_runs_through_the_encoder(tiny_model_dir, tokenizer) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(tiny_model_dir), local_files_only=True)
    ids = torch.tensor([[0] + [5] * 254 + [2]])
    assert model(input_ids=ids).last_hidden_state.shape == (1, 256, 64)


def test_vocabulary_files_follow_the_phobert_format(tiny_model_dir) -> None:
    vocab = (tiny_model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    codes = (tiny_model_dir / "bpe.codes").read_text(encoding="utf-8").splitlines()
    assert all(len(line.split(" ")) == 2 and line.split(" ")[1].isdigit() for line in vocab)
    assert all(len(line.split(" ")) == 3 for line in codes)
    assert any(line.split(" ")[0].endswith("@@") for line in vocab)
    assert any(line.split(" ")[1].endswith("</w>") for line in codes)
    tokens = [line.split(" ")[0] for line in vocab]
    assert len(tokens) == len(set(tokens)) and not {"<s>", "</s>", "<pad>", "<unk>", "<mask>"} & set(tokens)


def test_every_corpus_word_round_trips_through_the_tokenizer(tokenizer, corpus) -> None:
    counts = word_counts(corpus, TextSettings())
    assert round_trip_failures(tokenizer, counts) == []
    assert tokenizer.convert_tokens_to_string(tokenizer.tokenize("Ban_Thường_vụ Huyện_uỷ")) == "Ban_Thường_vụ Huyện_uỷ"


def test_an_unseen_character_becomes_unk_without_crashing(tokenizer) -> None:
    ids = tokenizer.encode("Huyện_uỷ ☃ 𝔘", add_special_tokens=False)
    assert ids.count(tokenizer.unk_token_id) == 2


def test_an_unseen_word_of_known_characters_never_becomes_unk(tokenizer) -> None:
    assert tokenizer.unk_token_id not in tokenizer.encode("Uỷ_ban_cán_bộ_hoá", add_special_tokens=False)


def test_round_trip_failures_names_the_words_that_do_not_come_back(tokenizer) -> None:
    assert round_trip_failures(tokenizer, Counter({"Huyện_uỷ": 1, "☃": 1})) == ["☃"]


def test_phobert_base_shape_is_vinai_phobert_base_config_whatever_the_vocabulary() -> None:
    config = encoder_config("phobert-base", vocab_size=1200)
    expected = {
        "vocab_size": 64001, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "max_position_embeddings": 258, "type_vocab_size": 1, "pad_token_id": 1,
        "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-05, "hidden_act": "gelu",
        "tokenizer_class": "PhobertTokenizer", "model_type": "roberta",
    }  # fmt: skip
    assert {k: getattr(config, k) for k in expected} == expected


def test_unknown_shape_is_rejected_naming_the_choices(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown model shape 'large'; expected one of tiny, phobert-base"):
        init_model(tmp_path, "large", ["Huyện ủy"])


def test_a_vocabulary_too_small_for_the_alphabet_is_rejected_with_the_minimum(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"a vocabulary of 8 cannot hold .* 3 characters .*; ask for at least 11"):
        init_model(tmp_path, "tiny", ["ab ab c"], vocab_size=8)


def test_a_corpus_without_text_is_rejected(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no text to learn a vocabulary from"):
        init_model(tmp_path, "tiny", ["  \n "])


def test_init_model_command_writes_a_folder_from_text_files(tmp_path, capsys) -> None:
    from xdd.training.cli import main

    (tmp_path / "a.txt").write_text("Ban Thường vụ Huyện ủy Cao Lộc họp.\nHuyện ủy Cao Lộc họp.", encoding="utf-8")
    out = tmp_path / "model"
    argv = ["init-model", str(out), "--corpus", str(tmp_path / "a.txt"), "--tone", "new", "--vocab-size", "60"]
    assert main(argv) == 0
    assert "RANDOM tiny encoder (not a trained model)" in capsys.readouterr().out
    assert json.loads((out / "text_settings.json").read_text(encoding="utf-8"))["tone"] == "new"
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["vocab_size"] <= 60


def test_init_model_command_reports_a_missing_corpus(tmp_path, capsys) -> None:
    from xdd.training.cli import main

    assert main(["init-model", str(tmp_path / "m"), "--corpus", str(tmp_path / "nope")]) == 2
    assert "nope: no such file or directory; give a .jsonl corpus" in capsys.readouterr().err


def test_corpus_texts_reject_a_folder_without_articles_and_bad_encoding(tmp_path) -> None:
    with pytest.raises(CorpusError, match="no .jsonl or .txt files in this folder"):
        corpus_texts(tmp_path)
    (tmp_path / "a.txt").write_bytes(b"Huy\xe1\xbb")
    with pytest.raises(CorpusError, match=r"a.txt: not valid UTF-8 \(.* at byte 3\); re-save it as UTF-8"):
        corpus_texts(tmp_path / "a.txt")


@pytest.mark.slow
def test_phobert_base_shape_writes_a_full_size_random_encoder(tmp_path, corpus) -> None:
    from transformers import AutoModel

    init_model(tmp_path, "phobert-base", corpus)
    model = AutoModel.from_pretrained(str(tmp_path), local_files_only=True)
    assert model.config.vocab_size == 64001
    assert model.embeddings.word_embeddings.weight.shape == (64001, 768)

