"""Splits and cross-validation folds by document."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support import FIXTURES_DIR
from xdd.models.document import Document, Entity, Paragraph, paragraph_spans
from xdd.models.errors import ConfigError, CorpusError
from xdd.training.config import DataConfig
from xdd.training.splits import (
    cv_folds,
    load_split,
    parse_folds,
    read_corpus,
    split_documents,
)

FIXTURE = FIXTURES_DIR / "baselines" / "joint" / "documents.jsonl"


def docs(n: int) -> list[Document]:
    texts = [f"văn bản {i}" for i in range(n)]
    return [Document(id=f"d{i}", text=t, paragraphs=[Paragraph(*paragraph_spans(t)[0])]) for i, t in enumerate(texts)]


def ids(documents: list[Document]) -> list[str]:
    return [d.id for d in documents]


def test_split_documents_holds_out_a_fraction_of_whole_documents():
    split = split_documents(docs(10), dev_fraction=0.2, seed=1)
    assert len(split.dev) == 2 and len(split.train) == 8
    assert sorted(ids(split.train) + ids(split.dev)) == sorted(ids(docs(10)))
    assert not split.dev_is_train


def test_split_documents_is_deterministic_for_a_seed():
    assert ids(split_documents(docs(10), 0.3, seed=5).dev) == ids(split_documents(docs(10), 0.3, seed=5).dev)


def test_split_documents_holds_out_at_least_one_document_even_with_a_zero_fraction():
    assert len(split_documents(docs(3), dev_fraction=0.0, seed=0).dev) == 1


def test_split_documents_always_leaves_one_training_document():
    split = split_documents(docs(2), dev_fraction=0.9, seed=0)
    assert len(split.train) == 1 and len(split.dev) == 1


def test_split_documents_with_one_document_uses_it_as_dev_and_warns(caplog):
    with caplog.at_level(logging.WARNING):
        split = split_documents(docs(1), dev_fraction=0.2, seed=0)
    assert split.dev_is_train and ids(split.dev) == ids(split.train) == ["d0"]
    assert "dev = train" in caplog.text


def test_split_documents_of_an_empty_corpus_names_the_config_key():
    with pytest.raises(ConfigError, match="data.train"):
        split_documents([], dev_fraction=0.2, seed=0)


def test_cv_folds_loo_holds_out_each_document_once_in_corpus_order():
    folds = cv_folds(docs(4), "loo", seed=3)
    assert [ids(f.test) for f in folds] == [["d0"], ["d1"], ["d2"], ["d3"]]
    assert all(set(ids(f.train)) == {"d0", "d1", "d2", "d3"} - set(ids(f.test)) for f in folds)


def test_cv_folds_k_puts_every_document_in_exactly_one_balanced_test_fold():
    folds = cv_folds(docs(7), 3, seed=0)
    held = [d for f in folds for d in ids(f.test)]
    assert sorted(held) == sorted(ids(docs(7)))
    assert sorted(len(f.test) for f in folds) == [2, 2, 3]
    assert all(not set(ids(f.train)) & set(ids(f.test)) for f in folds)


def test_cv_folds_with_more_folds_than_documents_names_both_numbers():
    with pytest.raises(ConfigError, match=r"--folds 6 is more than the 5 documents"):
        cv_folds(docs(5), 6, seed=0)


def test_cv_folds_loo_with_a_single_document_is_an_error():
    with pytest.raises(ConfigError, match="at least 2 documents, the corpus has 1"):
        cv_folds(docs(1), "loo", seed=0)


def test_cv_folds_with_one_fold_is_an_error():
    with pytest.raises(ConfigError, match="at least 2 folds"):
        cv_folds(docs(3), 1, seed=0)


@pytest.mark.parametrize("value, expected", [("loo", "loo"), ("LOO", "loo"), ("5", 5), (" 2", 2)])
def test_parse_folds_reads_loo_and_whole_numbers(value, expected):
    assert parse_folds(value) == expected


@pytest.mark.parametrize("value, message", [("five", "expected a number of folds"), ("1", "at least 2 folds")])
def test_parse_folds_rejects_bad_values_naming_them(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_folds(value)


def write_corpus(path: Path, documents: list[Document]) -> str:
    path.write_text("".join(d.to_jsonl_line() + "\n" for d in documents), encoding="utf-8")
    return str(path)


def test_load_split_reads_explicit_dev_and_test_corpora(tmp_path):
    data = DataConfig(
        train=write_corpus(tmp_path / "train.jsonl", docs(3)[:2]),
        dev=write_corpus(tmp_path / "dev.jsonl", docs(3)[2:]),
        test=str(FIXTURE),
    )
    split = load_split(data)
    assert ids(split.train) == ["d0", "d1"] and ids(split.dev) == ["d2"]
    assert ids(split.test) == ["joint_a", "joint_b", "joint_c", "joint_d"]


def test_load_split_splits_dev_off_train_when_no_dev_is_given():
    split = load_split(DataConfig(train=str(FIXTURE), dev_fraction=0.25, split_seed=0))
    assert len(split.dev) == 1 and len(split.train) == 3 and split.test == []


def test_load_split_rejects_a_document_in_both_train_and_test(tmp_path):
    train, test = write_corpus(tmp_path / "a.jsonl", docs(3)), write_corpus(tmp_path / "b.jsonl", docs(3)[2:])
    data = DataConfig(train=train, test=test, split_seed=4)
    with pytest.raises(ConfigError, match=r"'data.(train|dev)' .* and 'data.test' .* share document id\(s\) d2"):
        load_split(data)


def test_read_corpus_reports_validation_problems_with_file_line_and_id(tmp_path):
    bad = Document(
        id="overlap",
        text="Hà Nội",
        entities=[Entity(0, 6, "LOC"), Entity(3, 6, "LOC")],
        paragraphs=[Paragraph(0, 6)],
    )
    path = write_corpus(tmp_path / "bad.jsonl", [bad])
    with pytest.raises(CorpusError, match=r"bad\.jsonl:1: id=overlap: .*overlap") as err:
        read_corpus(path)
    assert "xdd validate" in str(err.value)


def test_read_corpus_reports_a_missing_path(tmp_path):
    with pytest.raises(CorpusError, match="no such file or directory"):
        read_corpus(str(tmp_path / "missing.jsonl"))


def test_fixture_corpus_is_valid_json_lines():
    assert all(json.loads(line)["id"] for line in FIXTURE.read_text(encoding="utf-8").splitlines())


def test_read_corpus_of_an_empty_file_names_it_and_says_it_holds_no_documents(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(CorpusError) as err:
        read_corpus(str(empty))
    assert str(err.value).splitlines() == [
        f"{empty}: no documents (the file is empty)",
        f"1 problem(s) in {empty}; fix them (see `xdd validate {empty}`)",
    ]


def test_xdd_train_on_an_empty_corpus_names_the_file_and_writes_no_run(tmp_path, capsys):
    from xdd.training.cli import main

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    run = tmp_path / "run"
    assert main(["train", "--config", "baselines", "--set", f"data.train={empty}", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xdd: error: {empty}: no documents (the file is empty)\n")
    assert "cannot split" not in err and not run.exists()


def test_read_corpus_logs_house_style_warnings_of_a_corpus_with_its_own_labels_and_keeps_every_document(
    tmp_path, caplog
):
    text = "Ông N.Q.T. ở Hà Nội."
    doc = Document("d", text, [Entity(4, 10, "NAME", "N.Q.T."), Entity(13, 20, "LOCATION", "Hà Nội.")],
                   [Paragraph(0, len(text))])  # fmt: skip
    (tmp_path / "labels.json").write_text('{"entities": ["LOCATION", "NAME"], "topics": []}')
    path = write_corpus(tmp_path / "c.jsonl", [doc])
    with caplog.at_level(logging.WARNING):
        assert read_corpus(path) == [doc]
    assert f"{path}:1: id=d: warning: entities[1] LOCATION [13:20] 'Hà Nội.': span ends with punctuation '.'" in caplog.text
    assert f"1 warning(s) in {path}, not blocking" in caplog.text
    assert "N.Q.T." not in caplog.text  # an abbreviation's full stop belongs to the name
