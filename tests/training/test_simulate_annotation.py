"""``xdd simulate-annotation``: the loop replayed on a tiny gold corpus (1 seed, 2 rounds)."""

from __future__ import annotations

import json

import pytest
from support import FIXTURES_DIR
from xdd.models.document import Document
from xdd.models.document.corpus import read_documents
from xdd.models.document.labels import PARTY_BUILDING
from xdd.models.errors import ConfigError
from xdd.training.cli import main
from xdd.training.simulate_annotation import (
    Plan,
    gold_units,
    simulate,
    split_dev,
    synthetic_pool,
)
from xdd.training.suggest_pool import near_duplicates, shingles

JOINT = FIXTURES_DIR / "baselines" / "joint"


def test_the_command_writes_a_curve_per_strategy_with_its_plot(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["simulate-annotation", "--corpus", str(JOINT), "--dev", "joint_d", "--start", "3", "--step", "2",
                 "--rounds", "2", "--seeds", "1", "--unit", "paragraph", "--set", "crf.max_iterations=30",
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    result = json.loads((out / "curve.json").read_text(encoding="utf-8"))
    assert result["dev"] == ["joint_d"] and result["pool_units"] == 9 and result["unit"] == "paragraph"
    assert set(result["curves"]) == {"uncertainty", "random"}
    for points in result["curves"].values():
        assert [p["annotated"] for p in points] == [3, 5, 7]
        assert all(0 <= p["entity_f1"]["mean"] <= 1 and p["topic_f1"]["std"] == 0.0 for p in points)
    first = {s: c[0]["entity_f1"]["mean"] for s, c in result["curves"].items()}
    assert first["uncertainty"] == first["random"]  # the same starting draw for every strategy
    runs = {r["strategy"]: r for r in result["runs"]}
    for run in runs.values():
        added = [unit for batch in run["added"] for unit in batch]
        assert len(added) == len(set(added)) == 7 and not any(u.startswith("joint_d") for u in added)
    assert runs["uncertainty"]["added"][0] == runs["random"]["added"][0]
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--dev joint_d" in result["command"] and "annotated  strategy" in printed


class Recorder:
    """A stand-in trainer: remembers what it trained on and checks the model is never shown gold."""

    def __init__(self) -> None:
        self.trained: list[list[str]] = []

    def __call__(self, docs: list[Document]) -> Recorder:
        self.trained.append([d.id for d in docs])
        self.thresholds: dict[str, float] = {}
        return self

    def predict_documents(self, docs: list[Document]) -> list[Document]:
        assert not any(d.entities or any(p.topics for p in d.paragraphs) for d in docs), "gold shown to the model"
        return [Document(d.id, d.text, paragraphs=list(d.paragraphs)) for d in docs]

    def score_documents(self, docs: list[Document]):  # pragma: no cover - only the random strategy runs here
        raise AssertionError("random needs no scores")


def test_each_round_trains_on_the_annotated_units_only_and_predicts_dev_without_its_gold():
    docs = read_documents(JOINT)
    pool_docs, dev = split_dev(docs, "joint_a,joint_b")
    pool = gold_units(pool_docs, "paragraph")
    recorder = Recorder()
    (run,) = simulate(pool, dev, Plan(2, 1, 3, ("random",), (5,)), recorder, PARTY_BUILDING)
    assert [len(ids) for ids in recorder.trained] == [2, 3, 4, 5]
    assert all(ids[: len(prev)] == prev for prev, ids in zip(recorder.trained, recorder.trained[1:]))
    assert {i.split("#")[0] for ids in recorder.trained for i in ids} <= {"joint_c", "joint_d"}
    assert [p["annotated"] for p in run.points] == [2, 3, 4, 5]


def test_the_dev_split_is_by_document():
    docs = read_documents(JOINT)
    pool, dev = split_dev(docs, "0.25")
    assert len(dev) == 1 and {d.id for d in pool} | {d.id for d in dev} == {d.id for d in docs}
    assert split_dev(docs, "0.25") == (pool, dev)  # the same whatever the simulation's seeds
    pool, dev = split_dev(docs, [docs[0]])
    assert [d.id for d in dev] == ["joint_a"] and "joint_a" not in {d.id for d in pool}
    with pytest.raises(ConfigError, match="no document nope"):
        split_dev(docs, "nope")
    with pytest.raises(ConfigError, match="--start 9"):
        Plan(9, 1, 1).check(9)


def test_paragraph_units_are_the_gold_paragraphs_with_their_own_entities():
    doc = read_documents(JOINT)[0]
    units = gold_units([doc], "paragraph")
    assert [u.text for u in units] == [doc.text[p.start : p.end] for p in doc.paragraphs]
    assert sum(len(u.entities) for u in units) == len(doc.entities)
    for unit in units:
        assert all(unit.text[e.start : e.end] == e.text for e in unit.entities)


def test_the_synthetic_pool_has_no_near_duplicates():
    articles = synthetic_pool(read_documents(JOINT), 30, seed=4, paragraphs=(4, 8))
    assert len({a["id"] for a in articles}) == 30
    assert near_duplicates([shingles(a["text"]) for a in articles]) == {}
