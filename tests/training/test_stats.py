"""Corpus statistics: training/stats.py and ``xdd stats``."""

from __future__ import annotations

import json

import pytest
from support import FIXTURES_DIR, REPO
from xdd.models.document import Document, Entity, Paragraph
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING
from xdd.training.cli import main
from xdd.training.stats import corpus_stats, format_stats

FIXTURES = FIXTURES_DIR
GOLD = REPO / "data" / "annotations"


def test_corpus_stats_counts_documents_paragraphs_characters_entities_and_topics():
    stats = corpus_stats(read_documents(FIXTURES / "corpus"))
    assert stats["documents"] == 3
    assert stats["paragraphs"] == 10
    assert stats["characters"] == 962
    assert stats["entities"] == {"PER": 1, "ORG": 7, "LOC": 3, "POSITION": 1, "DOCUMENT": 2, "DATE": 4}
    assert stats["topics"] == {"cadre_planning": 3, "member_development": 2, "training": 2, "internal_security": 2}
    assert stats["documents_per_topic"] == {"cadre_planning": 1, "member_development": 1, "training": 1, "internal_security": 2}
    assert stats["paragraphs_without_topic"] == 1


def test_corpus_stats_lists_absent_labels_with_zero_and_undeclared_labels_after_the_scheme():
    doc = Document("a", "Hà Nội", [Entity(0, 6, "CITY")], [Paragraph(0, 6, ["economy"])])
    stats = corpus_stats([doc], PARTY_BUILDING)
    assert list(stats["entities"]) == [*PARTY_BUILDING.entities, "CITY"]
    assert stats["entities"]["PER"] == 0 and stats["entities"]["CITY"] == 1
    assert stats["topics"]["economy"] == 1 and stats["topics"]["training"] == 0


def test_format_stats_prints_a_readable_table():
    table = format_stats(corpus_stats(read_documents(FIXTURES / "corpus")))
    lines = table.splitlines()
    assert lines[0].split() == ["documents", "3"]
    assert ["ORG", "7"] in [line.split() for line in lines]
    assert ["total", "18"] in [line.split() for line in lines]
    assert ["internal_security", "2", "2"] in [line.split() for line in lines]
    assert lines[-1].split() == ["(no", "topic)", "1"]


def test_cli_stats_json_prints_one_object_with_the_documented_keys(capsys):
    assert main(["stats", str(FIXTURES / "corpus"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {"documents", "paragraphs", "entities", "topics"} <= stats.keys()
    assert stats["documents"] == 3


def test_cli_stats_uses_the_labels_declared_beside_the_corpus(capsys):
    assert main(["stats", str(FIXTURES / "phoner" / "expected"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert list(stats["entities"]) == ["AGE", "DATE", "GENDER", "LOCATION", "ORGANIZATION", "PATIENT_ID"]
    assert stats["topics"] == {}


def test_cli_stats_exits_2_naming_a_missing_path(capsys):
    assert main(["stats", "no/such/corpus"]) == 2
    assert "no/such/corpus: no such file or directory" in capsys.readouterr().err


def test_the_gold_corpus_has_5_documents_with_every_label_and_topic(capsys):
    if not list(GOLD.glob("*.jsonl")):
        pytest.skip("data/annotations/*.jsonl not written yet")
    assert main(["stats", str(GOLD), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 5
    assert all(stats["entities"][label] > 0 for label in PARTY_BUILDING.entities)
    assert all(stats["topics"][topic] > 0 for topic in PARTY_BUILDING.topics)
